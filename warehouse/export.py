"""Parquet export of the raw and core layers, one folder per table, partitioned by day.

Hive-style folders (`raw_openwebui/chat_message/day=2026-03-01/data_0.parquet`) that
Spark, Trino, ClickHouse and DuckDB read as one table each. Incremental: a manifest keeps
each day's row count and content hash, and an export rewrites only the days whose rows
changed (new events, edits, deletions, erasures) and removes days that are gone. Each
day is written beside the tree and renamed into place, so a reader sees a day's old file
or its new one, never half of one.

An export is also a backup that any DuckDB version can read back (`warehouse restore
--from DIR`): it holds the bookkeeping too (watermarks, erasures, prices, routes, the
pseudonym key), each table's definition, and a manifest that says whether the export
finished. Every folder exported to is recorded beside the warehouse (NAME.exports), so
`forget` can take a person out of the exports as well.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse import db, journal
from warehouse.errors import WarehouseError, one_line
from warehouse.files import append_line

MANIFEST = "_manifest.json"
MANIFEST_VERSION = 1
# bookkeeping of the build itself, which a restore redoes from scratch
BUILD_STATE = {"_warehouse.model_state", "_warehouse.build_runs"}
UNDATED = "1970-01-01"  # rows without a time: the same day the incremental build uses

# The day that dates a table's rows (UTC), as DuckDB SQL over its columns. Tables not
# listed and without a DATE column named `day` are small and written whole.
EVENT_DAY = {
    "raw_openwebui.chat": "_warehouse.epoch_to_ts(created_at)",
    "raw_openwebui.chat_message": "_warehouse.epoch_to_ts(created_at)",
    "raw_openwebui.feedback": "_warehouse.epoch_to_ts(created_at)",
    "raw_openwebui.usage_log": "_warehouse.epoch_to_ts(created_at)",
    "raw_openwebui.token_tracking_usage_log": "timezone('UTC', log_date)",
    "raw_litellm.LiteLLM_SpendLogs": "timezone('UTC', \"startTime\")",
    "raw_litellm.LiteLLM_DailyUserSpend": "_warehouse.utc_day(date)",
    "raw_litellm.LiteLLM_DailyTeamSpend": "_warehouse.utc_day(date)",
    "raw_litellm.LiteLLM_DailyTagSpend": "_warehouse.utc_day(date)",
    "core.chats": "created_at",
    "core.feedback": "created_at",
    "core.usage_events": "occurred_at",
    "core.source_responses": "occurred_at",
    "core.routed_matches": "occurred_at",
}


@dataclass
class TableExport:
    table: str  # schema.name
    rows: int = 0  # rows in the warehouse now
    days_written: list[str] = field(default_factory=list)
    days_removed: list[str] = field(default_factory=list)
    days_kept: int = 0
    rows_written: int = 0
    partitioned: bool = True


def export_parquet(warehouse: Path, output: Path, full: bool = False) -> list[TableExport]:
    """Export every raw table, every core table and the `_warehouse` tables (prices,
    routes, watermarks, erasures ...), so another engine can build the marts from the
    folder and `restore` can rebuild the warehouse."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise WarehouseError(f"--output {output}: is a file, not a folder")
    if not output.parent.is_dir():
        raise WarehouseError(f"--output {output}: folder {output.parent} does not exist")
    if (output.is_dir() and not (output / MANIFEST).exists()
            and any(p.name != ".lock" for p in output.iterdir())):
        raise WarehouseError(f"--output {output}: folder is not empty and holds no "
                             f"{MANIFEST} from an earlier export: choose an empty folder")
    output.mkdir(exist_ok=True)
    record(warehouse, output)
    with journal.attempt(Path(warehouse), "export"), _locked(output):
        _recover(output)
        manifest = _read_manifest(output, full)
        con = db.connect(warehouse, read_only=True)
        # a job, though it only reads: partitioned writes kept up to 1.6 GB of rows in
        # DuckDB's default budget (80% of RAM) at 6M events, 1.0 GB in a job's
        db.as_a_job(con)
        try:
            results = []
            for table in _tables(con):
                results.append(_export_table(con, table, output, manifest, full))
                _write_manifest(output, manifest)  # after each table: a crash loses none
            for gone in sorted(set(manifest) - {r.table for r in results}):
                shutil.rmtree(_folder(output, gone), ignore_errors=True)
                del manifest[gone]
            _write_manifest(output, manifest, finished=_origin(warehouse))
        except duckdb.Error as exc:
            raise WarehouseError(f"export to {output}: {one_line(exc)}") from None
        except OSError as exc:
            raise WarehouseError(f"export to {output}: {exc.strerror or exc} "
                                 f"({exc.filename or output})") from None
        finally:
            con.close()
    return results


def _recover(output: Path) -> None:
    """What a killed export left: staged files go; a day folder moved aside but not yet
    replaced goes back (the manifest still describes it), so no day is ever missing."""
    for staged in [*output.rglob(".*.writing"), *output.rglob(".writing")]:
        if staged.is_dir():
            shutil.rmtree(staged, ignore_errors=True)
        else:
            staged.unlink(missing_ok=True)
    for retired in list(output.rglob(".retired-day=*")):
        current = retired.with_name(retired.name.removeprefix(".retired-"))
        if current.exists():
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(retired, current)


def _tables(con) -> list[str]:
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() "
        "AND (schema_name LIKE 'raw\\_%' ESCAPE '\\' OR schema_name = 'core' "
        "     OR schema_name = '_warehouse') ORDER BY 1, 2").fetchall()
    return [f"{s}.{t}" for s, t in rows if f"{s}.{t}" not in BUILD_STATE]


def _origin(warehouse: Path) -> dict:
    """What the finished export is a copy of."""
    return {"warehouse": str(Path(warehouse).resolve()), "duckdb_version": duckdb.__version__,
            "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(
                Path(warehouse).stat().st_mtime))}


def _day_sql(con, table: str) -> str | None:
    if table in EVENT_DAY:
        return f"_warehouse.build_day({EVENT_DAY[table]})"
    schema, name = table.split(".")
    has_day = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? AND column_name = 'day' "
        "AND data_type = 'DATE'", [schema, name]).fetchone()[0]
    return f"coalesce(day, DATE '{UNDATED}')" if has_day else None


def _quoted(table: str) -> str:
    schema, name = table.split(".")
    return f'"{schema}"."{name}"'


def _folder(output: Path, table: str) -> Path:
    schema, name = table.split(".")
    return output / schema / name


def _export_table(con, table: str, output: Path, manifest: dict,
                  full: bool) -> TableExport:
    day = _day_sql(con, table)
    result = TableExport(table, partitioned=day is not None)
    previous = manifest.get(table, {})
    folder = _folder(output, table)
    if full or previous.get("partitioned", day is not None) != (day is not None):
        shutil.rmtree(folder, ignore_errors=True)  # written anew, nothing stale left
        previous = {}
    source = _quoted(table)
    fingerprints = {
        str(d): [n, str(h)] for d, n, h in con.execute(
            f"SELECT {day or repr(UNDATED)} AS d, count(*), sum(hash(t)) FROM {source} t "
            "GROUP BY ALL").fetchall()
    }
    result.rows = sum(n for n, _ in fingerprints.values())
    if day is not None and not fingerprints:
        # An empty table still gets one (empty) file, so readers learn its columns.
        fingerprints = {UNDATED: [0, "empty"]}
    old = previous.get("days", {})
    changed = sorted(d for d, f in fingerprints.items() if old.get(d) != f)
    result.days_removed = sorted(set(old) - set(fingerprints))
    result.days_kept = len(fingerprints) - len(changed)
    folder.mkdir(parents=True, exist_ok=True)
    if day is None:
        if changed or not (folder / "data.parquet").exists():
            result.rows_written = _write_whole(con, source, folder)
            result.days_written = ["(whole table)"]
        manifest[table] = {"partitioned": False, "days": fingerprints,
                           "ddl": _definition(con, table)}
        return result
    if changed:
        result.rows_written = _write_days(con, source, day, changed, folder)
        result.days_written = changed
    for gone in result.days_removed:
        shutil.rmtree(folder / f"day={gone}", ignore_errors=True)
    manifest[table] = {"partitioned": True, "days": fingerprints,
                       "ddl": _definition(con, table)}
    return result


def _definition(con, table: str) -> str:
    """CREATE TABLE as DuckDB keeps it: a restore gets the exact types and keys back."""
    schema, name = table.split(".")
    return con.execute("SELECT sql FROM duckdb_tables() WHERE database_name = "
                       "current_database() AND schema_name = ? AND table_name = ?",
                       [schema, name]).fetchone()[0]


def _write_whole(con, source: str, folder: Path) -> int:
    staged = folder / ".data.parquet.writing"
    con.execute(f"COPY (SELECT * FROM {source}) TO '{_sql_path(staged)}' (FORMAT parquet)")
    os.replace(staged, folder / "data.parquet")
    return con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]


def _write_days(con, source: str, day: str, days: list[str], folder: Path) -> int:
    """Write the changed days beside the table's folder, then swap each day's folder in."""
    staging = folder / ".writing"
    shutil.rmtree(staging, ignore_errors=True)
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    keep = ", ".join(f'"{c}"' for c in columns if c != "day")
    con.execute("CREATE OR REPLACE TEMP TABLE export_days AS SELECT unnest(?::DATE[]) AS d",
                [days])
    row = con.execute(
        f"COPY (SELECT {keep}, {day} AS day FROM {source} t "
        f"WHERE {day} IN (SELECT d FROM export_days)) "
        f"TO '{_sql_path(staging)}' (FORMAT parquet, PARTITION_BY (day), "
        "FILENAME_PATTERN 'data_{i}')").fetchone()
    for d in days:
        target = folder / f"day={d}"
        written = staging / f"day={d}"
        if not written.exists():  # a day with no rows: the empty table's one file
            written.mkdir(parents=True)
            con.execute(f"COPY (SELECT {keep} FROM {source} LIMIT 0) "
                        f"TO '{_sql_path(written / 'data_0.parquet')}' (FORMAT parquet)")
        if target.exists():
            retired = folder / f".retired-day={d}"
            shutil.rmtree(retired, ignore_errors=True)
            os.replace(target, retired)
            os.replace(written, target)
            shutil.rmtree(retired)
        else:
            os.replace(written, target)
    shutil.rmtree(staging)
    return int(row[0]) if row else 0


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _read_manifest(output: Path, full: bool) -> dict:
    """What earlier exports wrote; --full starts over (and so mends a broken manifest)."""
    if full or not (output / MANIFEST).exists():
        return {}
    return read_manifest(output)["tables"]


def read_manifest(output: Path) -> dict:
    path = output / MANIFEST
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WarehouseError(f"{path}: unreadable export manifest ({one_line(exc)}): "
                             "export again with --full") from None
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        raise WarehouseError(f"{path}: written by another version of the export: "
                             "export again with --full")
    return data


def _write_manifest(output: Path, tables: dict, finished: dict | None = None) -> None:
    """`finished` only once every table is written: until then the folder mixes two
    points in time and is no backup."""
    staged = output / f".{MANIFEST}.writing"
    staged.write_text(json.dumps({"version": MANIFEST_VERSION, "written_at": time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "finished": finished, "tables": tables},
        indent=1, sort_keys=True))
    os.replace(staged, output / MANIFEST)


def export_again(warehouse: Path, mode: int, published: str, holds: str) -> list[Path]:
    """Export again into every folder exported to before, so exports follow what the
    warehouse dropped (a person, text): the days that changed are rewritten."""
    from warehouse.files import outputs

    updated = []
    for folder in recorded(warehouse):
        try:
            with outputs(mode):
                export_parquet(warehouse, folder)
        except WarehouseError as exc:
            raise WarehouseError(
                f"{published}, but export {folder} still holds {holds}: {exc}; run "
                f"'warehouse export --output {folder}' or delete it") from None
        updated.append(folder)
    return updated


def exports_path(warehouse: Path) -> Path:
    return Path(warehouse).with_name(Path(warehouse).name + ".exports")


def record(warehouse: Path, output: Path) -> None:
    """Remember the folder (one absolute path a line), before anything is written to it."""
    folder = str(Path(output).resolve())
    if folder in recorded(warehouse):
        return
    try:
        append_line(exports_path(warehouse), folder)
    except OSError as exc:  # before anything is exported: nothing changed
        raise WarehouseError(f"cannot record the export in {exports_path(warehouse)}: "
                             f"{exc.strerror}") from None


def recorded(warehouse: Path) -> list[Path]:
    """The folders exported to that still hold an export."""
    try:
        lines = exports_path(warehouse).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    folders = [Path(line) for line in dict.fromkeys(lines) if line]
    return [f for f in folders if (f / MANIFEST).exists()]


class _locked:
    """One export into a folder at a time (an flock the kernel releases on any exit)."""

    def __init__(self, output: Path):
        self.path = output / ".lock"

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise WarehouseError(f"--output {self.path.parent}: another export is "
                                 "writing this folder") from None

    def __exit__(self, *exc):
        os.close(self.fd)
