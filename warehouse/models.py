"""The model runner: every .sql under models_sql/ is a SELECT materialised under its name.

`models_sql/marts/user_daily.sql` becomes `marts.user_daily`. Dependencies are the tables
the SQL reads, found by parsing it with sqlglot (no templating): the files stay runnable
in any DuckDB shell. sqlglot is imported here only, never on the report path.
"""

from __future__ import annotations

import graphlib
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb

from warehouse.errors import WarehouseError, one_line

MACROS_FILE = "macros.sql"
# Tables that models read but do not build: ingest writes them.
EXTERNAL_SCHEMAS = re.compile(r"^(raw_[a-z0-9_]+|_warehouse)$")
_HEADER = re.compile(r"^--\s*materialized:\s*(table|view)\s*$", re.MULTILINE)


@dataclass
class Model:
    name: str  # schema.table
    path: Path
    sql: str
    materialized: str
    depends_on: set[str] = field(default_factory=set)
    external: set[str] = field(default_factory=set)


def builtin_dir() -> Path:
    return Path(str(resources.files("models_sql")))


def discover(extra_dir: Path | None = None) -> dict[str, Model]:
    """Read every model file and its dependencies; user models build beside ours."""
    models: dict[str, Model] = {}
    for root in [builtin_dir()] + ([extra_dir] if extra_dir else []):
        if not root.is_dir():
            raise WarehouseError(f"models folder {root} does not exist")
        for path in sorted(root.rglob("*.sql")):
            if path.name == MACROS_FILE and path.parent == root:
                continue
            model = _read_model(root, path)
            if model.name in models:
                raise WarehouseError(
                    f"{path}: model {model.name} is already defined by {models[model.name].path}"
                )
            models[model.name] = model
    for model in models.values():
        tables = _referenced_tables(model)
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
    return Model(f"{schema}.{name}", path, sql.strip().rstrip(";"),
                 header.group(1) if header else default)


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
    rows: int | None
    seconds: float


def build(con: duckdb.DuckDBPyConnection, models: dict[str, Model],
          select: list[str] | None = None, progress=None,
          prepare=None) -> list[BuildResult]:
    """Build models in dependency order in one transaction: all or nothing.
    `prepare(con)` runs first inside it (e.g. loading the price file)."""
    order = build_order(models)
    if select:
        chosen = downstream(models, select)
        order = [n for n in order if n in chosen]
    results = []
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute((builtin_dir() / MACROS_FILE).read_text())
        if prepare:
            prepare(con)
        for name in order:
            if progress:
                progress(name)
            results.append(_build_one(con, models[name]))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return results


def _build_one(con, model: Model) -> BuildResult:
    schema = model.name.split(".")[0]
    started = time.monotonic()
    other = "VIEW" if model.materialized == "table" else "TABLE"
    try:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        exists = con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_schema = ? "
            "AND table_name = ? AND table_catalog = current_database()",
            model.name.split(".")).fetchone()
        if exists and (exists[0] == "VIEW") == (other == "VIEW"):
            con.execute(f"DROP {other} {model.name}")
        kind = "TABLE" if model.materialized == "table" else "VIEW"
        con.execute(f"CREATE OR REPLACE {kind} {model.name} AS\n{model.sql}")
        rows = None
        if kind == "TABLE":
            rows = con.execute(f"SELECT count(*) FROM {model.name}").fetchone()[0]
    except duckdb.Error as exc:
        raise WarehouseError(f"{model.path}: {one_line(exc)}") from None
    seconds = time.monotonic() - started
    con.execute("INSERT INTO _warehouse.build_runs VALUES (?, ?, now(), ?, ?)",
                [model.name, model.materialized, rows, seconds])
    return BuildResult(model.name, model.materialized, rows, seconds)
