"""Rows of people the warehouse was told to forget: taken out of raw, and kept out.

`warehouse forget` stores one-way hashes (sha256 of the lower-cased text) of the person's
ids, emails and chat ids in `_warehouse.erased_ids`; every later ingest drops source rows
that match one, so a person still in the source does not come back. The hashes let the
warehouse recognise the person again, not name them.
"""

from __future__ import annotations

import hashlib
import json

from warehouse.ingest.tables import TableSpec

ERASED_IDS = "_warehouse.erased_ids"
_MATCH = f"sha256(lower({{column}})) IN (SELECT id_hash FROM {ERASED_IDS})"


def id_hash(value: str) -> str:
    return hashlib.sha256(value.lower().encode()).hexdigest()


def any_erased(con) -> bool:
    return bool(con.execute(f"SELECT count(*) FROM {ERASED_IDS}").fetchone()[0])


def erase(con, table: str, spec: TableSpec, where: str = "true", params=()) -> int:
    """Remove the forgotten people's rows from `table` (raw or a staged copy of it), name
    them nowhere else in it; return the rows removed."""
    removed = 0
    present = {d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description}
    columns = [c for c in (*spec.person_columns, spec.chat_column) if c in present]
    if columns:
        match = " OR ".join(_MATCH.format(column=f'"{c}"') for c in columns)
        row = con.execute(f"DELETE FROM {table} WHERE ({where}) AND ({match})",
                          list(params)).fetchone()
        removed += int(row[0]) if row else 0
    for column in (c for c in spec.person_refs if c in present):
        con.execute(f'UPDATE {table} SET "{column}" = NULL WHERE ({where}) AND '
                    + _MATCH.format(column=f'"{column}"'), list(params))
    for column in (c for c in spec.person_lists if c in present):
        _prune_lists(con, table, spec, column, where, params)
    return removed


def _prune_lists(con, table: str, spec: TableSpec, column: str, where: str, params) -> None:
    """JSON lists of user ids (groups before the group_member table): small tables, so
    each list is rewritten here rather than in SQL."""
    erased = {h for (h,) in con.execute(f"SELECT id_hash FROM {ERASED_IDS}").fetchall()}
    keys = ", ".join(f'"{k}"' for k in spec.key)
    for *key, text in con.execute(
            f'SELECT {keys}, "{column}" FROM {table} WHERE ({where}) AND "{column}" IS NOT '
            "NULL", list(params)).fetchall():
        try:
            members = json.loads(text)
        except ValueError:
            continue
        if not isinstance(members, list):
            continue
        kept = [m for m in members if not (isinstance(m, str) and id_hash(m) in erased)]
        if len(kept) != len(members):
            match = " AND ".join(f'"{k}" IS NOT DISTINCT FROM ?' for k in spec.key)
            con.execute(f'UPDATE {table} SET "{column}" = ? WHERE ({where}) AND {match}',
                        [json.dumps(kept), *params, *key])
