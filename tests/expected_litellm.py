"""Expected LiteLLM figures computed in plain Python from the generated requests,
independently of the warehouse's SQL.

Attribution rules the warehouse documents: a request's user is the key's owner (else the
end user it named); a day whose spend logs were purged before the first ingest is known
only from LiteLLM's daily tables, where the user is the key's owner and tags carry no
user agent for the users report.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.litellm_source import LiteLLMData, Request


def plausible(n: int) -> int | None:
    return n if 0 <= n <= 1_000_000_000 else None


def user_of(data: LiteLLMData, r: Request, purged: bool) -> str | None:
    owner = data.key(r.api_key).user_id if data.key(r.api_key) else None
    if purged:
        return owner
    return r.user or owner or r.end_user


def local_day(r: Request, tz: str, purged: bool) -> date:
    """Purged days are known per UTC day only and sit at 00:00 UTC."""
    instant = datetime.combine(r.start.date(), datetime.min.time()) if purged else r.start
    return instant.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).date()


def totals(requests) -> dict:
    ins = sum(plausible(r.prompt_tokens) or 0 for r in requests)
    outs = sum(plausible(r.completion_tokens) or 0 for r in requests)
    return {
        "total_requests": len(requests),
        "successful_requests": sum(r.status == "success" for r in requests),
        "failed_requests": sum(r.status == "failure" for r in requests),
        "input_tokens": ins, "output_tokens": outs, "total_tokens": ins + outs,
        "total_spend": sum(r.spend for r in requests),
    }


def keys(data: LiteLLMData) -> dict[str, dict]:
    """Per key hash ('' for requests without a key)."""
    out: dict[str, list] = defaultdict(list)
    for r in data.requests:
        out[r.api_key].append(r)
    return {token: totals(rs) for token, rs in out.items()}


def teams(data: LiteLLMData) -> dict[str | None, dict]:
    out: dict[str | None, list] = defaultdict(list)
    for r in data.requests:
        key = data.key(r.api_key)
        out[key.team_id if key else None].append(r)
    result = {}
    for team, rs in out.items():
        row = totals(rs)
        row["keys"] = len({r.api_key for r in rs if r.api_key})
        result[team] = row
    return result


def tags(data: LiteLLMData, purged_before: date) -> dict[str, dict]:
    """Per tag: distinct users and totals; a request counts under each of its tags."""
    by_tag: dict[str, list] = defaultdict(list)
    for r in data.requests:
        for tag in r.tags:
            by_tag[tag].append(r)
    out = {}
    for tag, rs in by_tag.items():
        row = totals(rs)
        del row["input_tokens"], row["output_tokens"]
        users = {user_of(data, r, r.start.date() < purged_before) for r in rs}
        row["unique_users"] = len(users - {None})
        out[tag] = row
    return out


def users(data: LiteLLMData, purged_before: date) -> dict[str | None, dict]:
    by_user: dict[str | None, list] = defaultdict(list)
    for r in data.requests:
        by_user[user_of(data, r, r.start.date() < purged_before)].append(r)
    out = {}
    for user, rs in by_user.items():
        row = totals(rs)
        agents: Counter = Counter()
        for r in rs:
            if r.start.date() >= purged_before:
                agents.update(t for t in r.tags if t.startswith("User-Agent:"))
        best = sorted(agents.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))
        row["user_agent"] = best[0][0][len("User-Agent:"):].strip() if best else None
        row["count"] = row.pop("total_requests")
        if user is None:  # tokens of rows without a user stay zero, as Open WebUI's
            row.update(input_tokens=0, output_tokens=0, total_tokens=0)
        out[user] = row
    return out


def active_users(data: LiteLLMData, purged_before: date, first: date, last: date, tz: str,
                 mau_days: int = 30, tag: str | None = None) -> dict[str, tuple]:
    """Local day -> (dau, wau, mau) over [first, last], trailing windows."""
    days: dict[date, set] = defaultdict(set)
    for r in data.requests:
        if tag is not None and tag not in r.tags:
            continue
        purged = r.start.date() < purged_before
        user = user_of(data, r, purged)
        if user is not None:
            days[local_day(r, tz, purged)].add(user)
    out = {}
    day = first
    while day <= last:
        def window(n, day=day):
            return set().union(*(days[day - timedelta(days=i)] for i in range(n)))
        out[day.isoformat()] = (len(days[day]), len(window(7)), len(window(mau_days)))
        day += timedelta(days=1)
    return out


def retention(data: LiteLLMData, purged_before: date,
              granularity: str) -> dict[tuple[str, int], int]:
    """(cohort start, periods later) -> active users, UTC weeks (Monday) or months."""
    def period(d: date) -> date:
        return d - timedelta(days=d.weekday()) if granularity == "week" else d.replace(day=1)

    def distance(a: date, b: date) -> int:
        if granularity == "week":
            return (b - a).days // 7
        return (b.year - a.year) * 12 + b.month - a.month

    active: dict[str, set] = defaultdict(set)
    for r in data.requests:
        user = user_of(data, r, r.start.date() < purged_before)
        if user is not None:
            active[user].add(period(r.start.date()))
    out: Counter = Counter()
    for periods in active.values():
        cohort = min(periods)
        for p in periods:
            out[(cohort.isoformat(), distance(cohort, p))] += 1
    return dict(out)


def requests_per_local_day(data: LiteLLMData, first: date, last: date,
                           tz: str) -> dict[str, int]:
    """Local day -> requests, for days whose spend logs are held (exact local days)."""
    out = {(first + timedelta(days=i)).isoformat(): 0 for i in range((last - first).days + 1)}
    for r in data.requests:
        day = local_day(r, tz, purged=False).isoformat()
        if day in out:
            out[day] += 1
    return out
