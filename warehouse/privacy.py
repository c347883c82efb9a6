"""`warehouse forget`: honour an erasure request wherever the warehouse holds a person.

The person's rows leave every raw table of every source (their chats with them), core and
the marts are rebuilt without them, and the published file is rewritten from scratch so
no freed page still holds their data. What stays is the record that an erasure happened
(who asked, when, how many rows) and one-way hashes that keep the person out of later
ingests (ingest/erasure.py); never their id, name or email.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ingest import erasure, quarantine
from ingest.sources import KINDS
from warehouse import models, pipeline, publish
from warehouse.config import Config
from warehouse.errors import WarehouseError

# Where people are named, per source kind: (user table, id column, email column).
USER_TABLES = (('raw_openwebui."user"', "id", "email"),
               ('raw_litellm."LiteLLM_UserTable"', "user_id", "user_email"))


@dataclass
class Erasure:
    erasure_id: str
    identifiers: int
    rows: dict[str, int] = field(default_factory=dict)  # "source.table" -> rows removed
    models_built: int = 0

    @property
    def rows_removed(self) -> int:
        return sum(self.rows.values())


def forget(config: Config, who: str, requested_by: str, reason: str | None = None,
           wait: bool = False, progress=None) -> Erasure:
    who = who.strip()
    if not who:
        raise WarehouseError("--user needs a user id or email")
    found = models.discover(config.user_models)
    with publish.writing(config.db, wait, "forget", compact=True) as con:
        pipeline.ensure_inputs(con)
        run = pipeline.RunSummary("forget")
        identities = _identities(con, who)
        done = Erasure(run.run_id, len(identities))
        con.execute("BEGIN TRANSACTION")
        con.executemany(f"INSERT OR IGNORE INTO {erasure.ERASED_IDS} VALUES (?, ?)",
                        [[erasure.id_hash(i), done.erasure_id] for i in identities])
        _erase_chats(con, done.erasure_id)
        for kind in KINDS.values():
            for spec in kind.tables:
                raw = f'raw_{kind.name}."{spec.name}"'
                for source, removed in _erase_by_source(con, raw, spec).items():
                    if removed:
                        done.rows[f"{source}.{spec.name}"] = removed
                quarantine.drop_forgotten(con, raw, spec)
        if not done.rows_removed:
            raise WarehouseError(f"--user {who!r}: no user with that id or email, and no "
                                 "row names it; nothing was changed")
        con.execute("COMMIT")
        run.built = pipeline._build(con, config, found, None, None, progress, full=True)
        done.models_built = len(run.built)
        con.execute(
            "INSERT INTO _warehouse.erasures VALUES (?, now(), ?, ?, ?, ?, ?)",
            [done.erasure_id, requested_by, reason, done.identifiers, done.rows_removed,
             json.dumps({"rows": done.rows, "models_rebuilt": done.models_built})])
        run.log(con)
    return done


def _identities(con, who: str) -> set[str]:
    """The ids and emails the user tables give for `who`, followed through shared emails
    (one person, several sources), plus `who` itself (an id only a usage row holds)."""
    known = {who.lower()}
    while True:
        found = set(known)
        for table, id_column, email_column in USER_TABLES:
            for user_id, email in con.execute(
                    f'SELECT "{id_column}", "{email_column}" FROM {table} WHERE '
                    f'lower("{id_column}") IN (SELECT unnest($k)) OR '
                    f'lower("{email_column}") IN (SELECT unnest($k))',
                    {"k": sorted(known)}).fetchall():
                found |= {v.lower() for v in (user_id, email) if v}
        if found == known:
            return known
        known = found


def _erase_chats(con, erasure_id: str) -> None:
    """The person's chats, by id and as shared copies (`shared-<chat id>` rows of
    databases before April 2026), are forgotten with them."""
    match = f"sha256(lower(user_id)) IN (SELECT id_hash FROM {erasure.ERASED_IDS})"
    chats = [c for (c,) in con.execute(
        f'SELECT DISTINCT id FROM raw_openwebui."chat" WHERE {match} AND id IS NOT NULL '
        f'UNION SELECT DISTINCT chat_id FROM raw_openwebui."chat_message" WHERE {match} '
        "AND chat_id IS NOT NULL").fetchall()]
    if chats:
        con.executemany(f"INSERT OR IGNORE INTO {erasure.ERASED_IDS} VALUES (?, ?)",
                        [[erasure.id_hash(v), erasure_id]
                         for chat in chats for v in (chat, f"shared-{chat}")])


def _erase_by_source(con, raw: str, spec) -> dict[str, int]:
    sources = [s for (s,) in con.execute(f"SELECT DISTINCT _source FROM {raw}").fetchall()]
    return {source: erasure.erase(con, raw, spec, "_source = ?", [source])
            for source in sources}
