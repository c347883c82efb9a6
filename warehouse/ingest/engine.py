"""The copy engine: source tables -> raw_<kind>.<table>, incremental, merged by key.

Rules (DESIGN.md, "Ingest"): rows past the stored watermark (minus an overlap) are read
through the source's own query function so the WHERE runs on the source's index; they
replace the raw rows with the same key; keys gone from the source are flagged with
`_deleted_at`, never removed. Everything of a run, watermarks included, commits in one
transaction: a failure leaves the warehouse as it was. All reads of a run happen inside
that one DuckDB transaction, in which the sqlite and postgres scanners read every table
of a source from one source transaction: a source written during the run is copied as
one consistent snapshot (tests/test_snapshot.py).

A SQLite value that does not fit its column fails a read; the run then starts again,
reading that table tolerantly (ingest/quarantine.py) from then on.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

import duckdb

from warehouse import db, publish
from warehouse.errors import WarehouseError, one_line
from warehouse.ingest import content, erasure, quarantine
from warehouse.ingest.short_reads import sql_literal
from warehouse.ingest.sources import attached_source, hex_text, kind_of
from warehouse.ingest.tables import TableSpec

# Open WebUI writes epoch seconds; legacy rows hold milliseconds (values above this).
EPOCH_MS_THRESHOLD = 10_000_000_000
BOOKKEEPING_COLUMNS = {"_source": "VARCHAR", "_ingested_at": "TIMESTAMPTZ",
                       "_deleted_at": "TIMESTAMPTZ"}


@dataclass
class TableResult:
    source_name: str
    table_name: str
    mode: str  # 'full' | 'incremental' | 'absent'
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    seconds: float = 0.0




def ingest(con: duckdb.DuckDBPyConnection, sources, full_refresh: bool = False,
           progress=None, run_id: str | None = None) -> list[TableResult]:
    """Copy every table of every source in one transaction; return per-table counts."""
    run_id = run_id or uuid.uuid4().hex[:12]
    # DuckDB cannot detach a database inside the transaction that read it: attach every
    # source first (which also checks them all before anything is written), detach after.
    with ExitStack() as attached:
        pairs = [(source, attached.enter_context(attached_source(con, source)))
                 for source in sources]
        tolerant = quarantine.tolerant_tables(con)
        if progress:
            progress.plan("ingest", sum(len(kind_of(s.kind).tables) for s, _ in pairs))
        while True:
            try:
                return _ingest_all(con, pairs, full_refresh, progress, run_id, tolerant)
            except _ReadTolerantly as retry:
                tolerant.add(retry.table)  # the run starts again from the same state
                for _, src in pairs:  # what it read ahead is read again as it asks
                    src.stop_reading_ahead()


class _ReadTolerantly(Exception):
    def __init__(self, table: tuple[str, str]):
        self.table = table


def _ingest_all(con, pairs, full_refresh: bool, progress, run_id: str,
                tolerant: set[tuple[str, str]]) -> list[TableResult]:
    results: list[TableResult] = []
    con.execute("BEGIN TRANSACTION")
    try:
        erased = erasure.any_erased(con)
        modes = content.recorded(con)
        for source, src in pairs:
            kind = kind_of(source.kind)
            if modes.get(source.name, source.content) != source.content:
                _ensure_raw_tables(con, kind)
                content.settle(con, source.name, kind, source.content)
            _record_presence(con, source, src.columns, [spec.name for spec in kind.tables])
            for position, spec in enumerate(kind.tables):
                if progress:
                    progress(source.name, spec.name)
                started = time.monotonic()
                tolerantly = (source.name, spec.name) in tolerant
                following = kind.tables[position + 1:position + 2]
                if following and (source.name, following[0].name) not in tolerant:
                    _read_ahead(con, source, src, following[0], full_refresh)
                try:
                    result = _ingest_table(con, source, src, spec, full_refresh, erased,
                                           tolerantly)
                    src.release(con)
                except duckdb.Error as exc:
                    if (src.dialect == "sqlite" and not tolerantly
                            and quarantine.is_unreadable(exc)):
                        raise _ReadTolerantly((source.name, spec.name)) from None
                    raise WarehouseError(
                        f"source {source.name!r}: cannot read table {spec.name}: "
                        f"{src.redact(one_line(exc))}") from None
                if tolerantly:
                    quarantine.remember_tolerant(con, source.name, spec.name)
                if progress:
                    progress.rows(result.rows_read)
                result.seconds = time.monotonic() - started
                results.append(result)
            _log_runs(con, run_id, source, [r for r in results if r.source_name == source.name])
            content.record(con, source.name, source.content)
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # a source that went away cannot roll back; the job's copy is discarded
        raise
    return results


def _ingest_table(con, source, src, spec: TableSpec, full_refresh: bool,
                  erased: bool = False, tolerantly: bool = False) -> TableResult:
    raw = f'raw_{source.kind}."{spec.name}"'
    columns = src.columns.get(spec.name)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS raw_{source.kind}")
    if columns is None:
        _ensure_raw_table(con, raw, spec)
        return TableResult(source.name, spec.name, "absent")
    missing = [c for c in spec.required if c not in columns]
    if missing:
        kind = kind_of(source.kind)
        raise WarehouseError(
            f"source {source.name!r}: table {spec.name} has no column {missing[0]!r}; "
            f"{src.display} is not {kind.description} of a supported version "
            f"(supported: {kind.versions})")
    watermark = _watermark_now(con, source, spec, full_refresh)
    incremental = spec.cursor is not None and watermark is not None
    columns = {c: t for c, t in columns.items() if c not in spec.skip_columns}
    mode = source.content
    read, history, first_copy = _planned_read(con, source, src, spec, columns, incremental,
                                              tolerantly)
    messages = content.messages_table(kind_of(source.kind)) if history else None
    where = _cursor_filter(spec, watermark, src.dialect) if incremental else "1 = 1"
    if incremental and spec.changed_with:
        where = _with_parents(con, source, src, spec, where)
    if not incremental:  # every row is read again: earlier findings are redone
        quarantine.clear(con, source.name, spec)
    if tolerantly:
        relation = _read_tolerantly(con, src, spec, read, where, "_read", source.name,
                                    erased)
    elif incremental:
        relation = src.query_relation(spec.name, read.source, where)
    elif first_copy:
        relation = "{rows}"  # streamed: src.copy_whole_table below
    else:
        relation = src.whole_table(spec.name, read.source)
    stage = (f"SELECT {read.stage}, {sql_literal(source.name)}::VARCHAR AS _source, "
             "now() AS _ingested_at, "
             f"NULL::TIMESTAMPTZ AS _deleted_at FROM {relation}")
    unique = src.is_unique(spec.name, spec.key)
    result = TableResult(source.name, spec.name, "incremental" if incremental else "full")

    def previews() -> None:
        if spec.preview_of and mode != "none":
            if content.fill_previews(con, raw, source.name, lambda ids: _texts_by_key(
                    con, src, spec.name, spec.key[0], spec.preview_of, ids)):
                publish.rewrite_before_publishing(con)

    if first_copy:
        # Nothing of this source yet: stream the source straight into raw (no staging
        # copy to hold in memory, nothing to merge or flag).
        _ensure_raw_table(con, raw, spec, read.types)
        insert = f"INSERT INTO {raw} BY NAME {stage}"
        if tolerantly:
            row = con.execute(insert).fetchone()
            copied = int(row[0]) if row else 0
        else:
            copied = src.copy_whole_table(con, spec.name, read.source, insert, read.types)
        if erased:  # people forgotten earlier stay forgotten
            copied -= erasure.erase(con, raw, spec, "_source = ?", [source.name])
        copied -= quarantine.set_aside_keyless(con, raw, spec, source.name, "_source = ?",
                                               [source.name])
        if not unique:
            copied -= quarantine.set_aside_duplicates(con, raw, spec, source.name,
                                                      "_source = ?", [source.name])
        result.rows_read = result.rows_inserted = copied
        previews()
        if spec.cursor:
            _store_watermark(con, source.name, spec, watermark, _rows_of(raw, source.name))
        con.execute("DROP TABLE IF EXISTS _read")
        return result
    con.execute(f"CREATE OR REPLACE TEMP TABLE _stage AS {stage}")
    if erased:
        erasure.erase(con, "_stage", spec)
    if incremental and not tolerantly:
        quarantine.clear(con, source.name, spec, rows="_stage")
    quarantine.set_aside_keyless(con, "_stage", spec, source.name)
    if not unique:
        quarantine.set_aside_duplicates(con, "_stage", spec, source.name)
    _ensure_raw_table(con, raw, spec, read.types)
    result.rows_read = con.execute("SELECT count(*) FROM _stage").fetchone()[0]
    if history:
        _take_history(con, source, spec, mode, "_stage")
    if not incremental:  # the stage holds every key the source has
        result.rows_deleted = _flag_deleted(con, raw, spec, source.name, "_stage")
    if result.rows_read:
        _drop_unchanged(con, raw, spec, source.name)
    result.rows_updated = _replace_rows(con, raw, spec, source.name)
    result.rows_inserted = (con.execute("SELECT count(*) FROM _stage").fetchone()[0]
                            - result.rows_updated)
    con.execute(f"INSERT INTO {raw} BY NAME SELECT * FROM _stage")
    if history:  # the messages of the chats that changed
        content.replace_history(con, messages, source.name,
                                "(SELECT * FROM _history WHERE chat_id IN "
                                "(SELECT id FROM _stage))")
    if incremental and _source_count(con, src, spec) != _live_count(con, raw, source.name):
        # Only a table whose count differs needs every key read back (a full scan of the
        # source): counting is cheap, reading 10M keys each night is not. The keys tell
        # rows gone from the source, and rows the cursor missed (written late, dated
        # before the watermark), which are copied now.
        keys = ", ".join(f'"{k}"' for k in spec.key)
        if tolerantly:
            table = _read_tolerantly(con, src, spec, read, "1 = 1", "_read_all",
                                     source.name, erased)
            con.execute(f"CREATE OR REPLACE TEMP TABLE _keys AS SELECT {keys} FROM {table}")

            def rows_of(_late: str) -> str:
                return table
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE _keys AS SELECT * FROM "
                        + src.keys_relation(spec.name, spec.key))

            def rows_of(late_keys: str) -> str:
                return src.rows_with_keys(con, spec.name, spec.key, late_keys, read.source)
        result.rows_deleted = _flag_deleted(con, raw, spec, source.name, "_keys")
        late = _copy_late_rows(con, raw, spec, source.name, rows_of, read.stage, erased,
                               unique, (lambda rows: _take_history(
                                   con, source, spec, mode, rows, replace=True))
                               if history else None)
        result.rows_read += late
        result.rows_inserted += late
    if history and result.rows_deleted:
        content.flag_history(con, raw, messages, source.name)
    previews()
    if spec.cursor:
        _store_watermark(con, source.name, spec, watermark, "_stage")
    con.execute("DROP TABLE IF EXISTS _stage; DROP TABLE IF EXISTS _keys; "
                "DROP TABLE IF EXISTS _late; DROP TABLE IF EXISTS _read; "
                "DROP TABLE IF EXISTS _read_all; DROP TABLE IF EXISTS _history")
    return result


def _watermark_now(con, source, spec: TableSpec, full_refresh: bool):
    """Where this run reads `spec` from: None for every row."""
    if full_refresh or _reconciliation_due(con, source.name, spec):
        return None
    return _watermark(con, source.name, spec)


def _planned_read(con, source, src, spec: TableSpec, columns: dict[str, str],
                  incremental: bool, tolerantly: bool) -> tuple[content.Read, str | None, bool]:
    """How this run reads `spec`; the column holding messages of versions before
    chat_message (Open WebUI < 0.8), which become message rows; whether it is the first
    copy of the table from this source (streamed straight in)."""
    read = content.plan(spec, columns, source.content, src.dialect, _dropped(spec, src.tables))
    history = spec.history_in if spec.history_in in read.source else None
    raw = f'raw_{source.kind}."{spec.name}"'
    first_copy = not incremental and not history and (
        not _table_exists(con, raw) or not con.execute(
            f"SELECT count(*) FROM {raw} WHERE _source = ?", [source.name]).fetchone()[0])
    if first_copy and not tolerantly:
        read = content.with_first_previews(read, spec, columns, src.dialect, source.content)
    return read, history, first_copy


def _read_ahead(con, source, src, spec: TableSpec, full_refresh: bool) -> None:
    """Start reading `spec`'s first copy, as _ingest_table will ask for it, while the
    table before it is copied (ShortReads.read_ahead); nothing for any other read, nor
    in "full" mode: there the copy before it streams gigabytes of text, and reading
    ahead beside it saved nothing and added 350 MB to the peak RSS (6M events: 116 s
    and 1.71 GB against 116 s and 1.36 GB). A source the scanners read as the copy runs
    (PostgreSQL, SQLite in WAL mode) is not planned for at all: each nightly run would
    ask its watermarks and counts twice for nothing."""
    if source.content == "full" or not src.reads_ahead:
        return
    columns = src.columns.get(spec.name)
    if columns is None or any(c not in columns for c in spec.required):
        return
    if spec.cursor is not None and _watermark_now(con, source, spec, full_refresh) is not None:
        return
    columns = {c: t for c, t in columns.items() if c not in spec.skip_columns}
    read, _, first_copy = _planned_read(con, source, src, spec, columns, False, False)
    if first_copy:
        src.read_ahead(spec.name, read.source, read.types)


def _texts_by_key(con, src, table: str, key: str, column: str, ids: list) -> str:
    """(key, content) of the rows with `ids`; from SQLite as hex, so a text that is not
    UTF-8 becomes NULL rather than failing the run."""
    if src.dialect != "sqlite":
        return src.rows_by_key(con, table, {key: f'"{key}"', "content": f'"{column}"'},
                               key, ids)
    rows = src.rows_by_key(con, table, {key: f'"{key}"', "content": hex_text(f'"{column}"')},
                           key, ids)
    return f'(SELECT "{key}", try(decode(unhex(content))) AS content FROM {rows})'


def _take_history(con, source, spec: TableSpec, mode: str, rows: str,
                  replace: bool = False) -> None:
    """The messages in the chat JSON of `rows` (a temporary table of chat rows) as
    `_history`, stored at once when `replace`; the JSON itself stays only in "full"."""
    content.extract_history(con, rows, spec.history_in, mode, "_history")
    if replace:
        content.replace_history(con, content.messages_table(kind_of(source.kind)),
                                source.name, "_history")
    if mode != "full":
        con.execute(f'UPDATE {rows} SET "{spec.history_in}" = NULL')


def _read_tolerantly(con, src, spec: TableSpec, read: content.Read, where: str,
                     name: str, source_name: str, erased: bool) -> str:
    """Read rows through their hex text so that no value fails the read; list the values
    that do not fit their column (they become NULL); return the typed rows' relation."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT "
                f"{quarantine.typed_columns(read.source_types)} FROM "
                f"{src.hex_relation(spec.name, read.source, where)}")
    if erased:
        erasure.erase(con, name, spec)
    if where != "1 = 1":
        quarantine.clear(con, source_name, spec, rows=name)
    quarantine.record_unreadable(con, name, source_name, spec)
    return f"(SELECT * EXCLUDE ({quarantine.PROBLEMS}) FROM {name})"


def _dropped(spec: TableSpec, source_tables: set[str]) -> tuple[str, ...]:
    if spec.heavy_unless_table and spec.heavy_unless_table in source_tables:
        return spec.heavy_columns
    return ()


def _with_parents(con, source, src, spec: TableSpec, where: str) -> str:
    """Also the rows whose parent row changed since the parent's watermark (a message
    of a chat that Open WebUI wrote again): both filters run on the source's indexes."""
    table, column = spec.changed_with
    parent = next(t for t in kind_of(source.kind).tables if t.name == table)
    watermark = _watermark(con, source.name, parent)
    if watermark is None or table not in src.tables:
        return where
    relation = f'"{src.schema}"."{table}"' if src.dialect == "postgres" else f'"{table}"'
    keys = ", ".join(f'"{k}"' for k in parent.key)
    return (f'({where}) OR "{column}" IN (SELECT {keys} FROM {relation} WHERE '
            f"{_cursor_filter(parent, watermark, src.dialect)})")


def _cursor_filter(spec: TableSpec, watermark: str, dialect: str) -> str:
    """The WHERE that the source itself runs (its own SQL dialect)."""
    column = f'"{spec.cursor}"'
    if spec.cursor_kind == "epoch":
        low = int(float(watermark)) - spec.overlap_seconds
        return (f"{column} IS NULL OR ({column} >= {low} AND {column} <= "
                f"{EPOCH_MS_THRESHOLD}) OR {column} >= {low * 1000}")
    if spec.cursor_kind == "timestamp" and dialect == "sqlite":
        # SQLAlchemy stores datetimes in SQLite as 'YYYY-MM-DD HH:MM:SS.ffffff' text,
        # which compares in time order
        low = watermark.replace("'", "")
        return (f"{column} IS NULL OR {column} >= "
                f"strftime('%Y-%m-%d %H:%M:%f', '{low}', '-{spec.overlap_seconds} seconds')")
    if spec.cursor_kind == "timestamp":
        # a timestamptz literal: exact for an offset-carrying watermark (timestamptz
        # columns), and read in the session's zone like a naive column is compared
        low = watermark.replace("'", "")
        return (f"{column} IS NULL OR {column} >= "
                f"('{low}'::timestamptz - INTERVAL '{spec.overlap_seconds} seconds')")
    raise ValueError(f"unknown cursor kind {spec.cursor_kind}")


def _ensure_raw_table(con, raw: str, spec: TableSpec,
                      types: dict[str, str] | None = None) -> None:
    """Create the raw table on first sight; add columns a newer source version brings
    (`types`: the staged columns)."""
    wanted = spec.raw_columns | BOOKKEEPING_COLUMNS
    for name, dtype in (types or {}).items():
        wanted.setdefault(name, dtype)
    existing = set(db.columns_of(con, raw))
    if not existing:
        cols = ", ".join(f'"{n}" {t}' for n, t in wanted.items())
        con.execute(f"CREATE TABLE {raw} ({cols})")
        return
    for name, dtype in wanted.items():
        if name not in existing:
            con.execute(f'ALTER TABLE {raw} ADD COLUMN "{name}" {dtype}')


def _key_match(spec: TableSpec, left: str, right: str) -> str:
    """A one-column key is the source's primary key, never NULL: plain equality, which
    DuckDB hashes (several times faster on big tables). A composite key may stand in for
    a missing primary key (all columns of a log) and hold NULLs."""
    if len(spec.key) == 1:
        return f'{left}."{spec.key[0]}" = {right}."{spec.key[0]}"'
    return " AND ".join(f'{left}."{k}" IS NOT DISTINCT FROM {right}."{k}"' for k in spec.key)


def _drop_unchanged(con, raw: str, spec: TableSpec, source_name: str) -> None:
    """Leave out staged rows identical to the live raw row of their key (the overlap
    re-read, tables copied whole): their _ingested_at stays, so a build sees only real
    changes."""
    columns = [name for name in db.columns_of(con, "temp._stage")
               if name not in BOOKKEEPING_COLUMNS]
    same = " AND ".join(f'r."{c}" IS NOT DISTINCT FROM s."{c}"' for c in columns
                        if c not in spec.key)
    con.execute(f"DELETE FROM _stage AS s USING {raw} AS r WHERE r._source = ? "
                f"AND {_key_match(spec, 'r', 's')} AND r._deleted_at IS NULL "
                f"AND {same or 'true'}", [source_name])


def _copy_late_rows(con, raw: str, spec: TableSpec, source_name: str,
                    rows_of: Callable[[str], str], select_list: str, erased: bool = False,
                    unique: bool = True, prepare: Callable[[str], None] | None = None) -> int:
    """Copy the rows whose keys the source has and raw has not live (never copied, or
    flagged deleted and back in the source, but not a forgotten person's); return how
    many. `rows_of(late keys table)` is a relation holding at least those rows;
    `prepare(table)` runs on them before they are stored."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _late AS SELECT k.* FROM _keys AS k "
                f"ANTI JOIN (SELECT * FROM {raw} WHERE _source = ? AND _deleted_at IS NULL) "
                f"AS r ON {_key_match(spec, 'k', 'r')}", [source_name])
    if not con.execute("SELECT count(*) FROM _late").fetchone()[0]:
        return 0
    table = rows_of("_late")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _late_rows AS SELECT {select_list}, ?::VARCHAR AS "
        "_source, now() AS _ingested_at, NULL::TIMESTAMPTZ AS _deleted_at "
        f"FROM (SELECT s.* FROM {table} AS s SEMI JOIN _late AS k "
        f"ON {_key_match(spec, 's', 'k')})", [source_name])
    if erased:
        erasure.erase(con, "_late_rows", spec)
    if not unique:
        quarantine.set_aside_duplicates(con, "_late_rows", spec, source_name)
    if prepare:
        prepare("_late_rows")
    con.execute(f"DELETE FROM {raw} AS r USING _late_rows AS k WHERE r._source = ? AND "
                f"{_key_match(spec, 'r', 'k')}", [source_name])
    row = con.execute(f"INSERT INTO {raw} BY NAME SELECT * FROM _late_rows").fetchone()
    con.execute("DROP TABLE _late_rows")
    return int(row[0]) if row else 0


def _source_count(con, src, spec: TableSpec) -> int:
    return con.execute(f"SELECT n::BIGINT FROM {src.count_relation(spec.name, spec.key)}"
                       ).fetchone()[0]


def _live_count(con, raw: str, source_name: str) -> int:
    return con.execute(f"SELECT count(*) FROM {raw} WHERE _source = ? AND _deleted_at IS NULL",
                       [source_name]).fetchone()[0]


def _replace_rows(con, raw: str, spec: TableSpec, source_name: str) -> int:
    """Delete the raw rows that the staged rows replace; return how many."""
    row = con.execute(
        f"DELETE FROM {raw} AS r USING _stage AS s WHERE r._source = ? AND "
        f"{_key_match(spec, 'r', 's')}", [source_name]).fetchone()
    return int(row[0]) if row else 0


def _flag_deleted(con, raw: str, spec: TableSpec, source_name: str, keys: str) -> int:
    """Flag raw rows whose key the source no longer has; a row that returns is unflagged
    by the merge, which replaces it with a fresh copy."""
    row = con.execute(
        f"UPDATE {raw} AS r SET _deleted_at = now() WHERE r._source = ? AND "
        f"r._deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM {keys} AS k WHERE "
        f"{_key_match(spec, 'k', 'r')})", [source_name]).fetchone()
    return int(row[0]) if row else 0


def _watermark(con, source_name: str, spec: TableSpec) -> str | None:
    """The newest cursor value copied; none when it was kept for another cursor column
    (the table is then read whole once)."""
    row = con.execute(
        "SELECT cursor_value, cursor_column FROM _warehouse.watermarks "
        "WHERE source_name = ? AND table_name = ?", [source_name, spec.name]).fetchone()
    return row[0] if row and row[1] == spec.cursor else None


def _reconciliation_due(con, source_name: str, spec: TableSpec) -> bool:
    """Whether the table's last whole read is older than its reconciliation period."""
    if spec.reconcile_days is None:
        return False
    last = con.execute(
        "SELECT max(finished_at) >= now() - to_days(?::INTEGER) FROM _warehouse.ingest_runs "
        "WHERE source_name = ? AND table_name = ? AND mode = 'full'",
        [spec.reconcile_days, source_name, spec.name]).fetchone()[0]
    return last is False


def _rows_of(raw: str, source_name: str) -> str:
    return f"(SELECT * FROM {raw} WHERE _source = {sql_literal(source_name)})"


def _table_exists(con, raw: str) -> bool:
    return bool(db.columns_of(con, raw))


def _store_watermark(con, source_name: str, spec: TableSpec, previous: str | None,
                     rows: str) -> None:
    """Advance the cursor to the newest plausible value staged (never backwards).

    Values more than a day in the future are ignored: one corrupt far-future timestamp
    must not make every later row look old.
    """
    column = f'"{spec.cursor}"'
    if spec.cursor_kind == "epoch":
        expr = (f"CASE WHEN {column} > {EPOCH_MS_THRESHOLD} THEN {column} // 1000 "
                f"ELSE {column} END")
        staged = con.execute(
            f"SELECT max(v) FROM (SELECT {expr} AS v FROM {rows}) "
            "WHERE v <= epoch(now()) + 86400").fetchone()[0]
        values = [int(v) for v in (staged, previous) if v is not None]
        value = str(max(values)) if values else None
    else:
        staged = con.execute(
            f"SELECT max({column})::VARCHAR FROM {rows} "
            f"WHERE {column} <= now()::TIMESTAMP + INTERVAL 1 DAY").fetchone()[0]
        values = [v for v in (staged, previous) if v is not None]
        value = max(values) if values else None
    if value is None:
        return
    con.execute(
        "INSERT OR REPLACE INTO _warehouse.watermarks VALUES (?, ?, ?, ?, now())",
        [source_name, spec.name, spec.cursor, value])


def _record_presence(con, source, columns: dict[str, dict], tables: list[str]) -> None:
    """Which of the kind's tables the source has, and their columns."""
    _insert_rows(con, "_warehouse.source_tables", [
        [source.name, source.kind, t, t in columns, list(columns.get(t) or {}), NOW]
        for t in tables], replace=True)


def _log_runs(con, run_id: str, source, results: list[TableResult]) -> None:
    _insert_rows(con, "_warehouse.ingest_runs", [
        [run_id, source.name, source.kind, r.table_name, r.mode,
         _Sql(f"now() - to_microseconds({int(r.seconds * 1_000_000)})"), NOW,
         r.rows_read, r.rows_inserted, r.rows_updated, r.rows_deleted] for r in results])


class _Sql(str):
    """An SQL expression among values."""


NOW = _Sql("now()")


def _insert_rows(con, table: str, rows: list[list], replace: bool = False) -> None:
    """One statement for all rows, values written out: a statement costs milliseconds
    however small, and bound parameters cost more (3 ms a row)."""
    if rows:
        con.execute(f"INSERT {'OR REPLACE ' if replace else ''}INTO {table} VALUES "
                    + ", ".join("(" + ", ".join(map(_literal, row)) + ")" for row in rows))


def _literal(value) -> str:
    if isinstance(value, _Sql):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(map(sql_literal, value)) + "]::VARCHAR[]"
    return sql_literal(value)


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every known raw table (empty) so models compile before a source of each kind
    has been ingested."""
    from warehouse.ingest.sources import KINDS

    for kind in KINDS.values():
        _ensure_raw_tables(con, kind)


def _ensure_raw_tables(con, kind) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS raw_{kind.name}")
    for spec in kind.tables:
        _ensure_raw_table(con, f'raw_{kind.name}."{spec.name}"', spec)
