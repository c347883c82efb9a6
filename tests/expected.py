"""Expected report figures computed in plain Python from the records the test wrote,
following Open WebUI 0.12's analytics code (routers/analytics.py, models/chat_messages.py),
independently of the warehouse's SQL."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from warehouse import sample


def bounds(since: str | None, until: str | None, tz: str) -> tuple[int | None, int | None]:
    zone = ZoneInfo(tz)

    def epoch(day: str | None) -> int | None:
        if day is None:
            return None
        return int(datetime.fromisoformat(day).replace(tzinfo=zone).timestamp())

    return epoch(since), epoch(until)


def group_members(data: sample.Dataset, group: str) -> set[str]:
    """Members of the group and of all its descendants."""
    wanted = {g.id for g in data.groups if g.id == group or g.name == group}
    changed = True
    while changed:
        more = {g.id for g in data.groups if g.parent_id in wanted} - wanted
        wanted |= more
        changed = bool(more)
    return {u for g in data.groups if g.id in wanted for u in g.members}


def tokens(usage) -> tuple[int | None, int | None]:
    if isinstance(usage, str):
        try:
            usage = json.loads(usage)
        except ValueError:
            return None, None
    if not isinstance(usage, dict):
        return None, None
    i = usage.get("input_tokens", usage.get("prompt_tokens"))
    o = usage.get("output_tokens", usage.get("completion_tokens"))
    return i, o


def rows(data: sample.Dataset, since=None, until=None, tz="UTC", group=None):
    """Assistant messages in the window: (chat, message) pairs."""
    lo, hi = bounds(since, until, tz)
    members = group_members(data, group) if group else None
    out = []
    for chat in data.chats:
        for m in chat.messages:
            if m.role != "assistant":
                continue
            if lo is not None and m.created_at < lo or hi is not None and m.created_at >= hi:
                continue
            if members is not None and chat.user_id not in members:
                continue
            out.append((chat, m))
    return out


def summary(pairs) -> dict:
    with_model = [(c, m) for c, m in pairs if m.model_id is not None]
    ins = sum(tokens(m.usage)[0] or 0 for _, m in pairs)
    outs = sum(tokens(m.usage)[1] or 0 for _, m in pairs)
    return {
        "total_messages": len(with_model),
        "total_chats": len({c.id for c, _ in pairs}),
        "total_models": len({m.model_id for _, m in with_model}),
        "total_users": len({c.user_id for c, _ in pairs}),
        "input_tokens": ins, "output_tokens": outs, "total_tokens": ins + outs,
    }


def models(pairs) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for model in {m.model_id for _, m in pairs if m.model_id}:
        mine = [(c, m) for c, m in pairs if m.model_id == model]
        out[model] = {"count": len(mine), "unique_users": len({c.user_id for c, _ in mine}),
                      "unique_chats": len({c.id for c, _ in mine})}
    return out


def users(pairs, data: sample.Dataset) -> dict[str, dict]:
    names = {u.id: u for u in data.users}
    out: dict[str, dict] = {}
    for chat, m in pairs:
        row = out.setdefault(chat.user_id, {"name": names[chat.user_id].name,
                                            "email": names[chat.user_id].email, "count": 0,
                                            "input_tokens": 0, "output_tokens": 0})
        i, o = tokens(m.usage)
        row["count"] += 1
        row["input_tokens"] += i or 0
        row["output_tokens"] += o or 0
    for row in out.values():
        row["total_tokens"] = row["input_tokens"] + row["output_tokens"]
        # sample messages carry no error and no cost, and no price file is loaded; an
        # Open WebUI-only warehouse has no user agent column (LiteLLM's tags fill it)
        row.update(successful_requests=row["count"], failed_requests=0, currency=None,
                   billed_cost=None, repriced_cost=None)
    return out


def token_usage(pairs) -> dict[str, dict]:
    """Only messages whose usage column is not SQL NULL (JSON 'null' counts)."""
    out: dict[str, dict] = {}
    for _, m in pairs:
        if m.model_id is None or m.usage is None:
            continue
        i, o = tokens(m.usage)
        row = out.setdefault(m.model_id, {"input_tokens": 0, "output_tokens": 0,
                                          "message_count": 0})
        row["input_tokens"] += i or 0
        row["output_tokens"] += o or 0
        row["message_count"] += 1
    for row in out.values():
        row["total_tokens"] = row["input_tokens"] + row["output_tokens"]
    return out


def daily(pairs, since: str, until: str, tz: str) -> dict[tuple[str, str], int]:
    """(local date, model) -> messages, every day of the window for every model seen."""
    zone = ZoneInfo(tz)
    counts: Counter = Counter()
    for _, m in pairs:
        if m.model_id:
            day = datetime.fromtimestamp(m.created_at, zone).strftime("%Y-%m-%d")
            counts[(day, m.model_id)] += 1
    seen = {model for _, model in counts}
    day = datetime.fromisoformat(since)
    end = datetime.fromisoformat(until)
    out = {}
    while day < end:
        for model in seen:
            out[(day.strftime("%Y-%m-%d"), model)] = counts[(day.strftime("%Y-%m-%d"), model)]
        day += timedelta(days=1)
    return out


def chats(pairs) -> list[str]:
    """Chat ids, most recently updated first."""
    by_id = {c.id: c for c, m in pairs if m.model_id}
    return [c.id for c in sorted(by_id.values(), key=lambda c: (-c.updated_at, c.id))]


def feedback(data: sample.Dataset, since: str, until: str, tz: str,
             group=None) -> dict[tuple[str, str], tuple[int, int]]:
    lo, hi = bounds(since, until, tz)
    members = group_members(data, group) if group else None
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for f in data.feedback:
        if not lo <= f.created_at < hi or members is not None and f.user_id not in members:
            continue
        day = datetime.fromtimestamp(f.created_at, UTC).astimezone(ZoneInfo(tz))
        out[(f.model_id, day.strftime("%Y-%m-%d"))][0 if f.rating == 1 else 1] += 1
    return {k: tuple(v) for k, v in out.items()}
