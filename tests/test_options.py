"""Every report with every option, built from the declarations: each pair is honoured (the
answer differs from the same report without it) or refused with exit 1 and one line.
No pair is silently accepted.

One warehouse holds an Open WebUI source (sample chats, feedback, groups, chat tags, the
token-tracking plugin's tables, a price file in EUR) and a LiteLLM proxy whose oldest spend
logs were purged before they were copied (days served from its daily tables) and some more
after (kept, marked deleted); a chat and a rating were deleted after the first copy too.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest
from click.testing import CliRunner

from tests import litellm_source
from tests.conftest import SourceDB, _new_litellm_database
from tests.test_credits import write_plugin_tables
from tests.test_reports import invoke, report
from warehouse import config as configuration
from warehouse import demo, reports, sample
from warehouse.cli import cli
from warehouse.errors import WarehouseError
from warehouse.reports.catalog import REPORTS
from warehouse.reports.options import OPTIONS

TODAY = date(2026, 11, 1)  # the LiteLLM data's last day, and the sample's end
PURGED_BEFORE = date(2026, 10, 1)  # spend logs gone before the first copy
DELETED_BEFORE = date(2026, 10, 5)  # spend logs purged after it: kept, marked deleted
PURGED_WEEK = ("--since", "2026-09-20", "--until", "2026-09-27")

# The value each option is tried with (per report where one value cannot move them all).
VALUES = {
    "since": ["2026-10-13"], "until": ["2026-10-15"], "tz": ["Asia/Tokyo"],
    "group": ["Students"], "user": ["u002"], "model": ["gpt-4o"], "source": ["proxy"],
    "channel": ["api"], "tag": ["User-Agent: curl"], "tag_like": ["curl"],
    "exclude_deleted": [], "granularity": ["week"], "metric": ["tokens"],
    "by": ["model"], "cost": ["as-billed"], "currency": ["USD"], "mau_days": ["28"],
    "threshold": ["5"], "limit": ["1"], "page": ["2"], "page_size": ["3"],
    "compat": ["litellm"], "as_of": ["2026-10-20"], "compare": [], "offset": ["1"],
    "order_by": ["title"], "direction": ["asc"],
}
OVERRIDES = {
    ("keys", "source"): ["demo"], ("teams", "source"): ["demo"],
    ("tags", "source"): ["demo"], ("active-users", "source"): ["demo"],
    ("retention", "granularity"): ["month"], ("limits", "threshold"): ["30"],
    ("chats", "compat"): ["openwebui"],
    # LiteLLM's per-user figures come from the proxy alone: another source empties them
    ("users", "source"): ["demo"],
}
# What the runs with and without an option both carry, where the option only shows in a
# window, on a page or past a threshold (a later value of the same option wins).
CONTEXT = {"tz": ["--since", "2026-10-13", "--until", "2026-10-15"],
           "page_size": ["--page", "1"],
           "mau_days": ["--since", "2026-10-29", "--until", "2026-11-01"]}
REPORT_CONTEXT = {("chats", "exclude_deleted"): ["--limit", "1000"],
                  ("daily", "compare"): ["--since", "2026-10-13", "--until", "2026-10-15"],
                  # LiteLLM's per-user window: the 30 days up to --as-of
                  ("users", "as_of"): ["--as-of", "2026-10-25"],
                  ("feedback", "tz"): ["--since", "2026-10-01", "--until", "2026-11-01"],
                  ("retention", "tz"): ["--granularity", "day"]}
THRESHOLD = {"limits": ["--threshold", "1"]}  # someone is over 1 % of a limit


def flag(option: str) -> str:
    return OPTIONS[option].flag


@pytest.fixture(scope="module")
def warehouse_db(tmp_path_factory, pg_url, litellm_templates):
    folder = tmp_path_factory.mktemp("options")
    webui, config = demo.create(folder)
    data = sample.generate(seed=7)
    users = [u.id for u in data.users]
    write_plugin_tables(SourceDB("sqlite", f"sqlite:///{webui}", webui), users)
    with sqlite3.connect(webui) as conn:  # active once, with a model no price covers
        conn.execute('INSERT INTO "user" (id, name, email, role, created_at, updated_at, '
                     "last_active_at) VALUES ('u-once', 'Once', 'once@uni.example', 'user', "
                     "1700000000, 1700000000, 1700000000)")
        once = datetime(2026, 10, 1, 12, tzinfo=UTC).timestamp()
        chat = sample.Chat("c-once", "u-once", "once", [
            sample.Message("q", "user", "hello", int(once)),
            sample.Message("a", "assistant", "hi", int(once) + 5, model_id="llama3.1-70b",
                           usage={"input_tokens": 5, "output_tokens": 7}, parent_id="q")])
        conn.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, "
                     "archived, meta) VALUES (?, ?, ?, ?, ?, ?, 0, '{}')",
                     (chat.id, chat.user_id, chat.title, json.dumps(sample.chat_json(chat)),
                      chat.created_at, chat.updated_at))
        sample.insert_messages(conn.cursor(), "?", [(chat, m) for m in chat.messages])
    proxy_url = _new_litellm_database(pg_url, litellm_templates["current"])
    requests = litellm_source.generate(today=TODAY)
    import psycopg

    with psycopg.connect(proxy_url) as conn:
        litellm_source.write(conn, requests)
    proxy = SourceDB("postgres", proxy_url)
    proxy.execute('DELETE FROM "LiteLLM_SpendLogs" WHERE "startTime" < ?', (PURGED_BEFORE,))
    config.write_text(config.read_text() + f'\n[sources.proxy]\nkind = "litellm"\n'
                      f'url = "{proxy_url}"\n')
    invoke("--config", str(config), "run")
    # deleted after the first copy: the warehouse keeps them, marked deleted
    proxy.execute('DELETE FROM "LiteLLM_SpendLogs" WHERE "startTime" < ?', (DELETED_BEFORE,))
    with sqlite3.connect(webui) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        chat = conn.execute("SELECT chat_id FROM chat_message WHERE model_id = 'gpt-4o' "
                            "ORDER BY created_at LIMIT 1").fetchone()[0]
        conn.execute("DELETE FROM chat WHERE id = ?", (chat,))
        conn.execute("DELETE FROM feedback WHERE id = (SELECT min(id) FROM feedback)")
    invoke("--config", str(config), "run")
    return config, requests


def answer(config, name: str, *args: str):
    result = CliRunner().invoke(cli, ["--config", str(config), "report", name, *args,
                                      "--format", "json"])
    return result


def rows(config, name: str, *args: str) -> list[dict]:
    result = answer(config, name, *args)
    assert result.exit_code == 0 and "Traceback" not in result.output, (name, args,
                                                                        result.output)
    return json.loads(result.stdout)


def pairs():
    for name, spec in REPORTS.items():
        for mode in (None, *spec.compat):
            for option in OPTIONS:
                if option != "compat" or mode is None:
                    yield name, mode, option


@pytest.mark.parametrize(("name", "mode", "option"), list(pairs()),
                         ids=lambda v: str(v) if v is not None else "plain")
def test_each_option_is_honoured_or_refused(warehouse_db, name, mode, option):
    config, _ = warehouse_db
    spec = REPORTS[name]
    values = OVERRIDES.get((name, option), VALUES[option])
    given = [flag(option), *values]
    compat = ["--compat", mode] if mode else []
    context = REPORT_CONTEXT.get((name, option), CONTEXT.get(option, []))
    context = [*THRESHOLD.get(name, []), *context]
    if mode == "litellm" and name in ("active-users", "users") and option != "as_of":
        context += ["--as-of", "2026-10-20"]  # LiteLLM's windows end at 'today'
    if option not in spec.honoured(mode):
        result = answer(config, name, *compat, *given)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 1 and len(lines) == 1, (result.exit_code, result.output)
        assert f"does not take {flag(option)}" in lines[0], lines[0]
        return
    base = rows(config, name, *compat, *context)
    with_option = rows(config, name, *compat, *context, *given)
    assert base, "the dataset must give the report rows without the option"
    assert with_option != base, f"{flag(option)} {values} changed nothing"


def test_tag_filters_count_purged_litellm_days(warehouse_db):
    """Spend logs purged before they were copied are counted from LiteLLM's daily
    tables; a --tag filter counts them from its daily tag table."""
    config, data = warehouse_db
    start, end = date(2026, 9, 20), date(2026, 9, 27)
    tag = "User-Agent: curl"
    want = sum(1 for r in data.requests if start <= r.start.date() < end and tag in r.tags)
    assert want > 0
    assert all(r.start.date() < PURGED_BEFORE for r in data.requests
               if start <= r.start.date() < end)
    summary = rows(config, "summary", "--source", "proxy", "--tag", tag, *PURGED_WEEK)
    assert summary[0]["total_messages"] == want
    per_user = rows(config, "users", "--source", "proxy", "--tag", tag, *PURGED_WEEK,
                    "--limit", "1000")
    assert sum(r["count"] for r in per_user) == want
    # chats: LiteLLM's requests belong to none; retention: cohorts starting that week
    # (LiteLLM's users started before)
    for name, spec in REPORTS.items():
        if "tag" in spec.options and name not in ("chats", "retention"):
            assert rows(config, name, "--tag", tag, *PURGED_WEEK), name


def test_misspelt_values_get_suggestions(warehouse_db):
    config, _ = warehouse_db
    for args, hint in ((["summary", "--model", "gpt4o"], "did you mean gpt-4o"),
                       (["summary", "--source", "prxy"], "did you mean proxy"),
                       (["summary", "--group", "Studnts"], "did you mean Students"),
                       (["summary", "--tag", "User-Agent: curll"], "did you mean"),
                       (["daily", "--granularity", "wek"], "did you mean week"),
                       (["user"], "did you mean users"),
                       (["summary", "--format", "jsn"], "did you mean json")):
        result = CliRunner().invoke(cli, ["--config", str(config), "report", *args])
        lines = result.output.strip().splitlines()
        assert result.exit_code == 1 and len(lines) == 1 and hint in lines[0], result.output


def test_values_are_case_insensitive_and_the_api_takes_the_cli_names(warehouse_db):
    import warehouse

    config, _ = warehouse_db
    assert rows(config, "daily", "--granularity", "WEEK", "--since", "2026-10-13") == \
        rows(config, "daily", "--granularity", "week", "--since", "2026-10-13")
    upper = CliRunner().invoke(cli, ["--config", str(config), "report", "summary",
                                     "--format", "JSON"])
    assert upper.exit_code == 0 and json.loads(upper.stdout)
    with warehouse.open(config.parent / "usage.duckdb") as wh:
        frame = wh.report("users", since=date(2026, 10, 13),
                          until=datetime(2026, 10, 15), tag=["User-Agent: curl"],
                          exclude_deleted=True, limit=1000)
        cli_rows = rows(config, "users", "--since", "2026-10-13", "--until", "2026-10-15",
                        "--tag", "User-Agent: curl", "--exclude-deleted", "--limit", "1000")
        assert frame["user_id"].to_list() == [r["user_id"] for r in cli_rows]
        with pytest.raises(WarehouseError, match="did you mean tag"):
            wh.report("summary", tags=["x"])
        with pytest.raises(WarehouseError, match="does not take --limit"):
            wh.report("daily", limit=2)
    assert warehouse.__version__.count(".") >= 2


def test_litellm_windows_end_at_as_of_and_say_so_when_empty(warehouse_db):
    config, _ = warehouse_db
    result = answer(config, "active-users", "--compat", "litellm")
    # 'today' is after the data: no daily rows, and the answer says why
    assert "dau" not in {r["metric"] for r in json.loads(result.stdout)}
    assert "pass --as-of" in result.stderr
    got = rows(config, "active-users", "--compat", "litellm", "--as-of", "2026-10-20")
    dau = sorted({r["date"] for r in got if r["metric"] == "dau"})
    assert dau[-1] == "2026-10-21" and dau[0] == (date(2026, 10, 21)
                                                  - timedelta(days=7)).isoformat()


def test_user_answers_agree_on_cost_and_carry_names(warehouse_db):
    config, _ = warehouse_db
    users = {r["user_id"]: r for r in rows(config, "users", "--limit", "1000")}
    costs = {r["user"]: r for r in rows(config, "costs", "--by", "user",
                                        "--granularity", "all", "--limit", "1000")}
    assert set(users) == set(costs)
    for user_id, row in costs.items():
        assert (users[user_id]["billed_cost"], users[user_id]["repriced_cost"],
                users[user_id]["currency"]) == (row["billed_cost"], row["repriced_cost"],
                                                row["currency"])
        assert (users[user_id]["name"], users[user_id]["email"]) == (row["name"],
                                                                     row["email"])
    assert any(r["repriced_cost"] for r in costs.values())
    spend = rows(config, "users", "--metric", "spend", "--cost", "repriced", "--limit", "5")
    ranked = sorted((r["repriced_cost"] or 0 for r in costs.values()), reverse=True)[:5]
    assert [r["repriced_cost"] or 0 for r in spend] == ranked


def test_distinct_counts_by_keys_equal_those_by_ids(warehouse_db, tmp_path, monkeypatch):
    """summary and models count distinct chats, users and models by the ids' keys
    (*_by_keys.sql); on a copy without the keys (a file built before them) they count the
    ids (their own files): the same figures under every filter, on whole hours and off
    them, with LiteLLM's purged days counted from its daily tables."""
    config, _ = warehouse_db
    db = configuration.load(str(config), None).db
    before_keys = tmp_path / "before-keys.duckdb"
    shutil.copy(db, before_keys)
    con = duckdb.connect(str(before_keys))
    for table, keys in (("core.usage_events", "chat_key, user_key, model_key"),
                        ("marts.usage_hourly", "chat_key, user_key, model_key"),
                        ("marts.tag_hourly", "user_key, model_key")):
        for key in keys.split(", "):
            con.execute(f"ALTER TABLE {table} DROP COLUMN {key}")
    for table in ("chat_keys", "user_keys", "model_keys"):
        con.execute(f"DROP TABLE core.{table}")
    con.close()
    read = []
    original = reports._sql
    monkeypatch.setattr(reports, "_sql", lambda file: read.append(file) or original(file))
    asked = [[], ["--since", "2026-10-13", "--until", "2026-10-15", "--tz", "Asia/Kolkata"],
             ["--tag", "User-Agent: curl", *PURGED_WEEK], ["--source", "proxy", *PURGED_WEEK],
             ["--tag-like", "curl"], ["--exclude-deleted"]]
    asked += [[flag(o), *VALUES[o]] for o in ("since", "until", "group", "user", "model",
                                             "source", "channel", "tz")]
    counted = []
    for options in asked:
        for name, more in (("summary", []), ("models", ["--limit", "1000"])):
            read.clear()
            by_keys = report(db, name, *options, *more)
            assert f"{name}_by_keys.sql" in read and f"{name}.sql" not in read, (name, options)
            read.clear()
            by_ids = report(before_keys, name, *options, *more)
            assert f"{name}.sql" in read, (name, options)
            assert by_keys == by_ids, (name, options)
            counted += by_keys
    assert all(any(r.get(c) for r in counted) for c in (
        "total_chats", "total_users", "total_models", "unique_users", "unique_chats"))
