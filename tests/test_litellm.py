"""LiteLLM proxy source: a real PostgreSQL with LiteLLM's own migrations, generated spend
logs and daily tables consistent with them; every report against figures computed
independently (tests/expected_litellm.py) or by SQL run on that PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests import expected_litellm as expected
from tests import litellm_source
from tests.litellm_source import Request
from tests.test_reports import invoke, report

PURGE_DAYS = 50  # LiteLLM's retention removed spend logs older than this before ingest


def purge_spend_logs(src, before) -> None:
    src.execute('DELETE FROM "LiteLLM_SpendLogs" WHERE "startTime" < ?', (before,))


@pytest.fixture
def proxy(make_litellm, tmp_path):
    """A LiteLLM database whose oldest spend logs were purged, ingested and built."""
    data = litellm_source.generate()
    today = litellm_source.today_utc()
    purged_before = today - timedelta(days=PURGE_DAYS)
    # Rows a warehouse must survive: no key and no user, implausible token counts.
    edge_day = datetime.combine(today - timedelta(days=3),
                                               datetime.min.time())
    data.requests += [
        Request("req-nokey", "", "", None, None, "gpt-4o", "gpt-4o-2024-08-06", "openai",
                edge_day + timedelta(hours=5), 900, 10, 20, 0.0001, [], "success"),
        Request("req-negative", data.keys[0].token, data.keys[0].user_id, None,
                data.keys[0].team_id, "gpt-4o", "gpt-4o-2024-08-06", "openai",
                edge_day + timedelta(hours=6), 900, -5, 20, 0.0002,
                ["User-Agent: curl", "User-Agent: curl/8.5.0"], "success"),
        Request("req-absurd", data.keys[1].token, data.keys[1].user_id, None,
                data.keys[1].team_id, "gpt-4o", "gpt-4o-2024-08-06", "openai",
                edge_day + timedelta(hours=7), 900, 12, 2_000_000_000, 0.0003,
                ["batch-jobs"], "success"),
    ]
    src = make_litellm(data)
    purge_spend_logs(src, purged_before)
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--kind", "litellm", "--name", "proxy")
    invoke("--db", str(db), "build")
    return data, db, src, purged_before


def money(value) -> float:
    """Spend to the micro-dollar: the warehouse sums exact decimals, the expectation sums
    floats, so the two may differ in the last place."""
    return pytest.approx(float(value), abs=2e-6)


def test_keys_and_teams_count_every_request_including_deleted_and_purged(proxy):
    data, db, _, _ = proxy
    want = expected.keys(data)
    rows = report(db, "keys")
    got = {r["api_key_hash"] or "": r for r in rows}
    assert set(got) == set(want)
    for token, row in want.items():
        assert {k: money(got[token][k]) if k == "total_spend" else got[token][k]
                for k in row} == row, token
    deleted = next(k for k in data.keys if k.deleted)
    assert got[deleted.token]["key_alias"] == deleted.alias
    assert got[deleted.token]["deleted_in_source"] is True
    assert got[""]["key_alias"] is None  # the request made without a key

    teams = {r["team_id"]: r for r in report(db, "teams")}
    for team, row in expected.teams(data).items():
        assert {k: money(teams[team][k]) if k == "total_spend" else teams[team][k]
                for k in row} == row, team
    assert teams["team-gone"]["team_alias"] == "Dissolved team"
    assert teams["team-gone"]["deleted_in_source"] is True


def test_purged_spend_log_days_come_from_the_daily_tables(proxy):
    data, db, _, purged_before = proxy
    day = purged_before - timedelta(days=5)
    want = [r for r in data.requests if r.start.date() == day]
    assert want, "the purged range must hold requests"
    got = report(db, "summary", "--since", day.isoformat(),
                 "--until", (day + timedelta(days=1)).isoformat())[0]
    assert got["total_messages"] == len(want)
    assert got["total_tokens"] == sum(r.prompt_tokens + r.completion_tokens for r in want)
    daily = report(db, "daily", "--since", (day - timedelta(days=2)).isoformat(),
                   "--until", (day + timedelta(days=2)).isoformat(), "--channel", "api")
    per_day = {}
    for r in daily:
        per_day[r["date"]] = per_day.get(r["date"], 0) + r["count"]
    for offset in range(-2, 2):
        d = day + timedelta(days=offset)
        assert per_day[d.isoformat()] == sum(1 for r in data.requests if r.start.date() == d)


def test_tags_report_matches_independent_figures(proxy):
    data, db, _, purged_before = proxy
    want = expected.tags(data, purged_before)
    rows = report(db, "tags")
    assert [r["tag"] for r in rows] == sorted(
        want, key=lambda t: (-want[t]["total_requests"], t))
    for r in rows:
        tag = r.pop("tag")
        want[tag]["total_spend"] = money(want[tag]["total_spend"])
        assert r == want[tag], tag
    only = report(db, "tags", "--tag", "batch-jobs", "--tag", "project:alpha")
    assert {r["tag"] for r in only} == {"batch-jobs", "project:alpha"}
    like = report(db, "tags", "--tag-like", "CURL")
    assert {r["tag"] for r in like} == {"User-Agent: curl", "User-Agent: curl/8.5.0"}


def test_users_report_gives_litellm_per_user_analytics_with_pages(proxy):
    data, db, _, purged_before = proxy
    want = expected.users(data, purged_before)
    rows = report(db, "users", "--source", "proxy", "--limit", "1000")
    assert len(rows) == len(want)
    for r in rows:
        row = want[r["user_id"]]
        # LiteLLM's spend is the cost as billed, the figure the costs report shows too
        assert r["currency"] == "USD"
        got = {**r, "total_spend": r["billed_cost"]}
        assert {k: money(got[k]) if k == "total_spend" else got[k] for k in row} == row
    assert rows[0]["name"] == rows[0]["user_id"].upper()  # LiteLLM's user_alias
    ranked = report(db, "users", "--metric", "successful", "--limit", "1000")
    assert [r["successful_requests"] for r in ranked] == sorted(
        (u["successful_requests"] for u in want.values()), reverse=True)
    page2 = report(db, "users", "--metric", "successful", "--page", "2", "--page-size", "3")
    assert page2 == ranked[3:6]


def test_active_users_in_time_zones_match_an_independent_computation(proxy):
    data, db, _, purged_before = proxy
    today = litellm_source.today_utc()
    first, last = today - timedelta(days=13), today - timedelta(days=1)
    for tz in ("Europe/Berlin", "America/Los_Angeles"):
        opts = ["--since", first.isoformat(), "--until", (last + timedelta(days=1)).isoformat(),
                "--tz", tz]
        got = {r["date"]: (r["dau"], r["wau"], r["mau"])
               for r in report(db, "active-users", *opts)}
        assert got == expected.active_users(data, purged_before, first, last, tz)
        by_tag = report(db, "active-users", *opts, "--by", "tag", "--mau-days", "28")
        curl = {r["date"]: (r["dau"], r["wau"], r["mau"]) for r in by_tag
                if r["tag"] == "User-Agent: curl"}
        assert curl == expected.active_users(data, purged_before, first, last, tz,
                                             mau_days=28, tag="User-Agent: curl")
        stickiness = {r["date"]: r["stickiness"] for r in report(db, "active-users", *opts)}
        assert all(stickiness[d] == round(dau / mau, 4) for d, (dau, _, mau) in got.items())


@pytest.mark.parametrize("granularity", ["week", "month"])
def test_retention_cohorts(proxy, granularity):
    data, db, _, purged_before = proxy
    rows = report(db, "retention", "--granularity", granularity)
    got = {(r["cohort"], r["period"]): r["active_users"] for r in rows}
    assert got == expected.retention(data, purged_before, granularity)
    sizes = {r["cohort"]: r["cohort_size"] for r in rows}
    assert all(got[(c, 0)] == size for c, size in sizes.items())
    assert max(r["period"] for r in rows) >= 2


def test_local_days_count_each_request_once(proxy):
    """LiteLLM's fixed UTC dates can count a day twice at window edges (#27780): here
    every request falls in exactly one local day of the report's zone."""
    data, db, _, _ = proxy
    today = litellm_source.today_utc()
    first, last = today - timedelta(days=12), today - timedelta(days=2)
    opts = ["--since", first.isoformat(), "--until", (last + timedelta(days=1)).isoformat(),
            "--tz", "America/Los_Angeles", "--channel", "api"]
    got: dict[str, int] = {}
    for r in report(db, "daily", *opts):
        got[r["date"]] = got.get(r["date"], 0) + r["count"]
    want = expected.requests_per_local_day(data, first, last, "America/Los_Angeles")
    assert got == want
    assert report(db, "summary", *opts)[0]["total_messages"] == sum(want.values())


# LiteLLM's tag analytics (user_agent_analytics_endpoints.py), written out here as
# PostgreSQL queries following its documented semantics (SOURCES.md), and run on the
# very database the warehouse copied.
PG_TAG_SUMMARY = """
select t.tag, count(distinct k.user_id), sum(t.api_requests), sum(t.successful_requests),
       sum(t.failed_requests), sum(t.prompt_tokens + t.completion_tokens), sum(t.spend)
from "LiteLLM_DailyTagSpend" t left join "LiteLLM_VerificationToken" k on k.token = t.api_key
where t.date >= %(start)s and t.date <= %(end)s
group by t.tag
"""
PG_ACTIVE = """
with u as (
  select t.tag, t.date, k.user_id, (%(end_day)s::date - t.date::date) / %(days)s as bucket
  from "LiteLLM_DailyTagSpend" t join "LiteLLM_VerificationToken" k on k.token = t.api_key
  where k.user_id is not null and t.date >= %(start)s and t.date <= %(end)s
)
select tag, case when %(days)s = 1 then date
  else to_char(%(end_day)s::date - bucket * %(days)s - (%(days)s - 1), 'YYYY-MM-DD') end,
  count(distinct user_id)
from u where bucket < %(buckets)s group by 1, 2
"""


def test_compat_litellm_equals_litellms_own_queries_on_postgres(proxy):
    data, db, src, _ = proxy
    today = litellm_source.today_utc()
    end = today + timedelta(days=1)
    start = today - timedelta(days=20)
    with psycopg.connect(src.url) as conn:
        summary = {row[0]: (row[1], int(row[2]), int(row[3]), int(row[4]), int(row[5]),
                            money(row[6]))
                   for row in conn.execute(PG_TAG_SUMMARY, {
                       "start": start.isoformat(), "end": (today - timedelta(days=1)).isoformat()
                   }).fetchall()}
        active = {}
        for metric, days, buckets, span in (("dau", 1, 8, 8), ("wau", 7, 7, 49),
                                            ("mau", 30, 7, 210)):
            rows = conn.execute(PG_ACTIVE, {
                "end": end.isoformat(), "end_day": end,
                "start": (end - timedelta(days=span - 1)).isoformat(),
                "days": days, "buckets": buckets}).fetchall()
            active.update({(metric, tag, label): n for tag, label, n in rows})
    got = report(db, "tags", "--compat", "litellm", "--since", start.isoformat(),
                 "--until", today.isoformat())
    assert {r["tag"]: (r["unique_users"], r["total_requests"], r["successful_requests"],
                       r["failed_requests"], r["total_tokens"], r["total_spend"])
            for r in got} == summary
    got_active = report(db, "active-users", "--compat", "litellm")
    assert {(r["metric"], r["tag"], r["date"] if r["metric"] == "dau" else r["period_start"]):
            r["active_users"] for r in got_active} == active
    assert any(r["date"].startswith("Week 7 (") for r in got_active)
    # LiteLLM loses the user of a deleted key; the warehouse's own figures keep it.
    deleted = next(k for k in data.keys if k.deleted)
    assert deleted.user_id not in {k.user_id for k in data.keys if not k.deleted}
    honest = {r["tag"]: r["unique_users"] for r in report(
        db, "tags", "--since", start.isoformat(), "--until", today.isoformat())}
    assert any(honest[t] > summary[t][0] for t in summary if t in honest)


def test_incremental_run_keeps_deleted_keys_and_purged_logs(proxy):
    data, db, src, purged_before = proxy
    today = litellm_source.today_utc()
    victim = data.keys[5]
    new_start = datetime.now(UTC).replace(tzinfo=None)
    new = [Request(f"req-new-{i}", victim.token, victim.user_id or "", None, victim.team_id,
                   "gpt-4o", "gpt-4o-2024-08-06", "openai", new_start - timedelta(minutes=i),
                   500, 100, 50, 0.001, ["User-Agent: curl", "User-Agent: curl/8.5.0"],
                   "success") for i in range(3)]
    data.requests += new
    with psycopg.connect(src.url) as conn:
        litellm_source.insert_requests(conn, new)
        litellm_source.write_daily(conn, data)
        # LiteLLM deletes the key (newer versions copy it to the deleted-keys table)
        conn.execute('DELETE FROM "LiteLLM_VerificationToken" WHERE token = %s',
                     (victim.token,))
        # and retention purges ten more days, already copied by the warehouse
        conn.execute('DELETE FROM "LiteLLM_SpendLogs" WHERE "startTime" < %s',
                     (purged_before + timedelta(days=10),))
    out = invoke("--db", str(db), "ingest", "--url", src.url, "--kind", "litellm",
                 "--name", "proxy")
    assert "LiteLLM_SpendLogs: incremental" in out
    invoke("--db", str(db), "build")
    got = {r["api_key_hash"] or "": r for r in report(db, "keys")}
    assert got[victim.token]["key_alias"] == victim.alias
    assert got[victim.token]["deleted_in_source"] is True
    for token, row in expected.keys(data).items():
        assert got[token]["total_requests"] == row["total_requests"], token
    # copied logs purged later stay events; only never-copied days come from aggregates
    assert report(db, "summary")[0]["total_messages"] == len(data.requests)
    assert report(db, "summary", "--exclude-deleted", "--since",
                  (purged_before + timedelta(days=10)).isoformat(),
                  "--until", today.isoformat())[0]["total_messages"] == sum(
        1 for r in data.requests
        if purged_before + timedelta(days=10) <= r.start.date() < today)


def test_older_litellm_without_deleted_tables(make_litellm, tmp_path):
    data = litellm_source.generate(days=10)
    for key in data.keys:
        key.deleted = False
    data.deleted_teams = set()
    src = make_litellm(data, version="2025-11")
    db = tmp_path / "usage.duckdb"
    ingest = ("--db", str(db), "ingest", "--url", src.url, "--kind", "litellm")
    invoke(*ingest)
    src.execute('DELETE FROM "LiteLLM_VerificationToken" WHERE token = ?',
                (data.keys[0].token,))
    invoke(*ingest)
    invoke("--db", str(db), "build")
    got = {r["api_key_hash"]: r for r in report(db, "keys")}
    assert got[data.keys[0].token]["key_alias"] == data.keys[0].alias
    assert got[data.keys[0].token]["deleted_in_source"] is True
    assert report(db, "summary")[0]["total_messages"] == len(data.requests)


def test_edge_rows_are_counted_with_documented_handling(proxy):
    data, db, _, _ = proxy
    events = invoke("--db", str(db), "query", "--format", "csv",
                    "select message_id, user_id, input_tokens, output_tokens from "
                    "core.usage_events where message_id in "
                    "('req-nokey', 'req-negative', 'req-absurd') order by 1")
    assert events.splitlines()[1:] == [
        "req-absurd,llm-u2,12,", f"req-negative,{data.keys[0].user_id},,20",
        "req-nokey,,10,20"]


def test_sources_that_are_not_litellm_are_refused(proxy, make_source, pg_url, tmp_path):
    from tests.conftest import PG_PASSWORD
    from tests.test_errors import snapshot
    from warehouse import sample

    _, db, _, _ = proxy
    webui = make_source(sample.generate(seed=2, users=2, days=2, chats_per_user=1), "postgres")
    for url in (webui.url, pg_url):
        before = snapshot(db)
        message = fail_ingest(db, url)
        assert "is not a LiteLLM proxy database: it has no table 'LiteLLM_SpendLogs'" \
            in message
        assert PG_PASSWORD not in message
        assert snapshot(db) == before
    sqlite_file = tmp_path / "webui.db"
    sqlite_file.write_bytes(b"")
    message = fail_ingest(db, f"sqlite:///{sqlite_file}")
    assert "a LiteLLM proxy database is kept in PostgreSQL, not in SQLite" in message


def fail_ingest(db, url: str) -> str:
    from tests.test_errors import fail

    return fail("--db", str(db), "ingest", "--url", url, "--kind", "litellm")


def test_a_spend_log_table_without_a_required_column_is_named(make_litellm, tmp_path):
    from tests.test_errors import fail

    src = make_litellm(litellm_source.generate(days=2))
    src.execute('ALTER TABLE "LiteLLM_SpendLogs" DROP COLUMN request_tags')
    db = tmp_path / "usage.duckdb"
    message = fail("--db", str(db), "ingest", "--url", src.url, "--kind", "litellm")
    assert "table LiteLLM_SpendLogs has no column 'request_tags'" in message
    assert not db.exists()


BAD_REPORT_OPTIONS = [
    (["report", "tags", "--tag", "User-Agent: lynx"], "--tag 'User-Agent: lynx'"),
    (["report", "tags", "--compat", "litellm", "--tz", "Europe/Berlin"],
     "report tags --compat litellm does not take --tz"),
    (["report", "tags", "--compat", "langfuse"], "--compat 'langfuse' is not one of litellm"),
    (["report", "keys", "--compat", "litellm"], "report keys does not take --compat"),
    (["report", "active-users", "--by", "weekday"], "--by 'weekday'"),
    (["report", "active-users", "--mau-days", "31"], "--mau-days 31"),
    (["report", "users", "--page", "0"], "--page must be a positive number"),
    (["report", "tags", "--page", "2"], "report tags does not take --page"),
    (["report", "retention", "--granularity", "hour"], "--granularity 'hour'"),
    (["report", "summary", "--channel", "email"], "--channel 'email'"),
]


def test_bad_report_options_are_one_line_errors(proxy):
    """All cases on one warehouse (building one is most of the cost): each leaves it as
    it was, so a case that changed it would be the one to fail."""
    from tests.test_errors import fail, snapshot

    _, db, _, _ = proxy
    before = snapshot(db)
    for args, needle in BAD_REPORT_OPTIONS:
        assert needle in fail("--db", str(db), *args), args
        assert snapshot(db) == before, args


def test_open_webui_and_litellm_in_one_warehouse(make_source, make_litellm, tmp_path):
    """Chat tags appear as tags, the channels split the totals, active users per channel
    and per group, retention of a group."""
    from tests import expected as webui_expected
    from warehouse import sample

    today = litellm_source.today_utc()
    webui = sample.generate(seed=4, users=6, days=20, chats_per_user=4,
                            end=datetime.combine(today, datetime.min.time(), tzinfo=UTC))
    lite = litellm_source.generate(days=20)
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", make_source(webui, "sqlite").url,
           "--name", "campus")
    invoke("--db", str(db), "ingest", "--url", make_litellm(lite).url, "--kind", "litellm",
           "--name", "proxy")
    invoke("--db", str(db), "build")
    pairs = webui_expected.rows(webui)

    tags = {r["tag"]: r for r in report(db, "tags")}
    chat_tags = {t for c in webui.chats for t in c.tags}
    assert len(chat_tags) >= 3
    for name in chat_tags:
        tagged = [(c, m) for c, m in pairs if name in c.tags]
        row = tags[name.lower().replace(" ", "_")]
        assert row["total_requests"] == len(tagged)
        assert row["unique_users"] == len({c.user_id for c, _ in tagged})
    assert not any(r["tag"].startswith("User-Agent") for r in report(db, "tags", "--channel",
                                                                       "ui"))

    both, ui, api = (report(db, "summary", *opt)[0]
                     for opt in ([], ["--channel", "ui"], ["--channel", "api"]))
    assert ui == webui_expected.summary(pairs)
    assert api["total_messages"] == len(lite.requests)
    assert both["total_messages"] == ui["total_messages"] + api["total_messages"]
    assert both["total_tokens"] == ui["total_tokens"] + api["total_tokens"]

    window = ["--since", (today - timedelta(days=10)).isoformat(), "--until",
              today.isoformat()]
    by_channel = report(db, "active-users", *window, "--by", "channel")
    for channel in ("ui", "api"):
        alone = report(db, "active-users", *window, "--channel", channel)
        assert len(alone) == 10 and all(r["mau"] for r in alone)
        assert [{k: r[k] for k in ("date", "dau", "wau", "mau")}
                for r in by_channel if r["channel"] == channel] == \
            [{k: r[k] for k in ("date", "dau", "wau", "mau")} for r in alone]

    students = webui_expected.group_members(webui, "Students")
    by_group = [r for r in report(db, "active-users", *window, "--by", "group")
                if r["group"] == "Students"]
    assert len(by_group) == 10 and any(r["dau"] for r in by_group)
    for row in by_group:
        day = datetime.fromisoformat(row["date"]).replace(tzinfo=UTC)
        active = {c.user_id for c, m in pairs
                  if c.user_id in students and day.timestamp() <= m.created_at
                  < day.timestamp() + 86400}
        assert row["dau"] == len(active), row["date"]

    cohorts = report(db, "retention", "--group", "Students")
    assert sum(r["cohort_size"] for r in cohorts if r["period"] == 0) == len(
        {c.user_id for c, _ in pairs if c.user_id in students})
