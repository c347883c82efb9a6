"""The DuckDB file: opening it safely, its bookkeeping schema, and offline extensions."""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

import duckdb

from warehouse import allocator
from warehouse.errors import WarehouseError, one_line

# Extensions come from the pinned PyPI wheels (duckdb-extension-<name>); the names DuckDB
# expects for the files differ from the wheel names.
_EXTENSION_FILES = {"sqlite": "sqlite_scanner", "postgres": "postgres_scanner"}
DEFAULT_MEMORY_LIMIT = "900MB"  # peak RSS of a job stays under 1.5 GB (benchmarks/)
OFFLINE = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

BOOKKEEPING_DDL = """
CREATE SCHEMA IF NOT EXISTS _warehouse;
CREATE TABLE IF NOT EXISTS _warehouse.meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS _warehouse.ingest_runs (
    run_id VARCHAR, source_name VARCHAR, source_kind VARCHAR, table_name VARCHAR,
    mode VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
    rows_read BIGINT, rows_inserted BIGINT, rows_updated BIGINT, rows_deleted BIGINT);
CREATE TABLE IF NOT EXISTS _warehouse.watermarks (
    source_name VARCHAR, table_name VARCHAR, cursor_column VARCHAR, cursor_value VARCHAR,
    updated_at TIMESTAMPTZ, PRIMARY KEY (source_name, table_name));
CREATE TABLE IF NOT EXISTS _warehouse.source_tables (
    source_name VARCHAR, source_kind VARCHAR, table_name VARCHAR, present BOOLEAN,
    columns VARCHAR[], checked_at TIMESTAMPTZ, PRIMARY KEY (source_name, table_name));
CREATE TABLE IF NOT EXISTS _warehouse.run_log (
    run_id VARCHAR PRIMARY KEY, command VARCHAR, started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ, seconds DOUBLE, rows_read BIGINT, models_built INTEGER,
    details JSON);
CREATE TABLE IF NOT EXISTS _warehouse.model_state (
    model VARCHAR PRIMARY KEY, sql_hash VARCHAR, built_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS _warehouse.build_runs (
    model VARCHAR, materialized VARCHAR, built_at TIMESTAMPTZ, rows BIGINT, seconds DOUBLE);
CREATE TABLE IF NOT EXISTS _warehouse.erasures (
    erasure_id VARCHAR PRIMARY KEY, erased_at TIMESTAMPTZ, requested_by VARCHAR,
    reason VARCHAR, identifiers INTEGER, rows_removed BIGINT, details JSON);
CREATE TABLE IF NOT EXISTS _warehouse.erased_ids (id_hash VARCHAR PRIMARY KEY,
    erasure_id VARCHAR);
CREATE TABLE IF NOT EXISTS _warehouse.ingest_quarantine (
    source_name VARCHAR, table_name VARCHAR, row_key VARCHAR, column_name VARCHAR,
    problem VARCHAR, detail VARCHAR, found_at TIMESTAMPTZ,
    PRIMARY KEY (source_name, table_name, row_key, column_name));
CREATE TABLE IF NOT EXISTS _warehouse.tolerant_reads (
    source_name VARCHAR, table_name VARCHAR, since TIMESTAMPTZ,
    PRIMARY KEY (source_name, table_name));
"""


def connect_reader(path: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """A read-only connection that can read the warehouse and nothing else, for SQL a
    user typed (query, wh.sql) and for reports: no file read or written, no ATTACH,
    no INSTALL/LOAD, no SET.

    The file is attached to an in-memory DuckDB of its own, not opened by path: DuckDB
    shares one instance per path in a process, so a second open would see the file an
    earlier handle opened (the state before a publish) and a plain duckdb.connect() beside
    it would be refused for its different configuration."""
    path = Path(path)
    if not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist: run 'warehouse ingest' first")
    con = duckdb.connect(":memory:", config=dict(OFFLINE))
    catalog = reader_catalog(path)
    try:
        con.execute(f"ATTACH '{_quoted(path)}' AS {catalog} (READ_ONLY)")
        con.execute(f"USE {catalog}")
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(_open_error(path, path, exc)) from None
    # marts are in UTC; reports convert explicitly. GLOBAL: the connection's cursors too
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    _check_version_read_only(con, path)
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def reader_catalog(path: Path) -> str:
    """The quoted name a reader's connection knows the warehouse by (a cursor of it
    starts in its in-memory catalog: `USE` this)."""
    catalog = path.stem if path.stem not in ("memory", "system", "temp", "main") else "wh"
    return '"' + catalog.replace('"', '""') + '"'


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def connect(path: str | os.PathLike, read_only: bool = False,
            name: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file; refuse files written by a newer DuckDB version.
    `name` is the file messages speak of (the published one, for a job's private copy)."""
    path = Path(path)
    shown = Path(name) if name is not None else path
    if read_only and not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist: run 'warehouse ingest' first")
    if not read_only and path.parent and not path.parent.exists():
        raise WarehouseError(f"cannot create warehouse {path}: folder {path.parent} does not exist")
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=dict(OFFLINE))
    except duckdb.Error as exc:
        raise WarehouseError(_open_error(path, shown, exc)) from None
    # Marts bucket hours and days in UTC; reports convert to the reader's zone explicitly.
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        as_a_job(con)
        con.execute(BOOKKEEPING_DDL)
        _check_or_record_version(con, shown)
    else:
        _check_version_read_only(con, shown)
    return con


def as_a_job(con: duckdb.DuckDBPyConnection) -> None:
    """A job's settings: it stays within a fixed memory budget whatever the data's size
    (DuckDB spills large joins and aggregates to disk beside the file instead), and
    memory it frees goes back to the system (warehouse/allocator.py)."""
    allocator.return_freed_memory()
    limit = os.environ.get("WAREHOUSE_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    try:
        con.execute("SET memory_limit = ?", [limit])
    except duckdb.Error:
        raise WarehouseError(f"WAREHOUSE_MEMORY_LIMIT {limit!r} is not a memory size "
                             f"(e.g. {DEFAULT_MEMORY_LIMIT}, 2GB)") from None
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")  # jobs show their own


def columns_of(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """The column names of a table or view (`schema."name"`, or a temporary table's
    name), none if it does not exist. Asked of the relation itself: DuckDB's catalog
    functions list every attached database's catalog too, 20 ms a call with a
    PostgreSQL source attached, and a job asks dozens of times."""
    try:
        return [d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description]
    except duckdb.CatalogException:
        return []


def _open_error(path: Path, shown: Path, exc: Exception) -> str:
    if is_sqlite(path):
        return sqlite_refusal(shown)
    if isinstance(exc, duckdb.IOException | duckdb.BinderException):
        return _describe_open_error(shown, exc)
    return f"cannot open warehouse {shown}: {one_line(exc)}"


def sqlite_refusal(path: Path) -> str:
    return (f"{path} is a SQLite database, not a warehouse file: a source is named with "
            "--url or in [sources]")


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _describe_open_error(path: Path, exc: Exception) -> str:
    from warehouse import snapshots

    text = one_line(exc)
    diagnosis = snapshots.diagnosed(path, text)
    if diagnosis != text:
        return diagnosis
    if "Could not set lock" in text:
        holder = ""
        if "PID" in text:
            holder = " (" + text[text.index("PID") :].split(")")[0].strip() + ")"
        return (
            f"warehouse {path} is locked by another process{holder}: "
            "wait for it to finish or stop it"
        )
    if "not a valid DuckDB database" in text or "Unable to open" in text:
        return f"{path} is not a DuckDB warehouse file: {text}"
    if "version" in text.lower():
        return f"warehouse {path} was written by another DuckDB version: {text}"
    return f"cannot open warehouse {path}: {text}"


def _check_or_record_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A job records the DuckDB version that writes the file; a file an older DuckDB wrote
    is upgraded by this job (DuckDB reads older files and writes its own format)."""
    row = con.execute("SELECT value FROM _warehouse.meta WHERE key = 'duckdb_version'").fetchone()
    if row is not None and _newer(row[0]):
        con.close()
        raise WarehouseError(_too_new(path, row[0]))
    if row is None or row[0] != duckdb.__version__:
        con.execute("INSERT OR REPLACE INTO _warehouse.meta VALUES ('duckdb_version', ?)",
                    [duckdb.__version__])


def _check_version_read_only(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    try:
        row = con.execute(
            "SELECT value FROM _warehouse.meta WHERE key = 'duckdb_version'"
        ).fetchone()
    except duckdb.CatalogException:
        con.close()
        raise WarehouseError(f"{path} is a DuckDB file but not a usage warehouse") from None
    if row and _newer(row[0]):
        con.close()
        raise WarehouseError(_too_new(path, row[0]))


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _newer(recorded: str) -> bool:
    return _version(recorded) > _version(duckdb.__version__)


def _too_new(path: Path, recorded: str) -> str:
    return (f"warehouse {path} was written by DuckDB {recorded}, newer than this install's "
            f"{duckdb.__version__}: upgrade usage-warehouse, or move the warehouse across "
            "with 'warehouse export' there and 'warehouse restore --from DIR' here")


_extension_dir: str | None = None


def _links_folder() -> str:
    """Where the named links to the extension wheels live: one folder per user and DuckDB
    version in the user's cache, reused by every job, so killed jobs leave nothing behind;
    a temporary folder removed at exit when the cache cannot be written."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "usage-warehouse" / f"duckdb-extensions-v{duckdb.__version__}"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = folder / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
        return str(folder)
    except OSError:
        import atexit
        import shutil

        temporary = tempfile.mkdtemp(prefix="warehouse-ext-")
        atexit.register(shutil.rmtree, temporary, ignore_errors=True)
        return temporary


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load the sqlite or postgres scanner from its pinned wheel, never from the network."""
    global _extension_dir
    file_stem = _EXTENSION_FILES[name]
    loaded = con.execute(
        "SELECT loaded FROM duckdb_extensions() WHERE extension_name = ?", [file_stem]
    ).fetchone()
    if loaded and loaded[0]:
        return
    try:
        module = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError:
        raise WarehouseError(
            f"the DuckDB {name} extension is not installed: pip install "
            f"duckdb-extension-{name}=={duckdb.__version__}"
        ) from None
    version = "v" + duckdb.__version__
    wheel_file = Path(module.__file__).parent / "extensions" / version / f"{name}.duckdb_extension"
    if not wheel_file.exists():
        raise WarehouseError(
            f"duckdb-extension-{name} has no build for DuckDB {version}: pin it to "
            f"{duckdb.__version__}"
        )
    # DuckDB derives the entry point from the file name, so expose the wheel's file
    # under the name it expects (a link, not a copy: the files are tens of MB).
    if _extension_dir is None:
        _extension_dir = _links_folder()
    link = Path(_extension_dir) / f"{file_stem}.duckdb_extension"
    current = link.is_symlink() and os.readlink(link) == str(wheel_file)
    if not current and not (link.is_file() and not link.is_symlink()):
        # another install's link (perhaps gone) is replaced whole, never written through
        staged = link.with_name(f".{link.name}.{os.getpid()}")
        staged.unlink(missing_ok=True)
        try:
            staged.symlink_to(wheel_file)
        except OSError:
            staged.write_bytes(wheel_file.read_bytes())
        os.replace(staged, link)
    con.execute(f"LOAD '{link}'")
