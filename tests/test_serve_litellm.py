"""`warehouse serve`'s LiteLLM tag analytics API (/tag/...): a real server on a warehouse
built from a LiteLLM PostgreSQL database with LiteLLM's own schema; each body equals the
report it is made of (`--compat litellm`) and what LiteLLM's own SQL
(user_agent_analytics_endpoints.py) answers on that PostgreSQL database."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import psycopg
import pytest

from tests import litellm_source
from tests.test_reports import report
from tests.test_serve import built, get, query, server

END = "(current_date at time zone 'UTC')::date + 1"  # LiteLLM: UTC today + 1 day


def litellm_dau(conn, tags=None, like=None):
    where, params = _tag_where(tags, like)
    rows = conn.execute(f"""
        SELECT dts.tag, dts.date, COUNT(DISTINCT vt.user_id) AS active_users
        FROM "LiteLLM_DailyTagSpend" dts
        JOIN "LiteLLM_VerificationToken" vt ON dts.api_key = vt.token
        WHERE dts.date >= to_char({END} - 7, 'YYYY-MM-DD')
          AND dts.date <= to_char({END}, 'YYYY-MM-DD') AND vt.user_id IS NOT NULL {where}
        GROUP BY dts.tag, dts.date""", params).fetchall()
    return sorted(({"tag": t, "active_users": n, "date": d, "period_start": None,
                    "period_end": None} for t, d, n in rows),
                  key=lambda r: (_desc(r["date"]), -r["active_users"], r["tag"]))


def _desc(text: str) -> tuple:
    return tuple(-ord(c) for c in text)


def litellm_periods(conn, days: int, word: str, label: str, tags=None, like=None):
    """LiteLLM's WAU (7-day) or MAU (30-day) query, 7 buckets ending at UTC today + 1."""
    where, params = _tag_where(tags, like)
    rows = conn.execute(f"""
        WITH data AS (
            SELECT dts.tag, vt.user_id,
                   FLOOR(({END} - dts.date::date) / {days}) AS o
            FROM "LiteLLM_DailyTagSpend" dts
            JOIN "LiteLLM_VerificationToken" vt ON dts.api_key = vt.token
            WHERE dts.date >= to_char({END} - {7 * days - 1}, 'YYYY-MM-DD')
              AND dts.date <= to_char({END}, 'YYYY-MM-DD') AND vt.user_id IS NOT NULL {where}
        )
        SELECT tag, COUNT(DISTINCT user_id),
            '{word} ' || (7 - o)::text || ' (' ||
            TO_CHAR({END} - (o * {days} || ' days')::interval
                    - '{days - 1} days'::interval, '{label}') || ')',
            ({END} - (o * {days} || ' days')::interval - '{days - 1} days'::interval)::date::text,
            ({END} - (o * {days} || ' days')::interval)::date::text, o
        FROM data WHERE o < 7 GROUP BY tag, o""", params).fetchall()
    return sorted(({"tag": t, "active_users": n, "date": d, "period_start": s,
                    "period_end": e} for t, n, d, s, e, _o in rows),
                  key=lambda r: (r["period_start"], -r["active_users"], r["tag"]))


def litellm_summary(conn, start, end, tags=None, like=None):
    where, params = _tag_where(tags, like)
    rows = conn.execute(f"""
        SELECT dts.tag, COUNT(DISTINCT vt.user_id), SUM(dts.api_requests),
               SUM(dts.successful_requests), SUM(dts.failed_requests),
               SUM(dts.prompt_tokens + dts.completion_tokens), SUM(dts.spend)
        FROM "LiteLLM_DailyTagSpend" dts
        LEFT JOIN "LiteLLM_VerificationToken" vt ON dts.api_key = vt.token
        WHERE dts.date >= %s AND dts.date <= %s {where}
        GROUP BY dts.tag""", [start, end, *params]).fetchall()
    out = [{"tag": t, "unique_users": u or 0, "total_requests": int(r or 0),
            "successful_requests": int(s or 0), "failed_requests": int(f or 0),
            "total_tokens": int(k or 0), "total_spend": pytest.approx(float(p or 0), abs=1e-9)}
           for t, u, r, s, f, k, p in rows]
    return sorted(out, key=lambda r: (-r["total_requests"], r["tag"]))


def litellm_distinct(conn):
    rows = conn.execute("""
        SELECT tag, COUNT(*) FROM "LiteLLM_DailyTagSpend"
        WHERE tag LIKE 'User-Agent:%%' OR tag NOT LIKE '%%:%%' GROUP BY tag""").fetchall()
    return [{"tag": t} for t, _n in sorted(rows, key=lambda r: (-r[1], r[0]))[:250]]


def litellm_per_user(conn, page=1, page_size=50, tags=None, like=None):
    """LiteLLM's per-user analytics, as its Python code aggregates the rows."""
    records = conn.execute(f"""
        SELECT tag, api_key, date, successful_requests, failed_requests, api_requests,
               prompt_tokens, completion_tokens, spend
        FROM "LiteLLM_DailyTagSpend"
        WHERE date >= to_char({END} - 30, 'YYYY-MM-DD')
          AND date <= to_char({END}, 'YYYY-MM-DD')""").fetchall()
    if tags:
        records = [r for r in records if r[0] in tags]
    elif like:
        records = [r for r in records if like in r[0]]
    owners = dict(conn.execute('SELECT token, user_id FROM "LiteLLM_VerificationToken" '
                               "WHERE user_id IS NOT NULL").fetchall())
    emails = dict(conn.execute('SELECT user_id, user_email FROM "LiteLLM_UserTable"'))
    users: dict[str, dict] = {}
    agents = defaultdict(set)
    for tag, key, _date, ok, failed, requests, prompt, completion, spend in records:
        if key not in owners:
            continue
        user = owners[key]
        row = users.setdefault(user, {"user_id": user, "user_email": emails.get(user),
                                      "user_agent": None, "successful_requests": 0,
                                      "failed_requests": 0, "total_requests": 0,
                                      "total_tokens": 0, "spend": 0.0})
        agents[user].add(tag)
        row["successful_requests"] += ok or 0
        row["failed_requests"] += failed or 0
        row["total_requests"] += requests or 0
        row["total_tokens"] += int((prompt or 0) + (completion or 0))
        row["spend"] += spend or 0.0
    ranked = sorted(users.values(), key=lambda r: (-r["successful_requests"], r["user_id"]))
    total = len(ranked)
    page_rows = ranked[(page - 1) * page_size:page * page_size]
    for row in page_rows:
        row["spend"] = pytest.approx(row["spend"], abs=1e-9)
    return {"results": page_rows, "total_count": total, "page": page,
            "page_size": page_size, "total_pages": (total + page_size - 1) // page_size}, agents


def _tag_where(tags, like):
    if tags:
        return "AND dts.tag = ANY(%s)", [list(tags)]
    if like:
        return "AND dts.tag ILIKE %s", [f"%{like}%"]
    return "", []


@pytest.fixture
def served_proxy(make_litellm, tmp_path):
    data = litellm_source.generate()
    src = make_litellm(data)
    config = built(tmp_path, f'[sources.proxy]\nkind = "litellm"\nurl = "{src.url}"\n')
    with server(config, "--quiet") as base:
        yield src, tmp_path / "usage.duckdb", base


def ask(base: str, path: str, params: dict | None = None):
    status, body, _ = get(f"{base}{path}?{query(params or {})}")
    assert status == 200, (path, params, body)
    return body


def test_litellm_endpoints_equal_litellm_and_the_reports(served_proxy):
    src, db, base = served_proxy
    now = datetime.now(UTC)
    if now.hour == 23 and now.minute >= 58:
        pytest.skip("LiteLLM's windows end at UTC today + 1: too close to midnight")
    today = now.date()
    with psycopg.connect(src.url) as conn:
        assert ask(base, "/tag/distinct") == {"results": litellm_distinct(conn)}
        # the data fills every window LiteLLM looks at
        assert litellm_dau(conn) and litellm_periods(conn, 30, "Month", "Mon")
        assert litellm_per_user(conn)[0]["total_count"] > 3
        filters = [{}, {"tag_filter": "curl"}, {"tag_filters": "User-Agent: curl"},
                   {"tag_filters": ["User-Agent: curl", "batch-jobs", "never-seen"]},
                   {"tag_filter": "no-such-tag"}]
        for options in filters:
            tags = options.get("tag_filters")
            tags = [tags] if isinstance(tags, str) else tags
            like = options.get("tag_filter")
            pairs = [("tag_filter", like)] if like else []
            params = urlencode(pairs + [("tag_filters", t) for t in tags or []])
            got = get(f"{base}/tag/dau?{params}")[1]["results"]
            assert got == litellm_dau(conn, tags, like), options
            assert get(f"{base}/tag/wau?{params}")[1]["results"] == litellm_periods(
                conn, 7, "Week", "Mon DD", tags, like), options
            assert get(f"{base}/tag/mau?{params}")[1]["results"] == litellm_periods(
                conn, 30, "Month", "Mon", tags, like), options
            start, end = (today - timedelta(days=20)).isoformat(), today.isoformat()
            assert get(f"{base}/tag/summary?start_date={start}&end_date={end}&{params}"
                       )[1]["results"] == litellm_summary(conn, start, end, tags, like)
            for page, size in ((1, 50), (2, 3), (99, 3)):
                got = get(f"{base}/tag/user-agent/per-user-analytics?page={page}"
                          f"&page_size={size}&{params}")[1]
                want, agents = litellm_per_user(conn, page, size, tags, like)
                for row in got["results"]:  # LiteLLM keeps the first tag its rows gave
                    assert row.pop("user_agent") in agents[row["user_id"]]
                for row in want["results"]:
                    row.pop("user_agent")
                assert got == want, (options, page, size)
    # the endpoints are the reports with --compat litellm
    summary = get(f"{base}/tag/summary?start_date=2000-01-01&end_date=2100-01-01")[1]
    assert summary["results"] == [
        {k: v for k, v in r.items() if k != "daily_rows"}
        for r in report(db, "tags", "--compat", "litellm", "--since", "2000-01-01",
                        "--until", "2100-01-02")]
    status, body, _ = get(f"{base}/tag/summary?start_date=2026-13-01&end_date=2026-12-01")
    assert status == 400 and body["detail"].startswith("Invalid date format. Use YYYY-MM-DD")
    assert get(f"{base}/tag/user-agent/per-user-analytics?page_size=1001")[0] == 422
