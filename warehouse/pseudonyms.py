"""Stable pseudonyms for people in reports and marts, when `[warehouse] pseudonymize`.

Analysts see `user-3f9a0c1b2d` where a name, an email or an email used as an id would be;
the same person gets the same pseudonym in every report, build after build, because it is
a keyed hash of their id (the key is random, made once per warehouse). The data itself is
unchanged: the admin can still filter with the real id or email (`--user`), and `forget`
still finds the person. Reading the warehouse file with SQL shows the real values.
"""

from __future__ import annotations

import hashlib
import secrets

from warehouse.errors import WarehouseError
from warehouse.results import Result

NAME_COLUMNS = ("name", "user_name")
EMAIL_COLUMNS = ("email", "user_email")
ID_COLUMNS = ("user_id", "user", "subject", "end_user")  # pseudonymised when an email
# Rows of these reports are about a person only for some kinds (the others name
# allowances, keys and teams).
PERSON_KINDS = {"daily", "credits_daily", "litellm_user"}
DOMAIN = "pseudonymized.invalid"


def store(con, enabled: bool | None) -> None:
    """Record the config's choice in the warehouse (readers follow the file, not a
    config), and make the key once."""
    if enabled is None:
        return
    con.execute("INSERT OR REPLACE INTO _warehouse.meta VALUES ('pseudonymize', ?)",
                ["true" if enabled else "false"])
    con.execute("INSERT OR IGNORE INTO _warehouse.meta VALUES ('pseudonym_key', ?)",
                [secrets.token_hex(32)])


def key(con, wanted: bool | None = None) -> str | None:
    """The key when pseudonyms are on, else None. `wanted` is the config's setting, which
    readers follow at once; None (no config) follows the warehouse's last build. A
    warehouse never built with pseudonyms has no key yet: readers then refuse rather than
    show real names."""
    rows = dict(con.execute("SELECT key, value FROM _warehouse.meta WHERE key IN "
                            "('pseudonymize', 'pseudonym_key')").fetchall())
    on = rows.get("pseudonymize") == "true" if wanted is None else wanted
    if on and rows.get("pseudonym_key") is None:
        raise WarehouseError("pseudonymize = true, but this warehouse was never built with "
                             "it: run 'warehouse build' once to make its pseudonym key")
    return rows.get("pseudonym_key") if on else None


def pseudonym(secret: str, value: str) -> str:
    return "user-" + hashlib.sha256((secret + value.lower()).encode()).hexdigest()[:10]


def sql_pseudonym(column: str) -> str:
    """The same pseudonym in SQL, for an email-shaped id column (the key is $key)."""
    return (f"CASE WHEN {column} LIKE '%@%' THEN 'user-' || left(sha256($key || "
            f"lower({column})), 10) ELSE {column} END")


def apply(result: Result, secret: str | None) -> Result:
    if secret is None:
        return result
    columns = result.columns
    kind = columns.index("kind") if "kind" in columns else None
    basis = next((columns.index(c) for c in ID_COLUMNS if c in columns), None)
    names = [columns.index(c) for c in NAME_COLUMNS if c in columns]
    emails = [columns.index(c) for c in EMAIL_COLUMNS if c in columns]
    ids = [columns.index(c) for c in ID_COLUMNS if c in columns]
    rows = []
    for row in result.rows:
        row = list(row)
        if kind is None or row[kind] in PERSON_KINDS:
            person = row[basis] if basis is not None else None
            for i in names + emails:
                if row[i] is not None:
                    tag = pseudonym(secret, str(person if person is not None else row[i]))
                    row[i] = f"{tag}@{DOMAIN}" if i in emails else tag
            for i in ids:
                if isinstance(row[i], str) and "@" in row[i]:
                    row[i] = pseudonym(secret, row[i])
        rows.append(tuple(row))
    return Result(result.name, columns, rows, result.notes)
