"""`warehouse serve`'s Open WebUI analytics API (/api/v1/analytics): a real server on
warehouses built from SQLite and PostgreSQL sources, each body compared whole with what
Open WebUI 0.12's own router computes, re-implemented here in plain Python from its code
(routers/analytics.py, models/chat_messages.py, models/chats.py, models/feedbacks.py) over
the records the test wrote; and with the reports the endpoints are made of."""

from __future__ import annotations

import urllib.request
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests import expected
from tests.test_reports import report
from tests.test_serve import built, get, query, server
from warehouse import sample

TZ = "Europe/Berlin"  # summer time ends on 2026-10-25, inside the sample's weeks
ZONE = ZoneInfo(TZ)
BASE = "/api/v1/analytics"
STEP_MINUTES = {"10m": 10, "hourly": 60, "3h": 180, "6h": 360, "daily": 1440}


def dataset() -> sample.Dataset:
    return sample.generate(seed=11, users=6, days=30, chats_per_user=4)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request, tmp_path_factory):
    """A warehouse of the sample data read from a source in each dialect, and a server."""
    from tests.conftest import _new_pg_database

    data = dataset()
    folder = tmp_path_factory.mktemp(f"owui-{request.param}")
    if request.param == "sqlite":
        import sqlite3

        source = folder / "webui.db"
        conn = sqlite3.connect(source)
        sample.write(conn, data)
        conn.close()
        url = f"sqlite:///{source}"
    else:
        import psycopg

        url = _new_pg_database(request.getfixturevalue("pg_url"))
        with psycopg.connect(url) as conn:
            sample.write(conn, data, paramstyle="format")
    config = built(folder, f'[sources.campus]\nurl = "{url}"\n')
    with server(config, "--quiet", "--tz", TZ) as base:
        yield data, folder / "usage.duckdb", base + BASE


# ---------------------------------------------------------------- Open WebUI, in Python

def _messages(data, start=None, end=None, group=None, role="assistant"):
    """(chat, message) pairs as Open WebUI filters them: `if start_date:` (0 is none)."""
    members = expected.group_members(data, group) if group else None
    return [(c, m) for c in data.chats for m in c.messages
            if (role is None or m.role == role)
            and not (start and m.created_at < start) and not (end and m.created_at > end)
            and (members is None or c.user_id in members)]


def _tokens(m) -> tuple[int, int]:
    i, o = expected.tokens(m.usage)
    return i or 0, o or 0


def owui_summary(data, start=None, end=None, group=None):
    pairs = _messages(data, start, end, group)
    return {"total_messages": sum(m.model_id is not None for _, m in pairs),
            "total_chats": len({c.id for c, _ in pairs}),
            "total_models": len({m.model_id for _, m in pairs if m.model_id}),
            "total_users": len({c.user_id for c, _ in pairs})}


def owui_models(data, start=None, end=None, group=None):
    per = defaultdict(list)
    for c, m in _messages(data, start, end, group):
        if m.model_id:
            per[m.model_id].append((c, m))
    rows = [{"model_id": k, "count": len(v), "unique_users": len({c.user_id for c, _ in v}),
             "unique_chats": len({c.id for c, _ in v})} for k, v in sorted(per.items())]
    return {"models": sorted(rows, key=lambda r: -r["count"])}


def owui_users(data, start=None, end=None, group=None, limit=50, metric="messages"):
    usage = defaultdict(lambda: {"message_count": 0, "input_tokens": 0, "output_tokens": 0})
    for c, m in _messages(data, start, end, group):
        row = usage[c.user_id]
        i, o = _tokens(m)
        row["message_count"] += 1
        row["input_tokens"] += i
        row["output_tokens"] += o
    for row in usage.values():
        row["total_tokens"] = row["input_tokens"] + row["output_tokens"]
    top = sorted(sorted(usage), key=lambda u: (
        -usage[u]["total_tokens"] if metric == "tokens" else -usage[u]["message_count"],
        -usage[u]["message_count"]))[:limit]
    people = {u.id: u for u in data.users}
    return {"users": [{"user_id": u, "name": people[u].name, "email": people[u].email,
                       "count": usage[u]["message_count"],
                       "input_tokens": usage[u]["input_tokens"],
                       "output_tokens": usage[u]["output_tokens"],
                       "total_tokens": usage[u]["total_tokens"]} for u in top]}


def owui_tokens(data, start=None, end=None, group=None):
    per = {}
    for _, m in _messages(data, start, end, group):
        if m.model_id is None or m.usage is None:
            continue
        row = per.setdefault(m.model_id, {"input_tokens": 0, "output_tokens": 0,
                                          "message_count": 0})
        i, o = _tokens(m)
        row["input_tokens"] += i
        row["output_tokens"] += o
        row["message_count"] += 1
    models = [{"model_id": k, **v, "total_tokens": v["input_tokens"] + v["output_tokens"]}
              for k, v in sorted(per.items())]
    models = [{k: r[k] for k in ("model_id", "input_tokens", "output_tokens", "total_tokens",
                                 "message_count")}
              for r in sorted(models, key=lambda r: -r["total_tokens"])]
    ins, outs = (sum(r[k] for r in models) for k in ("input_tokens", "output_tokens"))
    return {"models": models, "total_input_tokens": ins, "total_output_tokens": outs,
            "total_tokens": ins + outs}


def _naive(epoch: float) -> datetime:
    """datetime.fromtimestamp(epoch) on a server whose local zone is TZ."""
    return datetime.fromtimestamp(epoch, ZONE).replace(tzinfo=None)


def _epoch(naive: datetime) -> int:
    """naive.timestamp() on that server."""
    return int(naive.replace(tzinfo=ZONE).timestamp())


def _over_time(data, start, end, group, granularity, metric, offset=0):
    minutes = STEP_MINUTES[granularity]
    fmt = "%Y-%m-%d" if granularity == "daily" else "%Y-%m-%d %H:%M"

    def bucket_start(ts):
        d = _naive(ts + offset)
        m = (d.hour * 60 + d.minute) // minutes * minutes
        return d.replace(hour=m // 60, minute=m % 60, second=0, microsecond=0)

    counts: dict[str, dict[str, int]] = {}
    for _, m in _messages(data, start, end, group):
        if m.model_id is None:
            continue
        value = 1 if metric == "messages" else sum(_tokens(m))
        bucket = counts.setdefault(bucket_start(m.created_at).strftime(fmt), {})
        bucket[m.model_id] = bucket.get(m.model_id, 0) + value
    if start and end:
        current, last = bucket_start(start), _naive(end + offset)
        while current <= last:
            counts.setdefault(current.strftime(fmt), {})
            current += timedelta(minutes=minutes)
    return counts


def owui_daily(data, start=None, end=None, group=None, granularity="daily",
               metric="messages", compare=False):
    counts = _over_time(data, start, end, group, granularity, metric)
    entries = [{"date": d, "models": {k: v[k] for k in sorted(v)}, "start": None,
                "end": None, "previous": None} for d, v in sorted(counts.items())]
    if compare:
        duration = end - start + 1
        previous = _over_time(data, start - duration, start - 1, group, granularity, metric,
                              duration)
        step = timedelta(minutes=STEP_MINUTES[granularity])
        for e in entries:
            bucket = datetime.fromisoformat(e["date"])
            lo, hi = max(start, _epoch(bucket)), min(end + 1, _epoch(bucket + step))
            e["start"], e["end"] = _naive(lo).isoformat(), _naive(hi).isoformat()
            before = previous.get(e["date"], {})
            e["previous"] = {"models": {k: before[k] for k in sorted(before)},
                             "start": _naive(lo - duration).isoformat(),
                             "end": _naive(hi - duration).isoformat()}
    return {"data": entries}


def owui_model_chats(data, model, start_date=None, end_date=None, skip=0, limit=50,
                     order_by="updated_at", direction="desc"):
    ids = {c.id for c, m in _messages(data, start_date, end_date, role=None)
           if m.model_id == model}
    people = {u.id: u.name for u in data.users}
    chats = sorted((c for c in data.chats if c.id in ids), key=lambda c: c.id)
    key = {"title": lambda c: c.title, "user_name": lambda c: people[c.user_id]}.get(
        order_by, lambda c: c.updated_at)
    chats.sort(key=key, reverse=direction != "asc")  # stable: ties stay by id ascending
    page = chats[skip:skip + limit] if limit else chats[skip:]
    return {"chats": [{"chat_id": c.id, "user_id": c.user_id, "user_name": people[c.user_id],
                       "first_message": c.title, "updated_at": c.updated_at} for c in page],
            "total": len(chats)}


def owui_overview(data, model, days=30, now=None):
    now = now or datetime.now(ZONE).replace(tzinfo=None)
    start = now - timedelta(days=days) if days > 0 else None
    counts = defaultdict(lambda: {"won": 0, "lost": 0})
    for f in data.feedback:
        if f.model_id != model or (start and f.created_at < _epoch(start)):
            continue
        counts[_naive(f.created_at).strftime("%Y-%m-%d")][
            "won" if f.rating == 1 else "lost"] += 1
    history = []
    if counts or days > 0:
        current = start if days > 0 else datetime.strptime(min(counts), "%Y-%m-%d")
        while current <= now:
            day = current.strftime("%Y-%m-%d")
            history.append({"date": day, **counts.get(day, {"won": 0, "lost": 0})})
            current += timedelta(days=1)
    chat_ids = {c.id for c, m in _messages(data) if m.model_id == model}
    tags = defaultdict(int)
    for c in data.chats:
        if c.id in chat_ids:
            for t in c.tags:
                tags[t.lower().replace(" ", "_")] += 1
    top = sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return {"history": history, "tags": [{"tag": t, "count": n} for t, n in top]}


# ---------------------------------------------------------------- the tests

def epoch(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=ZONE).timestamp())


WINDOWS = [{}, {"start_date": epoch("2026-10-10")},
           {"start_date": epoch("2026-10-05"), "end_date": epoch("2026-10-26") - 1}]


def ask(base: str, path: str, params: dict):
    status, body, _ = get(f"{base}{path}?{query(params)}")
    assert status == 200, (path, params, body)
    return body


def test_totals_models_users_and_tokens_equal_open_webui(served):
    data, db, base = served
    group = data.groups[0].id
    for window in [*WINDOWS, {**WINDOWS[2], "group_id": group}]:
        bounds = (window.get("start_date"), window.get("end_date"), window.get("group_id"))
        assert ask(base, "/summary", window) == owui_summary(data, *bounds)
        assert ask(base, "/models", window) == owui_models(data, *bounds)
        assert ask(base, "/tokens", window) == owui_tokens(data, *bounds)
        for options in ({}, {"limit": 3, "metric": "tokens"}, {"limit": 2}):
            assert ask(base, "/users", {**window, **options}) == owui_users(
                data, *bounds, **options), (window, options)
    # the endpoints are the reports, asked for Open WebUI's chat responses
    assert ask(base, "/summary", {}) == {
        k: v for k, v in report(db, "summary", "--channel", "ui")[0].items()
        if k.startswith("total_") and k != "total_tokens"}


def test_daily_series_at_every_granularity_with_compare(served):
    data, _db, base = served
    start, end = epoch("2026-10-24"), epoch("2026-10-26") + 3 * 3600 - 1  # over the DST end
    for granularity in STEP_MINUTES:
        for metric in ("messages", "tokens"):
            for params in ({"start_date": start, "end_date": end},
                           {"start_date": start, "end_date": end, "compare": "true"},
                           {"start_date": start}):
                body = ask(base, "/daily", {**params, "granularity": granularity,
                                            "metric": metric})
                wanted = owui_daily(data, params["start_date"], params.get("end_date"),
                                    granularity=granularity, metric=metric,
                                    compare="compare" in params)
                assert body == wanted, (granularity, metric, params)
    assert ask(base, "/daily", {})["data"] == owui_daily(data)["data"]
    status, body, _ = get(f"{base}/daily?compare=true&start_date={start}")
    assert (status, body) == (400, {"detail": "Comparison requires a bounded date range"})
    status, _, _ = get(f"{base}/daily?granularity=2h")
    assert status == 422  # as Open WebUI's FastAPI validation answers


def test_model_chats_paged_and_ordered_and_overview(served):
    data, _db, base = served
    model = owui_models(data)["models"][0]["model_id"]
    for params in ({}, {"limit": 3, "skip": 2}, {"order_by": "title", "direction": "asc",
                                                "limit": 4},
                   {"order_by": "user_name", "limit": 100},
                   {"order_by": "nonsense", "direction": "sideways", "skip": 1},
                   {"start_date": epoch("2026-10-15"), "end_date": epoch("2026-10-20")},
                   {"skip": 10_000}):
        body = ask(base, f"/models/{model}/chats", params)
        assert body == owui_model_chats(data, model, **params), params
    for other in [m["model_id"] for m in owui_models(data)["models"]][1:]:
        for params in ({}, {"order_by": "title", "direction": "asc", "skip": 1}):
            body = ask(base, f"/models/{other}/chats", params)
            assert body == owui_model_chats(data, other, **params), (other, params)
    assert get(f"{base}/models/{model}/chats?limit=101")[0] == 422
    for days in (0, 60, 5):
        body = ask(base, f"/models/{model}/overview", {"days": days})
        assert body == owui_overview(data, model, days), days
    # what the warehouse has never seen, Open WebUI answers with nothing
    for days in (0, 3):
        assert ask(base, "/models/no-such-model/overview", {"days": days}) == owui_overview(
            data, "no-such-model", days)
    assert ask(base, "/models/no-such-model/chats", {}) == {"chats": [], "total": 0}
    window = {"start_date": epoch("2026-10-24"), "end_date": epoch("2026-10-26") - 1,
              "group_id": "no-such-group"}
    bounds = (window["start_date"], window["end_date"], "no-such-group")
    assert ask(base, "/summary", window) == owui_summary(data, *bounds)
    assert ask(base, "/users", window) == {"users": []}
    assert ask(base, "/daily", {**window, "granularity": "6h"}) == owui_daily(
        data, *bounds, granularity="6h")


def test_open_webui_session_tokens_of_admins_only(served, tmp_path):
    """With Open WebUI's signing key configured, its admins' session tokens are accepted
    (header or cookie), anyone else's valid token is refused with 403, and no token, a
    wrong signature or an expired token with 401."""
    import jwt

    data, db, _base = served
    secret = "t0p-secret-of-this-open-webui-install"
    (tmp_path / "webui_secret_key").write_text(secret + "\n")
    config = tmp_path / "warehouse.toml"
    config.write_text(f'[warehouse]\ndb = "{db}"\n\n[serve]\n'
                      'openwebui_secret_key_file = "webui_secret_key"\n')
    admin = next(u.id for u in data.users if u.role == "admin")
    member = next(u.id for u in data.users if u.role != "admin")
    now = datetime.now().timestamp()

    def token(user: str, key: str = secret, expires: float = now + 3600) -> str:
        return jwt.encode({"id": user, "jti": "x", "iat": int(now), "exp": int(expires)},
                          key, algorithm="HS256")

    with server(config, "--quiet", "--tz", TZ) as url:
        path = f"{url}{BASE}/summary"
        assert get(path)[0] == 401
        status, body, _ = get(path, token(admin))
        assert status == 200 and body == owui_summary(data)
        assert get(path, token(member))[0] == 403  # though the admin's answer is kept
        assert get(path)[0] == 401
        assert get(f"{url}/api/reports/summary", token(member))[0] == 403
        assert get(path, token(admin, key="the-secret-of-another-open-webui"))[0] == 401
        assert get(path, token(admin, expires=now - 60))[0] == 401
        assert get(path, "not-a-jwt")[0] == 401
        request = urllib.request.Request(path, headers={"Cookie": f"token={token(admin)}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200


def test_overview_days_count_on_the_wall_clock():
    """Regression: 60 days before 2026-12-03 23:09 in Berlin is 2026-10-04 23:09 on its
    wall clock, as Open WebUI's naive local arithmetic says; 60 days of 24 hours end an
    hour later (summer time), on 2026-10-05, and the history started a day late."""
    from datetime import UTC

    from warehouse.serve.openwebui import history_start

    now = datetime(2026, 12, 3, 22, 9, tzinfo=UTC)
    start = history_start(now, 60, ZONE)
    assert start.astimezone(ZONE).replace(tzinfo=None) == datetime(2026, 10, 4, 23, 9)
    assert history_start(now, 0, ZONE) is None
