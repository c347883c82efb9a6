"""Opening a source database read-only through DuckDB's sqlite or postgres scanner."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb

from warehouse import db
from warehouse.db import load_extension
from warehouse.errors import WarehouseError, one_line, redact
from warehouse.ingest import litellm, openwebui
from warehouse.ingest.content import quoted
from warehouse.ingest.short_reads import ShortReads, in_rollback_mode, sql_literal
from warehouse.ingest.tables import SourceKind

KINDS: dict[str, SourceKind] = {kind.name: kind for kind in (openwebui.KIND, litellm.KIND)}
SQLITE_MAGIC = b"SQLite format 3\x00"
DIALECT_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
PG_CONNECT_TIMEOUT_SECONDS = 10
_aliases = itertools.count()


def kind_of(name: str) -> SourceKind:
    try:
        return KINDS[name]
    except KeyError:
        raise WarehouseError(f"unknown source kind {name!r} (known: {', '.join(KINDS)})") from None


@dataclass
class AttachedSource:
    """A source attached to the warehouse connection under `alias`."""

    alias: str
    schema: str
    dialect: str
    display: str
    secrets: tuple[str, ...]
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    # the column lists each table declares PRIMARY KEY or UNIQUE, and its NOT NULL columns
    unique_keys: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    not_null: dict[str, set[str]] = field(default_factory=dict)
    # a SQLite source in rollback-journal mode is read in short transactions
    short: ShortReads | None = None
    made: list[str] = field(default_factory=list)  # temporary tables, for release()

    @property
    def tables(self) -> set[str]:
        return set(self.columns)

    def table_relation(self, table: str) -> str:
        if self.short is not None:
            return self.short.relation("*", table, "1 = 1")
        return f'{self.alias}."{self.schema}"."{table}"'

    def query_relation(self, table: str, select: dict[str, str], where: str) -> str:
        """A relation that runs the query on the source itself (`select`: name -> SQL in
        its dialect), so its index serves the WHERE and facts about long text are
        computed there (DuckDB's scanners would read every column of every row)."""
        return self._on_source(_select_sql(select), table, where)

    def whole_table(self, table: str, select: dict[str, str]) -> str:
        """Every row of `table` as `select` reads it: the scanner when that selects plain
        columns, the source's own query when it computes facts."""
        if self.short is None and all(expr == quoted(name) for name, expr in select.items()):
            return self.table_relation(table)  # the scanner reads only the columns used
        return self.query_relation(table, select, "1 = 1")

    def copy_whole_table(self, con, table: str, select: dict[str, str], insert: str,
                         types: dict[str, str]) -> int:
        """Run `insert` (SQL reading the relation `{rows}`) over every row of `table` as
        `select` reads it (typed as `types`); the rows inserted. Read in short
        transactions, the rows go straight in range by range, never held whole."""
        if self.short is not None:
            return self.short.copy(_select_sql(select), table, insert, _typed(select, types))
        row = con.execute(insert.replace("{rows}", self.whole_table(table, select))).fetchone()
        return int(row[0]) if row else 0

    @property
    def reads_ahead(self) -> bool:
        """Whether read_ahead reads anything (a source read in short transactions)."""
        return self.short is not None

    def read_ahead(self, table: str, select: dict[str, str], types: dict[str, str]) -> None:
        """Start reading what copy_whole_table(table, select, types) will read, while the
        run copies another table (a source read in short transactions; elsewhere the
        scanners read as the copy runs)."""
        if self.short is not None:
            self.short.read_ahead(_select_sql(select), table, _typed(select, types))

    def stop_reading_ahead(self) -> None:
        if self.short is not None:
            self.short.stop_reading_ahead()

    def rows_by_key(self, con, table: str, select: dict[str, str], column: str,
                    values: list, batch: int = 1000) -> str:
        """A temporary table of the rows whose `column` is one of `values`, looked up on
        the source's index a batch at a time; dropped by release()."""
        if self.short is not None:
            # ~1,500 primary-key lookups take the 30 ms a short read may hold the file
            return self.short.rows_with(table, column, values, batch=1500,
                                        select=_select_sql(select))
        name = f"_by_key_{next(_aliases)}"
        for start in range(0, max(len(values), 1), batch):
            listed = ", ".join(sql_literal(v) for v in values[start:start + batch]) or "NULL"
            relation = self._on_source(_select_sql(select), table, f'"{column}" IN ({listed})')
            if start == 0:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {relation}")
                self.made.append(name)
            else:
                con.execute(f"INSERT INTO {name} SELECT * FROM {relation}")
        return name

    def keys_relation(self, table: str, key: tuple[str, ...]) -> str:
        columns = ", ".join(f'"{k}"' for k in key)
        if self.short is not None:
            return self.short.relation(columns, table, "1 = 1")
        return f"(SELECT {columns} FROM {self.table_relation(table)})"

    def rows_with_keys(self, con, table: str, key: tuple[str, ...], keys: str,
                       select: dict[str, str]) -> str:
        """A relation holding (at least) the rows whose key is in the run's table `keys`:
        the whole table for the scanners (a semi-join reads it as it streams), only
        those rows, looked up by key, when reads must stay short."""
        if self.short is None or len(key) != 1:
            return self.whole_table(table, select)
        values = [v for (v,) in con.execute(f'SELECT "{key[0]}" FROM {keys}').fetchall()]
        return self.short.rows_with(table, key[0], values, select=_select_sql(select))

    def count_relation(self, table: str, key: tuple[str, ...] = ()) -> str:
        """The table's count of rows (column n) that the warehouse keeps, counted by the
        source: rows with their one-column key, each key once (SQLite counts the
        smallest index)."""
        counted = "count(*)"
        if len(key) == 1 and not self.is_unique(table, key):
            counted = f'count(DISTINCT "{key[0]}")'
        elif len(key) == 1 and key[0] not in self.not_null.get(table, ()):
            counted = f'count("{key[0]}")'
        if self.short is not None:
            return f"(SELECT {self.short.count(table, counted)} AS n)"
        return self._on_source(f"{counted} AS n", table, "1 = 1")

    def release(self, con) -> None:
        """Free what was read for the table just ingested."""
        if self.short is not None:
            self.short.release()
        for name in self.made:
            con.execute(f"DROP TABLE IF EXISTS {name}")
        self.made.clear()

    def is_unique(self, table: str, key: tuple[str, ...]) -> bool:
        return tuple(key) in self.unique_keys.get(table, [])

    def hex_relation(self, table: str, select: dict[str, str], where: str) -> str:
        """A SQLite read that no value can fail: every value as the hex of its text
        (NULL stays NULL), to be typed in DuckDB (ingest/quarantine.py)."""
        return self._on_source(_select_sql(
            {name: hex_text(expr) for name, expr in select.items()}), table, where)

    def _on_source(self, select: str, table: str, where: str) -> str:
        if self.short is not None:
            return self.short.relation(select, table, where)
        sql = f'SELECT {select} FROM "{self.schema}"."{table}" WHERE {where}'
        if self.dialect == "sqlite":
            sql = f'SELECT {select} FROM "{table}" WHERE {where}'
        function = "sqlite_query" if self.dialect == "sqlite" else "postgres_query"
        return f"{function}('{self.alias}', '{sql.replace(chr(39), chr(39) * 2)}')"

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)


@contextmanager
def attached_source(con: duckdb.DuckDBPyConnection, source) -> Iterator[AttachedSource]:
    """Attach `source` read-only, check it is of its declared kind, detach afterwards."""
    alias = f"src_{next(_aliases)}"
    url = source.url
    kind = kind_of(source.kind)
    if url.dialect not in kind.dialects:
        raise WarehouseError(
            f"source {source.name!r}: {kind.description} is kept in "
            f"{' or '.join(DIALECT_NAMES[d] for d in kind.dialects)}, not in "
            f"{DIALECT_NAMES[url.dialect]} ({url.display()})")
    if url.dialect == "sqlite":
        _check_sqlite_file(source.name, url.path)
        target, schema, options = str(url.path), "main", "TYPE sqlite, READ_ONLY"
    else:
        target, schema, options = _with_timeout(url.dsn), "public", "TYPE postgres, READ_ONLY"
    attached = AttachedSource(alias, schema, url.dialect, url.display(), (url.password,))
    # A SQLite source in rollback-journal mode is attached to a reader of its own
    # (ingest/short_reads.py); any other source to the run's connection.
    short = url.dialect == "sqlite" and in_rollback_mode(url.path)

    def attach(reader: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        try:
            load_extension(reader, url.dialect)
        except WarehouseError:
            if short:
                reader.close()
            raise
        try:
            reader.execute(f"ATTACH '{target.replace(chr(39), chr(39) * 2)}' AS {alias} "
                           f"({options})")
        except duckdb.Error as exc:
            if short:
                reader.close()
            raise WarehouseError(
                f"source {source.name!r}: cannot open {attached.display}: "
                f"{attached.redact(one_line(exc))}"
            ) from None
        return reader

    def new_reader() -> duckdb.DuckDBPyConnection:
        return attach(duckdb.connect(config=dict(db.OFFLINE)))

    reader = new_reader() if short else attach(con)
    if short:
        attached.short = ShortReads(con, reader, alias, new_reader)
    try:
        attached.columns = _columns(reader, attached)
        attached.unique_keys, attached.not_null = _constraints(reader, attached)
        absent = [t for t in kind.identifying_tables if t not in attached.columns]
        if absent:
            raise WarehouseError(
                f"source {source.name!r}: {attached.display} is not {kind.description}: "
                f"it has no table {absent[0]!r}"
            )
        yield attached
    finally:
        if short:
            attached.short.stop_reading_ahead()
        try:
            reader.execute(f"DETACH {alias}")
        except duckdb.Error:
            pass
        if short:
            reader.close()


def hex_text(expr: str) -> str:
    """SQLite SQL: the hex of a value's text, NULL kept (what no value can fail to read)."""
    return f"iif(({expr}) IS NULL, NULL, hex({expr}))"


def _typed(select: dict[str, str], types: dict[str, str]) -> str:
    return ", ".join(f"CAST({quoted(n)} AS {types[n]}) AS {quoted(n)}" for n in select)


def _select_sql(select: dict[str, str]) -> str:
    return ", ".join(expr if expr == quoted(name) else f"{expr} AS {quoted(name)}"
                     for name, expr in select.items())


def _check_sqlite_file(name: str, path) -> None:
    if not path.exists():
        raise WarehouseError(f"source {name!r}: SQLite file {path} does not exist")
    if not path.is_file():
        raise WarehouseError(f"source {name!r}: {path} is not a file")
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise WarehouseError(f"source {name!r}: cannot read {path}: {exc.strerror}") from None
    if header != SQLITE_MAGIC:
        raise WarehouseError(f"source {name!r}: {path} is not a SQLite database")


def _with_timeout(dsn: str) -> str:
    if "connect_timeout" in dsn:
        return dsn
    joiner = "&" if "?" in dsn else "?"
    return f"{dsn}{joiner}connect_timeout={PG_CONNECT_TIMEOUT_SECONDS}"


def _columns(con, attached: AttachedSource) -> dict[str, dict[str, str]]:
    try:
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = ? AND schema_name = ? ORDER BY table_name, column_index",
            [attached.alias, attached.schema]).fetchall()
    except duckdb.Error as exc:
        raise WarehouseError(
            f"cannot list the tables of {attached.display}: {attached.redact(one_line(exc))}"
        ) from None
    tables: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        tables.setdefault(table, {})[column] = dtype
    return tables


def _constraints(con, attached: AttachedSource):
    """The unique column lists and the NOT NULL columns of each table."""
    rows = con.execute(
        "SELECT table_name, constraint_type, constraint_column_names "
        "FROM duckdb_constraints() WHERE database_name = ? AND schema_name = ? "
        "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'NOT NULL')",
        [attached.alias, attached.schema]).fetchall()
    keys: dict[str, list[tuple[str, ...]]] = {}
    not_null: dict[str, set[str]] = {}
    for table, kind, columns in rows:
        if kind == "NOT NULL":
            not_null.setdefault(table, set()).update(columns)
        else:
            keys.setdefault(table, []).append(tuple(columns))
    return keys, not_null
