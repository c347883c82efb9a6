"""Whether a job changed anything: a nightly run that finds nothing new publishes nothing.

Publishing a copy costs seconds whatever it holds (the copy's every page is written to
disk before the rename, and the replaced file is freed or rotated into the snapshots),
which is most of a nightly run with nothing new. A job changed nothing when its ingest
inserted, updated and flagged no row, read no cursor table in full (a reconciliation,
whose date must be kept), every model was left unchanged, and its bookkeeping tables
hold what they held, but for the columns that only say when it last looked (`VOLATILE`).
Anything else, a table added to `_warehouse` later included, counts as a change.
"""

from __future__ import annotations

# the job's own records, and columns that only say when something was last looked at
LOGS = frozenset({"run_log", "ingest_runs", "build_runs"})
VOLATILE = {"source_tables": ("checked_at",), "watermarks": ("updated_at",),
            "price_file": ("loaded_at",), "model_state": ("built_at",),
            "ingest_quarantine": ("found_at",)}


def bookkeeping(con) -> dict[str, tuple]:
    """Per `_warehouse` table but the logs: its row count and a digest of its rows."""
    names = [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = '_warehouse' ORDER BY table_name").fetchall()
        if name not in LOGS]
    found = {}
    for name in names:
        left_out = ", ".join(f'"{c}"' for c in VOLATILE.get(name, ()))
        columns = f"* EXCLUDE ({left_out})" if left_out else "*"
        found[name] = con.execute(
            f'SELECT count(*), sum(hash(t)) FROM (SELECT {columns} FROM _warehouse."{name}")'
            " AS t").fetchone()
    return found


def nothing_new(before: dict[str, tuple], after: dict[str, tuple], ingested=(),
                built=(), cursor_tables: set[tuple[str, str]] = frozenset()) -> bool:
    """Whether the job left the warehouse as it found it (see the module's docstring).
    `cursor_tables`: (source, table) of the tables read incrementally."""
    for result in ingested:
        if result.rows_inserted or result.rows_updated or result.rows_deleted:
            return False
        if result.mode == "full" and (result.source_name, result.table_name) in \
                cursor_tables:
            return False
    if any(b.mode != "unchanged" for b in built):
        return False
    return before == after


def cursor_tables(con) -> set[tuple[str, str]]:
    return set(con.execute(
        "SELECT source_name, table_name FROM _warehouse.watermarks").fetchall())
