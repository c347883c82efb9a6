"""The Python API for notebooks and scripts: `warehouse.open(path)`; opening never writes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from warehouse import db, reports, snapshots
from warehouse.errors import WarehouseError, one_line

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class Warehouse:
    """A read-only view of a warehouse file; results come as polars DataFrames."""

    def __init__(self, path: str | os.PathLike, pseudonymize: bool | None = None):
        self.path = path
        # the config's [warehouse] pseudonymize, followed at once; None: as last built
        self.pseudonymize = pseudonymize
        # reads the warehouse and nothing else: wh.sql() takes any SQL
        self.con = db.connect_reader(path)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run_report(self, name: str, filters: reports.Filters | None = None) -> reports.Result:
        try:
            return reports.run(self.con, name, filters or reports.Filters(),
                               self.pseudonymize)
        except WarehouseError as exc:
            raise WarehouseError(snapshots.diagnosed(Path(self.path), str(exc))) from None

    def report(self, name: str, **options):
        """A report as a polars DataFrame. Options are the CLI's, with underscores, and
        take Python values too: wh.report("users", since=date(2026, 10, 1),
        tag=["prod", "dev"], exclude_deleted=True). An option the report does not honour
        is an error, as on the command line."""
        import polars as pl

        result = self.run_report(name, reports.resolve(name, options))
        return pl.DataFrame(result.records(), schema=result.columns, orient="row") \
            if result.rows else pl.DataFrame(schema=result.columns)

    def chart(self, name: str, **options):
        """A report as an Altair chart (the one `report --chart` draws), e.g. in a notebook:
        wh.chart("daily", granularity="week")."""
        import altair as alt

        from warehouse import charts

        filters = reports.resolve(name, options)
        return alt.Chart.from_dict(charts.spec(self.run_report(name, filters), filters))

    def fetch(self, sql: str, params=None) -> tuple[list[str], list[tuple]]:
        try:
            cursor = self.con.execute(sql, params)
            if cursor.description is None:
                return [], []
            return [d[0] for d in cursor.description], cursor.fetchall()
        except duckdb.Error as exc:
            raise _query_failed(exc, self.path) from None

    def sql(self, query: str, params=None):
        """Any read-only SQL as a polars DataFrame."""
        try:
            return self.con.execute(query, params).pl()
        except duckdb.Error as exc:
            raise _query_failed(exc, self.path) from None

    def mart(self, name: str):
        """A whole mart (e.g. "user_daily") as a polars DataFrame."""
        if not _NAME.match(name):
            raise WarehouseError(f"{name!r} is not a mart name")
        exists = self.con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = 'marts' "
            "AND table_name = ?", [name]).fetchone()
        if not exists:
            raise WarehouseError(f"no mart {name!r}: see wh.marts()")
        from warehouse import pseudonyms

        secret = pseudonyms.key(self.con, self.pseudonymize)
        if secret is None:
            return self.con.execute(f'SELECT * FROM marts."{name}"').pl()
        columns = [d[0] for d in self.con.execute(
            f'SELECT * FROM marts."{name}" LIMIT 0').description]
        quoted = [f'"{c}"' for c in columns]
        select = ", ".join(f"{pseudonyms.sql_pseudonym(q)} AS {q}"
                           if c in pseudonyms.ID_COLUMNS else q
                           for c, q in zip(columns, quoted, strict=True))
        return self.con.execute(f'SELECT {select} FROM marts."{name}"',
                                {"key": secret}).pl()

    def marts(self):
        """The marts as a polars DataFrame: name, what it holds, its columns ("name TYPE")."""
        return self.con.execute(
            "SELECT t.table_name AS mart, coalesce(t.comment, '') AS description, "
            "list(c.column_name || ' ' || c.data_type ORDER BY c.column_index) AS columns "
            "FROM duckdb_tables() AS t JOIN duckdb_columns() AS c "
            "ON c.database_name = t.database_name AND c.schema_name = t.schema_name "
            "AND c.table_name = t.table_name "
            "WHERE t.database_name = current_database() AND t.schema_name = 'marts' "
            "GROUP BY ALL ORDER BY mart").pl()


def _query_failed(exc: Exception, path) -> WarehouseError:
    message = one_line(exc)
    if snapshots.is_damage(message):
        return WarehouseError(snapshots.diagnosed(Path(path), message))
    if "disabled by configuration" in message or "configuration has been locked" in message \
            or "disabled through configuration" in message:
        message += " (queries read the warehouse and nothing else)"
    return WarehouseError(f"query failed: {message}")


def open(path: str | os.PathLike, pseudonymize: bool | None = None) -> Warehouse:  # noqa: A001
    return Warehouse(path, pseudonymize)
