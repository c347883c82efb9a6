"""`warehouse forget`: honour an erasure request wherever the warehouse holds a person.

The person's rows leave every raw table of every source (their chats with them), core and
the marts are rebuilt without them, and the published file is rewritten from scratch so
no freed page still holds their data. What stays is the record that an erasure happened
(who asked, when, how many rows) and one-way hashes that keep the person out of later
ingests (warehouse/ingest/erasure.py); never their id, name or email.

The hashes are also written to a ledger beside the warehouse (NAME.erasures, owner-only)
before the erasure is published: a warehouse restored from an older snapshot or export
gets every recorded erasure again (`reapply`). Snapshots that hold the person are dropped
(warehouse/snapshots.py), and exports recorded beside the warehouse are exported again,
which rewrites the days that held them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from warehouse import export, models, pipeline, publish
from warehouse.config import Config
from warehouse.errors import WarehouseError
from warehouse.files import append_line
from warehouse.ingest import erasure, quarantine
from warehouse.ingest.sources import KINDS

# Where people are named, per source kind: (user table, id column, email column).
USER_TABLES = (('raw_openwebui."user"', "id", "email"),
               ('raw_litellm."LiteLLM_UserTable"', "user_id", "user_email"))


@dataclass
class Erasure:
    erasure_id: str
    identifiers: int
    rows: dict[str, int] = field(default_factory=dict)  # "source.table" -> rows removed
    models_built: int = 0
    exports: list[Path] = field(default_factory=list)  # exports the person was taken out of

    @property
    def rows_removed(self) -> int:
        return sum(self.rows.values())


def forget(config: Config, who: str, requested_by: str, reason: str | None = None,
           wait: bool = False, progress=None) -> Erasure:
    who = who.strip()
    if not who:
        raise WarehouseError("--user needs a user id or email")
    found = models.discover(config.user_models)
    with publish.writing(config.db, wait, "forget", compact=True,
                         keep=config.keep) as con:
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
        _record(config.db, done.erasure_id, [h for (h,) in con.execute(
            f"SELECT id_hash FROM {erasure.ERASED_IDS} WHERE erasure_id = ?",
            [done.erasure_id]).fetchall()])
        run.built = pipeline._build(con, config, found, None, None, progress, full=True)
        done.models_built = len(run.built)
        con.execute(
            "INSERT INTO _warehouse.erasures VALUES (?, now(), ?, ?, ?, ?, ?)",
            [done.erasure_id, requested_by, reason, done.identifiers, done.rows_removed,
             json.dumps({"rows": done.rows, "models_rebuilt": done.models_built})])
        run.log(con)
    done.exports = export.export_again(config.db, config.output_mode,
                                       "the erasure is published", "the person")
    return done


def ledger_path(warehouse: Path) -> Path:
    return Path(warehouse).with_name(Path(warehouse).name + ".erasures")


def _record(warehouse: Path, erasure_id: str, hashes: list[str]) -> None:
    line = json.dumps({"erasure": erasure_id, "at": time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "id_hashes": sorted(hashes)})
    try:
        append_line(ledger_path(warehouse), line, sync=True)
    except OSError as exc:
        raise WarehouseError(f"cannot record the erasure in {ledger_path(warehouse)}: "
                             f"{exc.strerror}; nothing was changed") from None


def recorded(warehouse: Path) -> dict[str, str]:
    """id hash -> erasure id, for every erasure the ledger holds."""
    try:
        lines = ledger_path(warehouse).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        try:
            entry = json.loads(line)
            found.update(dict.fromkeys(entry["id_hashes"], entry["erasure"]))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a kill or a full disk: its erasure was not published
    return found


def reapply(con, warehouse: Path) -> int:
    """Every erasure of the ledger, again, in a restored copy: the hashes it lacks are
    added and matching rows leave every raw table. Returns the ids that were missing."""
    known = {h for (h,) in con.execute(f"SELECT id_hash FROM {erasure.ERASED_IDS}").fetchall()}
    missing = {h: e for h, e in recorded(warehouse).items() if h not in known}
    if missing:
        con.executemany(f"INSERT OR IGNORE INTO {erasure.ERASED_IDS} VALUES (?, ?)",
                        [[h, e] for h, e in missing.items()])
        for kind in KINDS.values():
            for spec in kind.tables:
                raw = f'raw_{kind.name}."{spec.name}"'
                if con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? "
                               "AND table_name = ?", [f"raw_{kind.name}", spec.name]
                               ).fetchone()[0]:
                    erasure.erase(con, raw, spec)
                    quarantine.drop_forgotten(con, raw, spec)
    return len(missing)


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
