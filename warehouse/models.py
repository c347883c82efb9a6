"""The model runner: every .sql under warehouse/models_sql/ is a SELECT materialised under its name.

`warehouse/models_sql/marts/user_daily.sql` becomes `marts.user_daily`. Dependencies are the tables
the SQL reads, found by parsing it with sqlglot (no templating): the files stay runnable
in any DuckDB shell. sqlglot is imported here only, never on the report path.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb

from warehouse import db
from warehouse.errors import WarehouseError, one_line

MACROS_FILE = "macros.sql"
CHANGED_DAYS_FILE = "changed_days.sql"  # not a model: what an incremental build redoes
# What sqlglot found each built-in model reading, by the hash of its SQL: parsing them
# took a second of every job. A model changed since is parsed again;
# tests/test_incremental_build.py keeps the file current (write_read_tables()).
READ_TABLES_FILE = "read_tables.json"
# Tables that models read but do not build: ingest writes them.
EXTERNAL_SCHEMAS = re.compile(r"^(raw_[a-z0-9_]+|_warehouse)$")
_HEADER = re.compile(r"^--\s*materialized:\s*(table|view)\s*$", re.MULTILINE)
# `-- incremental: <column>`: the model keeps its inputs to the days being rebuilt (the
# _warehouse.in_build macro) and <column> (a timestamp or date) dates its rows.
_INCREMENTAL = re.compile(r"^--\s*incremental:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
# `-- sorted: no`: an incremental model that no report reads by a window of <column> is
# stored as built (sorting wide rows costs memory and time for nothing)
_UNSORTED = re.compile(r"^--\s*sorted:\s*no\b", re.MULTILINE)
# `-- key: <key> for <column>`: a key table. Each distinct non-null <column> the SELECT
# gives gets a small integer <key> (1, 2, ...) that no later build changes: a build adds
# the values not keyed yet, numbered after the last, and removes none (a full build
# numbers afresh, and rebuilds whatever reads the table). Dense keys let reports count
# distinct values as bitstrings (bitstring_agg), several times faster than hashing ids.
_KEY = re.compile(r"^--\s*key:\s*([a-z_][a-z0-9_]*)\s+for\s+([a-z_][a-z0-9_]*)\s*$",
                  re.MULTILINE)


@dataclass
class Model:
    name: str  # schema.table
    path: Path
    sql: str
    materialized: str
    incremental: str | None = None  # the column that dates its rows
    time_sorted: bool = True  # an incremental model's rows stored in the order of that column
    key: tuple[str, str] | None = None  # a key table's (key column, keyed column)
    depends_on: set[str] = field(default_factory=set)
    external: set[str] = field(default_factory=set)

    @property
    def by_day(self) -> bool:
        """Whether a build may redo only the changed days (extend, for a key table)."""
        return bool(self.incremental or self.key)


def builtin_dir() -> Path:
    return Path(str(resources.files("warehouse.models_sql")))


def discover(extra_dir: Path | None = None) -> dict[str, Model]:
    """Read every model file and its dependencies; user models build beside ours."""
    models: dict[str, Model] = {}
    for root in [builtin_dir()] + ([extra_dir] if extra_dir else []):
        if not root.is_dir():
            raise WarehouseError(f"models folder {root} does not exist")
        for path in sorted(root.rglob("*.sql")):
            if path.name in (MACROS_FILE, CHANGED_DAYS_FILE) and path.parent == root:
                continue
            model = _read_model(root, path)
            if model.name in models:
                raise WarehouseError(
                    f"{path}: model {model.name} is already defined by {models[model.name].path}"
                )
            models[model.name] = model
    known = _known_reads()
    for model in models.values():
        tables = known.get(_sql_hash(model)) or _referenced_tables(model)
        model.depends_on = {t for t in tables if t in models and t != model.name}
        model.external = {t for t in tables if t not in models}
        unknown = sorted(t for t in model.external
                         if not EXTERNAL_SCHEMAS.match(t.split(".")[0]))
        if unknown:
            raise WarehouseError(
                f"{model.path}: reads {unknown[0]}, which is neither a model nor a raw table"
            )
    return models


def _read_model(root: Path, path: Path) -> Model:
    relative = path.relative_to(root)
    if len(relative.parts) != 2:
        raise WarehouseError(
            f"{path}: model files live one folder deep (<schema>/<name>.sql)"
        )
    schema, name = relative.parts[0], path.stem
    sql = path.read_text()
    header = _HEADER.search(sql)
    default = "view" if schema == "staging" else "table"
    incremental = _INCREMENTAL.search(sql)
    key = _KEY.search(sql)
    model = Model(f"{schema}.{name}", path, sql.strip().rstrip(";"),
                  header.group(1) if header else default,
                  incremental.group(1) if incremental else None,
                  not _UNSORTED.search(sql), key.groups() if key else None)
    if model.key and model.materialized != "table":
        raise WarehouseError(f"{path}: a key table is a table: drop '-- materialized'")
    if model.by_day and model.materialized != "table":
        raise WarehouseError(f"{path}: only a table can be built incrementally")
    if model.incremental and model.key:
        raise WarehouseError(f"{path}: a key table is not dated: drop '-- incremental'")
    return model


def _sql_hash(model: Model) -> str:
    return hashlib.sha256(model.sql.encode()).hexdigest()


def _known_reads() -> dict[str, set[str]]:
    try:
        stored = json.loads((builtin_dir() / READ_TABLES_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {entry["sql_sha256"]: set(entry["reads"]) for entry in stored.values()}


def write_read_tables() -> Path:
    """Write READ_TABLES_FILE for the built-in models as sqlglot reads them now."""
    builtin = {name: m for name, m in discover().items()
               if m.path.is_relative_to(builtin_dir())}
    path = builtin_dir() / READ_TABLES_FILE
    path.write_text(json.dumps(
        {name: {"sql_sha256": _sql_hash(m), "reads": sorted(_referenced_tables(m))}
         for name, m in sorted(builtin.items())}, indent=1) + "\n")
    return path


def _referenced_tables(model: Model) -> set[str]:
    """Physical tables a model reads: every table in every scope minus CTE names and
    table functions (the approach of SQLMesh's find_tables)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    try:
        tree = sqlglot.parse_one(model.sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise WarehouseError(f"{model.path}: cannot parse: {one_line(exc)}") from None
    if not isinstance(tree, exp.Query):
        raise WarehouseError(f"{model.path}: a model is one SELECT statement")
    tables: set[str] = set()
    for scope in traverse_scope(tree):
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
                if not source.db:
                    raise WarehouseError(
                        f"{model.path}: table {source.name!r} needs its schema "
                        "(e.g. core.usage_events)"
                    )
                tables.add(exp.table_name(source, dialect="duckdb").replace('"', ""))
    return tables


def build_order(models: dict[str, Model]) -> list[str]:
    sorter = graphlib.TopologicalSorter({n: m.depends_on for n, m in models.items()})
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        raise WarehouseError(
            f"{models[cycle[0]].path}: models depend on each other in a cycle: "
            + " -> ".join(cycle)
        ) from None


def downstream(models: dict[str, Model], selected: list[str]) -> set[str]:
    """The selected models and everything that reads them, directly or not."""
    chosen = set()
    for name in selected:
        if name not in models:
            matches = [m for m in models if m.split(".")[1] == name]
            if len(matches) != 1:
                raise WarehouseError(f"unknown model {name!r}: see 'warehouse models'")
            name = matches[0]
        chosen.add(name)
    changed = True
    while changed:
        changed = False
        for n, m in models.items():
            if n not in chosen and m.depends_on & chosen:
                chosen.add(n)
                changed = True
    return chosen


@dataclass
class BuildResult:
    model: str
    materialized: str
    rows: int | None  # rows written: all of a table, or those of the rebuilt days
    seconds: float
    mode: str = "full"  # 'full' | 'incremental' | 'unchanged' | 'view'


@dataclass
class Plan:
    """What a build redoes: incremental models not in `full` rebuild only `days`."""

    full: set[str]
    days: list | None  # None: no incremental model is built incrementally
    since: object = None
    untouched: bool = False  # nothing any model reads changed: every model stays


def build(con: duckdb.DuckDBPyConnection, models: dict[str, Model],
          select: list[str] | None = None, progress=None,
          prepare=None, full: bool = False) -> list[BuildResult]:
    """Build models in dependency order in one transaction: all or nothing.
    `prepare(con)` runs first inside it (e.g. loading the price file). Incremental models
    rebuild only the days whose inputs changed since they were built, unless `full`, a
    selection, changed prices or routes, or a changed model file calls for all days."""
    order = build_order(models)
    if select:
        chosen = downstream(models, select)
        order = [n for n in order if n in chosen]
    results = []
    con.execute("BEGIN TRANSACTION")
    try:
        macros = (builtin_dir() / MACROS_FILE).read_text()
        _set_window(con, None)  # before the macros, which bind the variables' types
        con.execute(macros)
        if prepare:
            prepare(con)
        plan = _plan(con, models, order, macros, full or bool(select))
        if progress:
            progress.plan("build", len(order))
        for name in order:
            if progress:
                progress(name)
            results.append(_build_one(con, models[name], plan))
        _record(con, models, order, macros)
        _set_window(con, None)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        _set_window(con, None)
        raise
    return results


def _hash(model: Model, macros: str) -> str:
    return hashlib.sha256((macros + "\0" + model.sql).encode()).hexdigest()[:16]


def _inputs_hash(con) -> str:
    """Prices, rates and routes: when they change every day's figures may change."""
    parts = [str(con.execute(f"SELECT list(t ORDER BY t::VARCHAR)::VARCHAR FROM {table} t")
                 .fetchone()[0])
             for table in ("_warehouse.prices", "_warehouse.rates", "_warehouse.routes")]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _plan(con, models: dict[str, Model], order: list[str], macros: str, full: bool) -> Plan:
    state = dict(con.execute("SELECT model, sql_hash FROM _warehouse.model_state").fetchall())
    built_at = dict(con.execute("SELECT model, built_at FROM _warehouse.model_state")
                    .fetchall())
    inputs = con.execute("SELECT value FROM _warehouse.meta WHERE key = 'inputs_hash'"
                         ).fetchone()
    full = full or inputs is None or inputs[0] != _inputs_hash(con)
    tables = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database()").fetchall()}
    views = {f"{s}.{v}" for s, v in con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal").fetchall()}
    present = tables | views
    changed: set[str] = set()  # models whose file changed or that the file lacks, and
    for name in build_order(models):  # what reads them
        m = models[name]
        if (state.get(name) != _hash(m, macros) or m.depends_on & changed
                or name not in present):
            changed.add(name)
    if not full and not changed and _untouched(con, models, built_at):
        return Plan(set(), [], untouched=True)
    rebuild_all: set[str] = set()  # incremental models that rebuild every day
    tainted: set[str] = set()  # ... and whatever reads them
    for name in order:
        m = models[name]
        if m.depends_on & tainted or (m.by_day and (
                full or name in changed or name not in tables)):
            tainted.add(name)
            if m.by_day:
                rebuild_all.add(name)
    incremental = [n for n in order if models[n].by_day and n not in rebuild_all]
    if not incremental:
        return Plan(rebuild_all, None)
    since = min(built_at[n] for n in incremental)
    con.execute("SET VARIABLE build_since = ?::TIMESTAMPTZ", [since])
    days = [r[0] for r in con.execute((builtin_dir() / CHANGED_DAYS_FILE).read_text())
            .fetchall()]
    return Plan(rebuild_all, days, since)


# Read by models, but a change to them changes the inputs hash (prices, rates, routes),
# or only views read them (the quarantine, which core.quarantine shows live).
_QUARANTINE = "_warehouse.ingest_quarantine"
_HASHED_INPUTS = {"_warehouse.prices", "_warehouse.rates", "_warehouse.routes", _QUARANTINE}


def _untouched(con, models: dict[str, Model], built_at: dict) -> bool:
    """Whether no table any model reads changed since every model was last built: the
    nightly run with nothing new then rebuilds nothing (a second of small tables and
    views otherwise). Raw rows copied, changed or flagged deleted carry a later
    _ingested_at or _deleted_at; a content mode changed (its text settled) has `since`."""
    if any(built_at.get(name) is None for name in models):
        return False
    since = min(built_at[name] for name in models)
    read = set().union(*(m.external for m in models.values())) - _HASHED_INPUTS
    live = [n for n, m in models.items() if _QUARANTINE in m.external]
    if any(not t.startswith("raw_") for t in read) or any(
            models[n].materialized == "table" for n in downstream(models, live)):
        return False  # a table we cannot date, or a table made of one
    stamps = [f"SELECT max(_ingested_at) AS t FROM {t} UNION ALL "
              f"SELECT max(_deleted_at) FROM {t}" for t in sorted(read)]
    if db.columns_of(con, "_warehouse.content_modes"):
        stamps.append("SELECT max(since) FROM _warehouse.content_modes")
    if not stamps:
        return True
    latest = con.execute(f"SELECT max(t) FROM ({' UNION ALL '.join(stamps)})").fetchone()[0]
    return latest is None or latest <= since


def _record(con, models: dict[str, Model], order: list[str], macros: str) -> None:
    """What the next build compares against: each model's file, when it was built,
    and the prices and routes it was built with."""
    for name in order:
        con.execute("INSERT OR REPLACE INTO _warehouse.model_state VALUES (?, ?, now())",
                    [name, _hash(models[name], macros)])
    con.execute("INSERT OR REPLACE INTO _warehouse.meta VALUES ('inputs_hash', ?)",
                [_inputs_hash(con)])


def _build_one(con, model: Model, plan: Plan) -> BuildResult:
    schema = model.name.split(".")[0]
    started = time.monotonic()
    mode = "view" if model.materialized == "view" else "full"
    if plan.untouched:
        mode = "unchanged"
    elif model.by_day and model.name not in plan.full:
        mode = "incremental" if plan.days else "unchanged"
    try:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        if mode == "incremental" and model.key:
            rows = _add_keys(con, model, plan.days)
        elif mode == "incremental":
            rows = _rebuild_days(con, model, plan.days)
        elif mode == "unchanged":
            rows = 0
        else:
            rows = _replace(con, model)
        _describe(con, model)
    except duckdb.Error as exc:
        raise WarehouseError(f"{model.path}: {one_line(exc)}") from None
    seconds = time.monotonic() - started
    con.execute("INSERT INTO _warehouse.build_runs VALUES (?, ?, now(), ?, ?)",
                [model.name, model.materialized if mode in ("full", "view") else mode,
                 rows, seconds])
    return BuildResult(model.name, model.materialized, rows, seconds, mode)


def _rebuild_days(con, model: Model, days: list) -> int:
    """Delete the rows of the changed days and insert them again (half-open UTC days)."""
    _set_window(con, days)
    con.execute(f"DELETE FROM {model.name} WHERE _warehouse.in_build({model.incremental})")
    row = con.execute(f"INSERT INTO {model.name} BY NAME {_in_time_order(model)}").fetchone()
    return int(row[0]) if row else 0


def keyed(model: Model, sql: str, after: str = "0") -> str:
    """A key table's rows: the SELECT's distinct values numbered in their order, after
    `after` (SQL; 0 in a full build). The same text runs on Spark."""
    key, column = model.key
    return (f"SELECT {column}, CAST({after} + row_number() OVER (ORDER BY {column}) "
            f"AS INTEGER) AS {key}\nFROM (SELECT DISTINCT {column} FROM (\n{sql}\n) "
            f"AS found WHERE {column} IS NOT NULL) AS ids")


def _add_keys(con, model: Model, days: list) -> int:
    """The values of the changed days that have no key yet, numbered after the last."""
    key, column = model.key
    _set_window(con, days)
    new = (f"SELECT * FROM (\n{model.sql}\n) AS given WHERE NOT EXISTS ("
           f"SELECT 1 FROM {model.name} AS known WHERE known.{column} = given.{column})")
    last = f"(SELECT coalesce(max({key}), 0) FROM {model.name})"
    row = con.execute(f"INSERT INTO {model.name} BY NAME\n{keyed(model, new, last)}"
                      ).fetchone()
    return int(row[0]) if row else 0


def description(model: Model) -> str:
    """The model file's leading comment, header lines left out: what the model holds."""
    lines = []
    for line in model.sql.splitlines():
        if not line.startswith("--"):
            break
        text = line[2:].strip()
        if not any(h.match(line) for h in (_HEADER, _INCREMENTAL, _KEY)):
            lines.append(text)
    return " ".join(t for t in lines if t)


def _describe(con, model: Model) -> None:
    """Keep the description in the warehouse (DuckDB's table comment) for notebooks."""
    kind = "TABLE" if model.materialized == "table" else "VIEW"
    text = description(model).replace("'", "''")
    con.execute(f"COMMENT ON {kind} {model.name} IS '{text}'")


def _set_window(con, days: list | None) -> None:
    """The days the in_build macros keep (None: all). The bounds are set, and typed,
    even then: the macros bind before they fold."""
    con.execute("SET VARIABLE build_days = ?::DATE[]", [days])
    first, last = (min(days), max(days)) if days else ("1970-01-01", "1970-01-01")
    con.execute("SET VARIABLE build_from = timezone('UTC', ?::DATE::TIMESTAMP)", [first])
    con.execute("SET VARIABLE build_until = timezone('UTC', ?::DATE::TIMESTAMP) "
                "+ INTERVAL 1 DAY", [last])


def _in_time_order(model: Model) -> str:
    """The model's rows, an incremental one's in the order of the column that dates them:
    DuckDB keeps each row group's min and max, so a report's window then reads the row
    groups of its days only (a week of a year's facts: a fiftieth of them) instead of all."""
    if not model.incremental or not model.time_sorted:
        return model.sql
    return f'SELECT * FROM (\n{model.sql}\n) ORDER BY "{model.incremental}"'


def _replace(con, model: Model) -> int | None:
    _set_window(con, None)
    other = "VIEW" if model.materialized == "table" else "TABLE"
    exists = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = ? "
        "AND table_name = ? AND table_catalog = current_database()",
        model.name.split(".")).fetchone()
    if exists and (exists[0] == "VIEW") == (other == "VIEW"):
        con.execute(f"DROP {other} {model.name}")
    kind = "TABLE" if model.materialized == "table" else "VIEW"
    body = model.sql if kind == "VIEW" else (
        keyed(model, model.sql) if model.key else _in_time_order(model))
    con.execute(f"CREATE OR REPLACE {kind} {model.name} AS\n{body}")
    if kind == "TABLE":
        return con.execute(f"SELECT count(*) FROM {model.name}").fetchone()[0]
    return None
