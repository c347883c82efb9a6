"""`warehouse restore`: the warehouse back from a snapshot or an export, erasures kept.

From a snapshot (the newest by default) or any warehouse file: the file is read whole
first (every table, so a damaged snapshot is refused before anything changes), copied,
and published. From an export folder (any DuckDB version wrote it): each raw and
bookkeeping table is created as the manifest defines it, filled from its Parquet files
and checked against the manifest's row counts; core and the marts are built again. Either
way every erasure in the ledger beside the warehouse is applied again, so a person
forgotten after the snapshot or export stays forgotten. The file restore replaces is never
deleted: it is kept aside as NAME.before-restore-<time>.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse import db, export, models, pipeline, privacy, publish, snapshots
from warehouse.config import Config
from warehouse.errors import WarehouseError, one_line

# what a restore reads from an export; core is built again from raw
_RESTORED_SCHEMAS = ("_warehouse", "raw_")
# _warehouse.meta rows that belong to the file, not to the warehouse's history
_FILE_META = ("duckdb_version", "inputs_hash")


@dataclass
class Restored:
    source: Path
    kind: str  # snapshot | file | export
    aside: Path | None  # where the replaced file was kept
    erasures_reapplied: int
    models_built: int
    seconds: float


def restore(config: Config, source: str | Path | None = None, wait: bool = False,
            progress=None) -> Restored:
    started = time.time()
    path = Path(config.db)
    source, kind = _chosen(path, source)
    manifest = _checked_export(source) if kind == "export" else None
    if manifest is None:
        _check_whole(source)
    aside = snapshots.stamped(path, "before-restore", time.time()) if path.exists() else None
    found = models.discover(config.user_models)
    start = publish.NEW if manifest is not None else source
    with publish.writing(path, wait, "restore", keep=config.keep, start=start,
                         aside=aside) as con:
        run = pipeline.RunSummary("restore")
        if manifest is not None:
            _load(con, source, manifest)
        reapplied = privacy.reapply(con, path)
        if manifest is not None or reapplied:
            run.built = pipeline._build(con, config, found, None, None, progress, full=True)
        run.log(con)
    return Restored(source, kind, aside, reapplied, len(run.built), time.time() - started)


def _chosen(path: Path, source) -> tuple[Path, str]:
    if source is None:
        kept = snapshots.listed(path)
        if not kept:
            raise WarehouseError(f"warehouse {path} has no snapshot to restore from: pass "
                                 "--from SNAPSHOT_FILE or --from EXPORT_DIR")
        return kept[0].path, "snapshot"
    source = Path(source)
    if not source.exists():
        raise WarehouseError(f"--from {source}: no such file or folder")
    if source.is_dir():
        return source, "export"
    if path.exists() and source.resolve() == path.resolve():
        raise WarehouseError(f"--from {source} is the warehouse itself: name a snapshot "
                             "or an export folder")
    is_snapshot = any(s.path.resolve() == source.resolve() for s in snapshots.listed(path))
    return source, "snapshot" if is_snapshot else "file"


def _check_whole(source: Path) -> None:
    """Read every row of every table: DuckDB checks each block's checksum as it reads."""
    try:
        con = db.connect(source, read_only=True)
    except WarehouseError as exc:
        raise WarehouseError(f"--from {source}: {_damaged_or(exc)}") from None
    try:
        for schema, table in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() "
                "WHERE database_name = current_database()").fetchall():
            con.execute(f'SELECT sum(hash(t)) FROM "{schema}"."{table}" AS t').fetchone()
    except duckdb.Error as exc:
        raise WarehouseError(f"--from {source}: {_damaged_or(exc)}") from None
    finally:
        con.close()


def _damaged_or(exc: Exception) -> str:
    message = one_line(exc)
    diagnosed = re.search(r" is damaged \((.*?)\): ", message)
    if diagnosed or snapshots.is_damage(message):
        detail = diagnosed.group(1) if diagnosed else message.split("Error: ")[-1]
        return (f"is damaged too ({detail}): restore from an older snapshot or an export "
                "folder")
    return message


def _checked_export(folder: Path) -> dict:
    manifest = export.read_manifest(folder)
    if not manifest.get("finished"):
        raise WarehouseError(f"--from {folder}: the export into it did not finish, so it "
                             "mixes two points in time: export again, or restore from "
                             "another export or a snapshot")
    lacking = [t for t, entry in manifest["tables"].items()
               if t.startswith(_RESTORED_SCHEMAS) and "ddl" not in entry]
    if lacking:
        raise WarehouseError(f"--from {folder}: written by an older version that kept no "
                             f"table definitions ({lacking[0]}): export again with --full")
    return manifest


def _load(con, folder: Path, manifest: dict) -> None:
    for table, entry in sorted(manifest["tables"].items()):
        if not table.startswith(_RESTORED_SCHEMAS):
            continue
        schema, name = table.split(".", 1)
        quoted = f'"{schema}"."{name}"'
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        con.execute(f"DROP TABLE IF EXISTS {quoted}")
        con.execute(entry["ddl"])
        files = sorted(str(f) for f in (folder / schema / name).rglob("*.parquet"))
        expected = sum(days[0] for days in entry["days"].values())
        if files:
            with_day = any(c[0] == "day" for c in con.execute(
                f"DESCRIBE {quoted}").fetchall())
            try:
                con.execute(f"INSERT INTO {quoted} BY NAME SELECT * FROM read_parquet(?, "
                            f"union_by_name = true, hive_partitioning = {with_day})",
                            [files])
            except duckdb.Error as exc:
                raise WarehouseError(f"--from {folder}: cannot read table {table}: "
                                     f"{one_line(exc)}") from None
        rows = con.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
        if rows != expected:
            raise WarehouseError(f"--from {folder}: table {table} has {rows} rows in its "
                                 f"files, the manifest says {expected}: the export is "
                                 "incomplete; nothing was changed")
        if table == "_warehouse.meta":
            con.execute("DELETE FROM _warehouse.meta WHERE key IN (SELECT unnest(?))",
                        [list(_FILE_META)])
            con.execute("INSERT INTO _warehouse.meta VALUES ('duckdb_version', ?)",
                        [duckdb.__version__])

