"""Source rows and values that cannot be taken as they are: set aside and listed.

SQLite lets any value sit in any column (text in an integer column, bytes that are not
UTF-8), and a table whose declared key is not unique can hold a key twice or not at all.
One such value must not stop the nightly run, nor be copied silently: the value becomes
NULL (its row is kept), a row without a key or a second row with a key is left out, and
each case gets a row in `_warehouse.ingest_quarantine` (source, table, row key, column,
problem, a short detail) for an admin to inspect (`warehouse status` counts them, the
model core.quarantine lists them with what the build could not use).

Reading a table "tolerantly" (every value through its hex text, typed in DuckDB) costs
about three times a normal read, so a table is read that way only after a normal read
failed on a value, and from then on (`_warehouse.tolerant_reads`).
"""

from __future__ import annotations

import duckdb

from warehouse.ingest.tables import TableSpec

QUARANTINE = "_warehouse.ingest_quarantine"
TOLERANT = "_warehouse.tolerant_reads"
PROBLEMS = "_problems"
DETAIL_CHARS = 40


def is_unreadable(exc: duckdb.Error) -> bool:
    """A read failed on a value that does not fit its column (not on the connection)."""
    return (isinstance(exc, (duckdb.TypeMismatchException, duckdb.ConversionException))
            or "Invalid unicode" in str(exc))


def tolerant_tables(con) -> set[tuple[str, str]]:
    return {(s, t) for s, t in con.execute(f"SELECT source_name, table_name FROM {TOLERANT}")
            .fetchall()}


def remember_tolerant(con, source_name: str, table: str) -> None:
    con.execute(f"INSERT OR IGNORE INTO {TOLERANT} VALUES (?, ?, now())", [source_name, table])


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def typed_columns(columns: dict[str, str]) -> str:
    """SQL over hex-text columns (a tolerant read): each value typed as the source declares
    its column (NULL when it does not fit), and the list of values that did not fit."""
    typed, problems = [], []
    for name, dtype in columns.items():
        column = '"' + name.replace('"', '""') + '"'
        text = f"try(decode(unhex({column})))"
        target = "VARCHAR" if dtype.upper() in ("JSON", "JSONB") else dtype
        value = text if target.upper() == "VARCHAR" else f"TRY_CAST({text} AS {target})"
        typed.append(f"{value} AS {column}")
        problem = (f"WHEN {column} IS NOT NULL AND {text} IS NULL THEN {{'column': "
                   f"{_literal(name)}, 'problem': 'not UTF-8 text', 'detail': "
                   f"(length({column}) // 2) || ' bytes'}}")
        if value != text:
            problem += (f" WHEN {column} IS NOT NULL AND {value} IS NULL THEN {{'column': "
                        f"{_literal(name)}, 'problem': {_literal('not a ' + target)}, "
                        f"'detail': left({text}, {DETAIL_CHARS})}}")
        problems.append(f"CASE {problem} END")
    return (", ".join(typed) + f", list_filter([{', '.join(problems)}], p -> p IS NOT NULL) "
            f"AS {PROBLEMS}")


def key_text(spec: TableSpec, columns) -> str:
    """SQL: a row's key as one text (a composite key as a JSON list), or for a row without
    a key a digest of its values, so each row has one stable name."""
    keys = [f'CAST("{k}" AS VARCHAR)' for k in spec.key]
    key = keys[0] if len(keys) == 1 else f"to_json([{', '.join(keys)}])::VARCHAR"
    values = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in columns if c != PROBLEMS)
    return f"coalesce({key}, 'row ' || md5(concat_ws('|', {values})))"


def clear(con, source_name: str, spec: TableSpec, rows: str | None = None) -> None:
    """Forget earlier entries of a table before it is read again: all of them (a whole
    read), or those of the rows re-read (`rows`, a table with the key columns)."""
    if not con.execute(f"SELECT count(*) FROM {QUARANTINE} WHERE source_name = ? AND "
                       "table_name = ?", [source_name, spec.name]).fetchone()[0]:
        return  # the common case: nothing listed, nothing to match
    where = ""
    if rows:
        columns = [r[0] for r in con.execute(f"SELECT * FROM {rows} LIMIT 0").description]
        where = f" AND row_key IN (SELECT {key_text(spec, columns)} FROM {rows})"
    con.execute(f"DELETE FROM {QUARANTINE} WHERE source_name = ? AND table_name = ?{where}",
                [source_name, spec.name])


def record_unreadable(con, table: str, source_name: str, spec: TableSpec) -> int:
    """List the values of a tolerant read that did not fit their column; return how many."""
    columns = [r[0] for r in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
    row = con.execute(
        f"INSERT OR REPLACE INTO {QUARANTINE} SELECT ?, ?, row_key, p.column, p.problem, "
        f"p.detail, now() FROM (SELECT {key_text(spec, columns)} AS row_key, "
        f"unnest({PROBLEMS}) AS p FROM {table})", [source_name, spec.name]).fetchone()
    return int(row[0]) if row else 0


def set_aside_keyless(con, table: str, spec: TableSpec, source_name: str,
                      where: str = "true", params=()) -> int:
    """Rows without their one-column key cannot be merged or told apart: out, listed."""
    if len(spec.key) != 1:
        return 0  # a composite key stands in for a missing primary key and may hold NULLs
    key = f'"{spec.key[0]}"'
    columns = [r[0] for r in con.execute(f"SELECT * FROM {table} LIMIT 0").description
               if not r[0].startswith("_")]
    con.execute(
        f"INSERT OR REPLACE INTO {QUARANTINE} SELECT ?, ?, {key_text(spec, columns)}, ?, "
        f"'no key', 'the row has no {spec.key[0]}', now() FROM {table} "
        f"WHERE ({where}) AND {key} IS NULL", [source_name, spec.name, spec.key[0], *params])
    row = con.execute(f"DELETE FROM {table} WHERE ({where}) AND {key} IS NULL",
                      list(params)).fetchone()
    return int(row[0]) if row else 0


def set_aside_duplicates(con, table: str, spec: TableSpec, source_name: str,
                         where: str = "true", params=()) -> int:
    """A source whose key is not declared unique may repeat it: the row changed last
    stays, the others go, and the key is listed with how many were left out."""
    if len(spec.key) != 1:
        return 0
    key = f'"{spec.key[0]}"'
    con.execute(
        f"INSERT OR REPLACE INTO {QUARANTINE} SELECT ?, ?, CAST({key} AS VARCHAR), '', "
        f"'duplicate key', (count(*) - 1) || ' more rows with this key left out', now() "
        f"FROM {table} WHERE ({where}) AND {key} IS NOT NULL GROUP BY {key} "
        f"HAVING count(*) > 1", [source_name, spec.name, *params])
    order = f'"{spec.cursor}" DESC NULLS LAST, ' if spec.cursor else ""
    row = con.execute(
        f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE ({where}) "
        f"AND {key} IS NOT NULL QUALIFY row_number() OVER (PARTITION BY {key} "
        f"ORDER BY {order}rowid DESC) > 1)", [*params]).fetchone()
    return int(row[0]) if row else 0


def drop_forgotten(con, raw: str, spec: TableSpec) -> None:
    """After `warehouse forget`: entries of rows no longer in raw (the person's) go; so do
    entries of rows without a key, which cannot be told apart (the next whole read lists
    the others again)."""
    if not (spec.person_columns or spec.chat_column):
        return
    keys = [f'CAST(r."{k}" AS VARCHAR)' for k in spec.key]
    key = keys[0] if len(keys) == 1 else f"to_json([{', '.join(keys)}])::VARCHAR"
    con.execute(
        f"DELETE FROM {QUARANTINE} AS q WHERE q.table_name = ? AND (q.row_key LIKE 'row %' "
        f"OR NOT EXISTS (SELECT 1 FROM {raw} AS r WHERE r._source = q.source_name "
        f"AND {key} = q.row_key))", [spec.name])
