"""The models in another engine's SQL: DuckDB macros expanded, then sqlglot's transpiler.

Other engines have no `_warehouse.*` macros, so each call is replaced by the macro's body
with its arguments put in (at the syntax tree, never by text). They always build every
day, so the incremental window macros (`in_build`, `near_build`) become TRUE. Stars,
`* EXCLUDE` and `UNION ... BY NAME` are spelled out with the columns the built
warehouse has (sqlglot's qualify), since few engines have them. A few DuckDB functions
sqlglot leaves alone get a Spark equivalent here (`_SPARK`). What the target cannot
express fails here, naming the model and the construct, rather than on the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import WarehouseError, one_line
from warehouse.models import MACROS_FILE, Model, build_order, builtin_dir

DIALECTS = ("spark", "trino", "clickhouse", "duckdb")
# A full build keeps every day: the window tests of incremental builds are always true.
_FULL_BUILD = {"in_build", "near_build"}


@dataclass
class Macro:
    name: str
    params: list[str]
    body: object  # sqlglot expression


def load_macros(path: Path | None = None) -> dict[str, Macro]:
    import sqlglot
    from sqlglot import exp

    path = path or builtin_dir() / MACROS_FILE
    macros = {}
    for statement in sqlglot.parse(path.read_text(), read="duckdb"):
        if not (isinstance(statement, exp.Create) and statement.kind == "MACRO"):
            continue
        signature = statement.this
        name = signature.this.name
        body = statement.expression
        macros[name] = Macro(name, [p.name for p in signature.expressions],
                             body.this if isinstance(body, exp.Paren) else body)
    return macros


def expand_macros(tree, macros: dict[str, Macro], where: str):
    """Replace every `_warehouse.name(args)` by the macro's body, innermost calls first."""
    from sqlglot import exp

    def replace(node):
        if not (isinstance(node, exp.Dot) and isinstance(node.this, exp.Identifier)
                and node.this.name == "_warehouse"
                and isinstance(node.expression, exp.Anonymous)):
            return node
        call = node.expression
        name = call.name
        if name in _FULL_BUILD:
            return exp.true()
        macro = macros.get(name)
        if macro is None:
            raise WarehouseError(f"{where}: calls _warehouse.{name}, which macros.sql "
                                 "does not define")
        if len(call.expressions) != len(macro.params):
            raise WarehouseError(f"{where}: _warehouse.{name} takes {len(macro.params)} "
                                 f"arguments, not {len(call.expressions)}")
        args = dict(zip(macro.params, call.expressions, strict=True))

        def put_in(inner):
            if (isinstance(inner, exp.Column) and not inner.table
                    and inner.name in args):
                return exp.Paren(this=args[inner.name].copy())
            return inner

        body = macro.body.copy().transform(put_in)
        return exp.Paren(this=expand_macros(body, macros, where))

    return tree.transform(replace)


def warehouse_schema(con) -> dict:
    """{schema: {table: {column: type}}} of everything built: what stars stand for."""
    schema: dict = {}
    for s, t, c, ty in con.execute(
            "SELECT table_schema, table_name, column_name, data_type "
            "FROM information_schema.columns WHERE table_catalog = current_database() "
            "ORDER BY table_schema, table_name, ordinal_position").fetchall():
        schema.setdefault(s, {}).setdefault(t, {})[c] = ty
    return schema


def transpile_model(model: Model, dialect: str, macros: dict[str, Macro],
                    schema: dict) -> str:
    """The model's SELECT in `dialect`, or a one-line error naming what does not fit."""
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError, UnsupportedError
    from sqlglot.optimizer.qualify import qualify

    where = str(model.path)
    try:
        tree = sqlglot.parse_one(model.sql, read="duckdb")
        tree = expand_macros(tree, macros, f"model {model.name}")
        if dialect != "duckdb":
            tree = qualify(tree, schema=schema, dialect="duckdb", identify=False,
                           validate_qualify_columns=False)
            tree = _union_by_name(tree, model.name)
        if dialect == "spark":
            tree = tree.transform(lambda node: _spark(node, model.name))
        return tree.sql(dialect=dialect, pretty=True, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise WarehouseError(f"model {model.name} ({where}) does not transpile to "
                             f"{dialect}: {one_line(exc)}") from None
    except SqlglotError as exc:
        raise WarehouseError(f"model {model.name} ({where}): {one_line(exc)}") from None


def transpile_all(models: dict[str, Model], dialect: str, schema: dict,
                  select: list[str] | None = None) -> list[tuple[Model, str]]:
    """Every model (or the selected ones) in build order, in `dialect`."""
    if dialect not in DIALECTS:
        raise WarehouseError(f"unknown dialect {dialect!r} (choose from "
                             f"{', '.join(DIALECTS)})")
    order = build_order(models)
    if select:
        chosen = {_resolve(models, name) for name in select}
        order = [n for n in order if n in chosen]
    macros = load_macros()
    return [(models[n], transpile_model(models[n], dialect, macros, schema)) for n in order]


def _resolve(models: dict[str, Model], name: str) -> str:
    if name in models:
        return name
    matches = [m for m in models if m.split(".")[1] == name]
    if len(matches) != 1:
        raise WarehouseError(f"unknown model {name!r}: see 'warehouse models'")
    return matches[0]


def _union_by_name(tree, model: str):
    """`a UNION [ALL] BY NAME b`: b's columns put in a's order, NULL for those one side
    lacks (the stars are already spelled out), innermost unions first."""
    from sqlglot import exp

    unions = [u for u in tree.find_all(exp.Union) if u.args.get("by_name")]
    for union in sorted(unions, key=lambda u: -u.depth):
        left, right = union.left, union.right
        if not isinstance(right, exp.Select):
            raise WarehouseError(f"model {model}: UNION BY NAME with a nested union on "
                                 "its right side cannot be spelled out")
        names = list(left.named_selects)
        for name in right.named_selects:
            if name not in names:
                names.append(name)
        for leaf in _leaves(left):
            have = set(leaf.named_selects)
            for name in names:
                if name not in have:
                    leaf.append("expressions", exp.alias_(exp.null(), name))
        by_name = {e.alias_or_name: e for e in right.expressions}
        right.set("expressions", [by_name[n] if n in by_name else exp.alias_(exp.null(), n)
                                  for n in names])
        union.set("by_name", None)
    return tree


def _leaves(query):
    from sqlglot import exp

    if isinstance(query, exp.Union):
        return _leaves(query.left) + _leaves(query.right)
    if isinstance(query, exp.Subquery):
        return _leaves(query.this)
    return [query]


def _spark(node, model: str):
    """DuckDB functions sqlglot does not translate for Spark, by their Spark equivalent.
    Spark sessions run in UTC (as DuckDB's here), so UTC conversions are plain casts."""
    from sqlglot import exp

    def spark(part):  # the arguments too (transform does not revisit what it put in)
        return part.copy().transform(lambda n: _spark(n, model))

    def parse(sql: str, **parts):
        tree = _parse_spark(sql)
        return tree.transform(lambda n: spark(parts[n.name])
                              if isinstance(n, exp.Column) and n.name in parts else n)

    def json_path(path):
        path = path.unnest()
        if isinstance(path, exp.DPipe):
            return json_path(path.this) + json_path(path.expression)
        if isinstance(path, exp.JSONPath):
            return path.sql("duckdb").strip("'")
        if not (isinstance(path, exp.Literal) and path.is_string):
            raise WarehouseError(f"model {model}: a JSON path that is not a constant has "
                                 "no Spark equivalent here")
        return path.name

    def at_path(target, path: str):
        return target if path == "$" else parse(f"get_json_object(__x, '{path}')",
                                                 __x=target)

    if isinstance(node, exp.Cast) and node.to.is_type("json"):
        return node.this  # JSON stays text; the functions below parse it
    if isinstance(node, exp.JSONType):
        if node.expression is not None:
            node = exp.JSONType(this=at_path(node.this, json_path(node.expression)))
        return parse("case when starts_with(__s, 'OBJECT') then 'OBJECT' "
                     "when starts_with(__s, 'ARRAY') then 'ARRAY' "
                     "when __s = 'STRING' then 'VARCHAR' else __s end",
                     __s=parse("schema_of_variant(try_parse_json(__x))", __x=node.this))
    if isinstance(node, exp.Select):
        for join in list(node.args.get("joins") or []):
            table = join.this
            if (isinstance(table, exp.Table) and isinstance(table.this, exp.Anonymous)
                    and table.this.name.lower() == "json_each"):
                # json_each(x, path) AS e -> LATERAL VIEW explode(map of key -> JSON text)
                target, path = table.this.expressions
                alias = table.alias or "json_each"
                lateral = _parse_spark(
                    f"select 1 from t lateral view explode(from_json(__x, "
                    f"'map<string,string>')) {alias} as key, value").args["laterals"][0]
                source = at_path(spark(target), json_path(path))
                lateral = lateral.transform(
                    lambda n, source=source: source.copy()
                    if isinstance(n, exp.Column) and n.name == "__x" else n)
                join.pop()
                node.append("laterals", lateral)
        return node
    if isinstance(node, exp.JSONExtractScalar | exp.JSONExtract):
        path = json_path(node.expression)
        if path.endswith("[*]"):  # DuckDB: the list of the elements' texts
            return parse("from_json(__x, 'array<string>')",
                         __x=at_path(node.this, path[:-3]))
        return parse(f"get_json_object(__x, '{path}')", __x=node.this)
    if isinstance(node, exp.Glob):
        # * and ? (the price file's wildcards) as LIKE's % and _, escaping those two
        return parse("__x like replace(replace(replace(replace(replace(__p, '!', '!!'), '%', "
                     "'!%'), '_', '!_'), '*', '%'), '?', '_') escape '!'",
                     __x=node.this, __p=node.expression)
    if isinstance(node, exp.UnixToTime) and not node.args.get("scale"):
        return parse("timestamp_seconds(__x)", __x=node.this)
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        args = node.expressions
        if name == "timezone":
            if not (args[0].is_string and args[0].name == "UTC"):
                raise WarehouseError(f"model {model}: timezone() to a zone other than UTC "
                                     "has no Spark equivalent here")
            return parse("cast(__x as timestamp)", __x=args[1])
        if name == "json_valid":
            return parse("try_parse_json(__x) is not null", __x=args[0])
        if name == "to_seconds":
            return parse("make_dt_interval(0, 0, 0, __x)", __x=args[0])
        if name == "try_strptime":
            if args[1].name != "%Y-%m-%d":
                raise WarehouseError(f"model {model}: try_strptime with format "
                                     f"{args[1].name!r} has no Spark equivalent here")
            return parse("try_to_timestamp(__x, 'yyyy-MM-dd')", __x=args[0])
    return node


def _parse_spark(sql: str):
    import sqlglot

    return sqlglot.parse_one(sql, read="spark")
