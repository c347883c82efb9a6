"""`warehouse forget`: a person's rows leave every layer, stay out of later ingests, and
the erasure is recorded without the person."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import duckdb
import pytest
from click.testing import CliRunner

from tests import expected, litellm_source
from tests.test_reports import invoke, report
from warehouse import sample
from warehouse.cli import cli


def mentions(db, needles: list[str]) -> list[tuple[str, int]]:
    """Every column of every table and view, in every schema, whose text holds a needle
    (any case): where the warehouse still names the person."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        relations = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
            "current_database() UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal").fetchall()
        found = []
        for schema, table in relations:
            name = f'"{schema}"."{table}"'
            columns = [d[0] for d in con.execute(f"SELECT * FROM {name} LIMIT 0").description]
            for column in columns:
                hits = con.execute(
                    f'SELECT count(*) FROM {name} WHERE list_has_any(?, [lower("{column}"::'
                    "VARCHAR)]) OR " + " OR ".join(
                        f'contains(lower("{column}"::VARCHAR), ?)' for _ in needles),
                    [needles, *needles]).fetchone()[0]
                if hits:
                    found.append((f"{schema}.{table}.{column}", hits))
        return found
    finally:
        con.close()


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def campus(make_source, tmp_path):
    data = sample.generate(seed=11, users=6, days=20, chats_per_user=5,
                           end=datetime(2026, 10, 1, tzinfo=UTC))
    src = make_source(data, "sqlite")
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    invoke("--db", str(db), "build")
    return data, src, db


def test_forget_removes_a_person_everywhere_and_for_good(campus):
    data, src, db = campus
    victim = data.users[2]
    # a shared-chat copy (databases before April 2026) of one of the victim's chats
    chat = next(c for c in data.chats if c.user_id == victim.id)
    src.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at) "
                "VALUES (?, ?, ?, '{}', 1759000000, 1759000000)",
                ("share-1", f"shared-{chat.id}", chat.title))
    # a value SQLite let in that does not fit: listed in the quarantine under the
    # message's id (which holds the chat id), an entry the erasure must take too
    src.execute("UPDATE chat_message SET created_at = 'not a time', updated_at = "
                "(SELECT max(updated_at) + 10 FROM chat_message) WHERE chat_id = ?",
                (chat.id,))
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    invoke("--db", str(db), "build")
    assert "not a BIGINT" in invoke("--db", str(db), "status")
    needles = [victim.id.lower(), victim.email.lower(), chat.id.lower()]
    assert mentions(db, needles)  # the check can see the person before
    others = [u for u in report(db, "users", "--limit", "1000") if u["user_id"] != victim.id]

    out = invoke("--db", str(db), "forget", "--user", victim.email.upper(), "--yes",
                 "--requested-by", "dpo@uni.example", "--reason", "ticket 7")
    assert out.startswith(f"forgot {victim.email.upper()}: removed ")

    assert mentions(db, needles) == []
    assert victim.email.encode() not in db.read_bytes()  # no freed page keeps it
    kept = [(c, m) for c, m in expected.rows(data) if c.user_id != victim.id]
    assert report(db, "summary")[0] == expected.summary(kept)
    assert report(db, "users", "--limit", "1000") == others
    con = duckdb.connect(str(db), read_only=True)
    (requested_by, reason, identifiers, removed, details), = con.execute(
        "SELECT requested_by, reason, identifiers, rows_removed, details "
        "FROM _warehouse.erasures").fetchall()
    con.close()
    details = json.loads(details)
    assert (requested_by, reason, identifiers) == ("dpo@uni.example", "ticket 7", 2)
    victim_chats = [c for c in data.chats if c.user_id == victim.id]
    assert details["rows"]["campus.chat"] == len(victim_chats) + 1  # and the shared copy
    assert details["rows"]["campus.chat_message"] == sum(len(c.messages) for c in victim_chats)
    assert details["rows"]["campus.user"] == 1 and removed == sum(details["rows"].values())
    assert "Erasures" in invoke("--db", str(db), "status")

    # The source still holds the person: neither an incremental nor a full re-copy
    # brings them back.
    for extra in ([], ["--full-refresh"]):
        invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus", *extra)
        invoke("--db", str(db), "build")
        assert mentions(db, needles) == []
        assert report(db, "summary")[0] == expected.summary(kept)


def test_forgetting_nobody_changes_nothing(campus):
    _, _, db = campus
    before = sha(db)
    for args, message in ((["--user", "nobody@nowhere.example", "--yes"],
                           "--user 'nobody@nowhere.example': no user with that id or email"),
                          (["--user", "u001"], "pass --yes to confirm")):
        result = CliRunner().invoke(cli, ["--db", str(db), "forget", *args])
        assert result.exit_code == 1, result.output
        assert message in result.output and len(result.output.strip().splitlines()) == 1
        assert sha(db) == before


def test_forget_takes_a_person_out_of_legacy_group_lists(make_source, tmp_path):
    data = sample.generate(seed=5, users=6, days=10, chats_per_user=3,
                           end=datetime(2026, 10, 1, tzinfo=UTC))
    src = make_source(data, "sqlite", legacy=True)  # group.user_ids, no chat_message
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "old")
    invoke("--db", str(db), "build")
    group = next(g for g in data.groups if len(g.members) >= 2 and not g.parent_id)
    victim = group.members[0]
    invoke("--db", str(db), "forget", "--user", victim, "--yes")
    assert mentions(db, [victim]) == []
    con = duckdb.connect(str(db), read_only=True)
    members = json.loads(con.execute('SELECT user_ids FROM raw_openwebui."group" '
                                     "WHERE id = ?", [group.id]).fetchone()[0])
    con.close()
    assert members == group.members[1:]
    kept = [(c, m) for c, m in expected.rows(data, group=group.name) if c.user_id != victim]
    assert report(db, "summary", "--group", group.name)[0] == expected.summary(kept)


def test_forget_reaches_litellm_users_and_keeps_their_keys(make_litellm, tmp_path):
    lite = litellm_source.generate(days=10)
    victim, email = "llm-u2", lite.users["llm-u2"]
    src = make_litellm(lite)
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--kind", "litellm", "--name", "proxy")
    invoke("--db", str(db), "build")
    keys = [k.alias for k in lite.keys if k.user_id == victim and k.alias and not k.deleted]
    assert keys and mentions(db, [victim, email.lower()])

    invoke("--db", str(db), "forget", "--user", email, "--yes")
    assert mentions(db, [victim, email.lower()]) == []
    kept = [r for r in lite.requests if r.user != victim and r.end_user not in (victim, email)]
    assert report(db, "summary")[0]["total_messages"] == len(kept)
    con = duckdb.connect(str(db), read_only=True)
    owners = dict(con.execute("SELECT key_alias, user_id FROM core.api_keys").fetchall())
    con.close()
    for alias in keys:  # the key stays (its team's figures), its owner does not
        assert alias in owners and owners[alias] is None

    invoke("--db", str(db), "ingest", "--url", src.url, "--kind", "litellm", "--name", "proxy")
    invoke("--db", str(db), "build")
    assert mentions(db, [victim, email.lower()]) == []
    assert report(db, "summary")[0]["total_messages"] == len(kept)


def test_pseudonymize_hides_names_and_emails_in_reports_marts_and_the_dashboard(
        make_source, make_litellm, tmp_path):
    from datetime import timedelta

    from tests.litellm_source import Request
    from warehouse.reports import REPORTS

    webui = sample.generate(seed=8, users=5, days=10, chats_per_user=3,
                            end=datetime.combine(litellm_source.today_utc(),
                                                 datetime.min.time(), tzinfo=UTC))
    lite = litellm_source.generate(days=10)
    partner = "jane.partner@partner.example"  # a caller named only by an email
    lite.requests.append(Request(
        "req-partner", "", "", partner, None, "gpt-4o", "gpt-4o-2024-08-06", "openai",
        datetime.combine(litellm_source.today_utc(), datetime.min.time())
        - timedelta(hours=20), 800, 10, 20, 0.0001, [], "success"))
    config = tmp_path / "warehouse.toml"
    config.write_text(
        f'[warehouse]\ndb = "usage.duckdb"\npseudonymize = true\n'
        f'[sources.campus]\nurl = "{make_source(webui, "sqlite").url}"\n'
        f'[sources.proxy]\nkind = "litellm"\nurl = "{make_litellm(lite).url}"\n')
    invoke("--config", str(config), "run")
    secrets = ([u.name.lower() for u in webui.users] + [u.email for u in webui.users]
               + list(lite.users.values()) + [partner])

    def shown(*args) -> str:
        return invoke("--config", str(config), *args).lower()

    outputs = [shown("report", name, "--format", "json") for name in REPORTS]
    outputs += [shown("report", "users", "--source", "proxy", "--format", "json"),
                shown("report", "costs", "--by", "user", "--format", "json")]
    dashboard = tmp_path / "d.html"
    shown("dashboard", "--output", str(dashboard))
    outputs.append(dashboard.read_text().lower())
    for text in outputs:
        assert not [s for s in secrets if s in text]

    def rows(*args) -> list[dict]:  # notes go to standard error
        result = CliRunner().invoke(cli, ["--config", str(config), "report", *args,
                                          "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    users = rows("users")
    assert all((u["name"] or "user-").startswith("user-")
               and (u["email"] or "@pseudonymized.invalid").endswith("@pseudonymized.invalid")
               for u in users)
    assert sum(1 for u in users if u["email"]) >= len(webui.users)
    chats = rows("chats")
    names = {u["user_id"]: u["name"] for u in users}
    assert all(c["user_name"] == names[c["user_id"]] for c in chats)
    # the admin still filters with the real email; figures are the real ones
    first = webui.users[0]
    mine = rows("users", "--user", first.email)
    assert [u["count"] for u in mine] == [
        len([1 for c, _ in expected.rows(webui) if c.user_id == first.id])]
    import warehouse

    with warehouse.open(tmp_path / "usage.duckdb") as wh:
        ids = set(wh.mart("usage_hourly")["user_id"].drop_nulls())
    assert partner not in ids and any(i.startswith("user-") for i in ids)
    # stable: the same pseudonyms after a full rebuild
    invoke("--config", str(config), "build", "--full")
    assert rows("users") == users
