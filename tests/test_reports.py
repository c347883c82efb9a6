"""Every report's figures, from SQLite and PostgreSQL sources, against figures computed
independently (tests/expected.py) for a window, time zones other than UTC and a group."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from tests import expected
from warehouse import sample
from warehouse.cli import cli

WINDOW = {"since": "2026-10-20", "until": "2026-10-28"}  # spans Europe's DST end (Oct 25)


def dataset(dialect: str) -> sample.Dataset:
    data = sample.generate(seed=11, users=10, days=21, chats_per_user=5)
    last = data.chats[-1]
    t = 1_761_400_000  # 2025-10-25: outside the window, inside "all time"
    edge = [sample.Message("e1q", "user", "hi", t),
            sample.Message("e1a", "assistant", "no usage", t + 5, model_id="gpt-4o",
                           usage=None, parent_id="e1q"),
            sample.Message("e2a", "assistant", "no model", t + 9, model_id=None,
                           usage={"prompt_tokens": 4, "completion_tokens": 6},
                           parent_id="e1a")]
    if dialect == "sqlite":  # PostgreSQL's json type refuses malformed text
        edge.append(sample.Message("e3a", "assistant", "broken usage", t + 12,
                                   model_id="gpt-4o", usage='{"input_tokens": 5',
                                   parent_id="e2a"))
    data.chats.append(sample.Chat("c-edge", last.user_id, "edge cases", edge))
    return data


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def report(db, name: str, *options: str) -> list[dict]:
    """A report's rows; notes on standard error do not disturb the JSON."""
    result = CliRunner().invoke(cli, ["--db", str(db), "report", name, "--format", "json",
                                      *options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(params=["sqlite", "postgres"])
def loaded(request, make_source, tmp_path):
    data = dataset(request.param)
    src = make_source(data, request.param)
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    invoke("--db", str(db), "build")
    return data, db


def window_options(tz: str, group: str | None = None) -> list[str]:
    options = ["--since", WINDOW["since"], "--until", WINDOW["until"], "--tz", tz]
    return options + (["--group", group] if group else [])


CASES = [("UTC", None), ("Europe/Berlin", None), ("America/Los_Angeles", "Students"),
         ("Asia/Kolkata", "g-staff")]


@pytest.mark.parametrize("tz,group", CASES)
def test_usage_reports_match_independent_figures(loaded, tz, group):
    data, db = loaded
    pairs = expected.rows(data, WINDOW["since"], WINDOW["until"], tz, group)
    assert pairs, "the window must hold messages"
    opts = window_options(tz, group)

    assert report(db, "summary", *opts) == [expected.summary(pairs)]

    got = {r["model_id"]: {k: r[k] for k in ("count", "unique_users", "unique_chats")}
           for r in report(db, "models", *opts)}
    assert got == expected.models(pairs)

    want_users = expected.users(pairs, data)
    got_users = report(db, "users", *opts, "--limit", "1000")
    assert {r.pop("user_id"): r for r in got_users} == want_users
    ranked = report(db, "users", *opts, "--metric", "tokens", "--limit", "3")
    assert [r["total_tokens"] for r in ranked] == sorted(
        (u["total_tokens"] for u in want_users.values()), reverse=True)[:3]

    tokens = report(db, "tokens", *opts)
    assert {r["model_id"]: {k: r[k] for k in ("input_tokens", "output_tokens",
                                               "message_count", "total_tokens")}
            for r in tokens if r["scope"] == "model"} == expected.token_usage(pairs)
    total = [r for r in tokens if r["scope"] == "total"][0]
    assert total["total_tokens"] == sum(
        v["total_tokens"] for v in expected.token_usage(pairs).values())

    daily = report(db, "daily", *opts)
    assert {(r["date"], r["model_id"]): r["count"] for r in daily} == expected.daily(
        pairs, WINDOW["since"], WINDOW["until"], tz)

    chats = report(db, "chats", *opts, "--limit", "1000")
    assert [r["chat_id"] for r in chats] == expected.chats(pairs)
    first = {c.id: c.messages[0].content for c in data.chats}
    assert all(r["first_message"] == first[r["chat_id"]][:200] for r in chats)
    top = max(expected.models(pairs).items(), key=lambda kv: kv[1]["count"])[0]
    of_model = report(db, "chats", *opts, "--model", top, "--limit", "1000")
    assert [r["chat_id"] for r in of_model] == expected.chats(
        [(c, m) for c, m in pairs if m.model_id == top])
    assert report(db, "summary", *opts, "--model", top)[0]["total_messages"] == \
        expected.models(pairs)[top]["count"]
    someone = pairs[0][0].user_id
    email = next(u.email for u in data.users if u.id == someone)
    assert report(db, "summary", *opts, "--user", email.upper()) == [
        expected.summary([(c, m) for c, m in pairs if c.user_id == someone])]


@pytest.mark.parametrize("tz,group", CASES[1:3])
def test_feedback_report_matches_independent_figures(loaded, tz, group):
    data, db = loaded
    rows = report(db, "feedback", *window_options(tz, group))
    history = {(r["model_id"], r["date"]): (r["won"], r["lost"])
               for r in rows if r["kind"] == "history"}
    want = expected.feedback(data, WINDOW["since"], WINDOW["until"], tz, group)
    assert {k: v for k, v in history.items() if v != (0, 0)} == want
    assert len({d for _, d in history}) == 8  # every day of the window, gaps filled


def test_all_time_summary_counts_edge_rows(loaded):
    data, db = loaded
    pairs = expected.rows(data)
    got = report(db, "summary")[0]
    assert got == expected.summary(pairs)
    # The assistant message without a model counts for users and chats, not for messages.
    assert got["total_messages"] == len([1 for _, m in pairs if m.model_id])
    # the latest chats (answered from the newest chats first) are the full list's head
    want = expected.chats(pairs)
    for n in (1, 3, len(want) - 1):
        assert [r["chat_id"] for r in report(db, "chats", "--limit", str(n))] == want[:n]


def test_weekly_and_hourly_buckets_add_up(loaded):
    _, db = loaded
    opts = window_options("Europe/Berlin")
    by_day = sum(r["count"] for r in report(db, "daily", *opts))
    by_hour = report(db, "daily", *opts, "--granularity", "hour")
    by_week = report(db, "daily", *opts, "--granularity", "week")
    assert by_day == sum(r["count"] for r in by_hour) == sum(r["count"] for r in by_week)
    # Buckets are local wall-clock hours (as Open WebUI's): the hour repeated when DST
    # ends on 2026-10-25 shares one label, so 8 days give 8 * 24 labels, none missing.
    assert len({r["date"] for r in by_hour}) == 8 * 24


@pytest.mark.parametrize("tz", ["Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu"])
def test_sub_daily_buckets_are_local_wall_clock_in_any_zone(loaded, tz):
    """Each message in the bucket of its local time (steps from local midnight), whole-
    hour zones (across Berlin's DST end) and zones 30 or 45 minutes off alike; window
    bounds off whole hours too."""
    data, db = loaded
    zone = ZoneInfo(tz)
    since, until = "2026-10-20T07:10:00", "2026-10-27T19:50:00"
    pairs = [(c, m) for c, m in expected.rows(data, since, until, tz) if m.model_id]
    assert pairs
    for granularity, minutes in (("10m", 10), ("hour", 60), ("3h", 180), ("6h", 360)):
        want: dict = {}
        for _, m in pairs:
            local = datetime.fromtimestamp(m.created_at, zone)
            start = (local.replace(minute=local.minute // minutes * minutes, second=0)
                     if minutes < 60 else local.replace(
                         hour=local.hour // (minutes // 60) * (minutes // 60), minute=0,
                         second=0))
            key = (start.strftime("%Y-%m-%d %H:%M"), m.model_id)
            want[key] = want.get(key, 0) + 1
        rows = report(db, "daily", "--since", since, "--until", until, "--tz", tz,
                      "--granularity", granularity)
        got = {(r["date"], r["model_id"]): r["count"] for r in rows if r["count"]}
        assert got == want, granularity


def test_every_report_sql_is_whole_once_its_snippets_are_in():
    """Each SQL a report may run (its own file, its fast path, each compat mode's) with
    the snippets it declares: the files exist and no placeholder is left but those the
    report's assembly fills (reports/__init__.py, _report_sql)."""
    import re

    from warehouse.reports import _filled
    from warehouse.reports.catalog import REPORTS

    assembled = {"segment", "segment_join", "segment_column", "period", "period_column",
                 "cost_columns", "chat_order"}
    checked = 0
    for name, spec in REPORTS.items():
        if spec.grain == "limits":  # computed from the credits report's rows
            continue
        for mode in (None, *spec.compat):
            for variant in spec.variants(name.replace("-", "_"), mode):
                sql = _filled(variant, mode)
                assert set(re.findall(r"\{([a-z_]+)\}", sql)) <= assembled, (name, mode)
                checked += 1
    assert checked >= len(REPORTS)
