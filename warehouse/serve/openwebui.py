"""Open WebUI 0.12's analytics API (`/api/v1/analytics`), answered by the reports.

Same paths, query parameters and bodies as Open WebUI's routers/analytics.py, so its
admin Analytics page can read from the warehouse through a reverse proxy. Each endpoint
is one report asked with the options the parameters name, then shaped as Open WebUI
shapes its answer; the figures are the reports' (messages are Open WebUI chat responses:
--channel ui; chats deleted in Open WebUI stay counted, as everywhere in the warehouse).
Open WebUI's quirks are kept where a page could tell: a bound of 0 is no bound, empty
buckets are filled only when both bounds are given, `compare` needs both, a model chat's
first_message is its title. Buckets and dates are in the server's time zone (--tz).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from warehouse import reports
from warehouse.config import Config
from warehouse.reports.known import UnknownValue
from warehouse.serve.published import Published

PREFIX = "/api/v1/analytics"
GRANULARITIES = {"10m": "10m", "hourly": "hour", "3h": "3h", "6h": "6h", "daily": "day"}
ORDER_FIELDS = ("title", "updated_at", "user_name")
ALL_ROWS = reports.MAX_ROWS


class ModelAnalyticsEntry(BaseModel):
    model_id: str
    count: int
    unique_users: int = 0
    unique_chats: int = 0


class ModelAnalyticsResponse(BaseModel):
    models: list[ModelAnalyticsEntry]


class UserAnalyticsEntry(BaseModel):
    user_id: str
    name: str | None = None
    email: str | None = None
    count: int
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


class UserAnalyticsResponse(BaseModel):
    users: list[UserAnalyticsEntry]


class SummaryResponse(BaseModel):
    total_messages: int
    total_chats: int
    total_models: int
    total_users: int


class ComparisonStatsEntry(BaseModel):
    models: dict[str, int]
    start: str
    end: str


class DailyStatsEntry(BaseModel):
    date: str
    models: dict[str, int]
    start: str | None = None
    end: str | None = None
    previous: ComparisonStatsEntry | None = None


class DailyStatsResponse(BaseModel):
    data: list[DailyStatsEntry]


class TokenUsageEntry(BaseModel):
    model_id: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    message_count: int


class TokenUsageResponse(BaseModel):
    models: list[TokenUsageEntry]
    total_input_tokens: int
    total_output_tokens: int
    total_tokens: int


class ModelChatEntry(BaseModel):
    chat_id: str
    user_id: str | None = None
    user_name: str | None = None
    first_message: str | None = None
    updated_at: int


class ModelChatsResponse(BaseModel):
    chats: list[ModelChatEntry]
    total: int


class HistoryEntry(BaseModel):
    date: str
    won: int = 0
    lost: int = 0


class TagEntry(BaseModel):
    tag: str
    count: int


class ModelOverviewResponse(BaseModel):
    history: list[HistoryEntry]
    tags: list[TagEntry]


def router(config: Config, published: Published, tz: str) -> APIRouter:
    """The endpoints, reading `published` with buckets and dates in `tz`."""
    api = APIRouter(prefix=PREFIX, tags=["Open WebUI analytics"])
    zone = ZoneInfo(tz)

    def ask(name: str, **options) -> list[dict]:
        return published.run(name, reports.resolve(name, options),
                             config.pseudonymize).records()

    def usage(name: str, start_date, end_date, group_id, **options) -> list[dict]:
        asked = dict(channel="ui", **_window(start_date, end_date), **options)
        try:
            return ask(name, group=group_id or None, **asked)
        except UnknownValue as unknown:
            if unknown.option != "--group":
                raise
        # Open WebUI answers a group it does not have with no usage (where the reports
        # refuse it): the totals and buckets of the same question, emptied
        if name not in ("summary", "daily"):
            return []
        return [{k: 0 if isinstance(v, int) else v for k, v in row.items()}
                for row in ask(name, **asked)]

    @api.get("/summary", response_model=SummaryResponse)
    def summary(start_date: int | None = None, end_date: int | None = None,
                group_id: str | None = None):
        row = usage("summary", start_date, end_date, group_id)[0]
        return SummaryResponse(**{k: row[k] for k in SummaryResponse.model_fields})

    @api.get("/models", response_model=ModelAnalyticsResponse)
    def models(start_date: int | None = None, end_date: int | None = None,
               group_id: str | None = None):
        rows = usage("models", start_date, end_date, group_id)
        return ModelAnalyticsResponse(models=[ModelAnalyticsEntry(**_fields(
            r, ModelAnalyticsEntry)) for r in rows])

    @api.get("/users", response_model=UserAnalyticsResponse)
    def users(start_date: int | None = None, end_date: int | None = None,
              group_id: str | None = None, limit: int = Query(50),
              metric: Literal["messages", "tokens"] = Query("messages")):
        rows = usage("users", start_date, end_date, group_id, metric=metric,
                     limit=limit, cost="none")
        return UserAnalyticsResponse(users=[UserAnalyticsEntry(**_fields(
            r, UserAnalyticsEntry)) for r in rows if r["user_id"] is not None])

    @api.get("/daily", response_model=DailyStatsResponse)
    def daily(start_date: int | None = None, end_date: int | None = None,
              group_id: str | None = None,
              granularity: Literal["10m", "hourly", "3h", "6h", "daily"] = Query("daily"),
              metric: Literal["messages", "tokens"] = Query("messages"),
              compare: bool = Query(False)):
        if compare and (start_date is None or end_date is None or start_date > end_date):
            raise HTTPException(status_code=400,
                                detail="Comparison requires a bounded date range")
        rows = usage("daily", start_date, end_date, group_id, tz=tz,
                     granularity=GRANULARITIES[granularity], compare=compare or None)
        return DailyStatsResponse(data=_series(rows, metric, granularity, zone,
                                               start_date, end_date, compare))

    @api.get("/tokens", response_model=TokenUsageResponse)
    def tokens(start_date: int | None = None, end_date: int | None = None,
               group_id: str | None = None):
        rows = usage("tokens", start_date, end_date, group_id)
        models = [TokenUsageEntry(**_fields(r, TokenUsageEntry)) for r in rows
                  if r["scope"] == "model"]
        total_input = sum(m.input_tokens for m in models)
        total_output = sum(m.output_tokens for m in models)
        return TokenUsageResponse(models=models, total_input_tokens=total_input,
                                  total_output_tokens=total_output,
                                  total_tokens=total_input + total_output)

    @api.get("/models/{model_id:path}/chats", response_model=ModelChatsResponse)
    def model_chats(model_id: str, start_date: int | None = None,
                    end_date: int | None = None, skip: int = Query(0),
                    limit: int = Query(50, le=100), order_by: str = Query("updated_at"),
                    direction: str = Query("desc")):
        options = dict(compat="openwebui", model=model_id, **_window(start_date, end_date),
                       order_by=order_by if order_by in ORDER_FIELDS else None,
                       direction=direction if direction in ("asc", "desc") else None,
                       limit=limit if limit > 0 else ALL_ROWS)
        try:
            rows = ask("chats", offset=max(skip, 0) or None, **options)
        except UnknownValue:  # a model the warehouse has never seen: no chats
            return ModelChatsResponse(chats=[], total=0)
        total = rows[0]["total"] if rows else 0
        if not rows and skip > 0:  # a page past the end: the total all the same
            total = next((r["total"] for r in ask("chats", **{**options, "limit": 1})), 0)
        return ModelChatsResponse(chats=[ModelChatEntry(**_fields(r, ModelChatEntry))
                                         for r in rows], total=total)

    @api.get("/models/{model_id:path}/overview", response_model=ModelOverviewResponse)
    def model_overview(model_id: str, days: int = Query(30)):
        now = datetime.now(UTC)
        start = history_start(now, days, zone)
        try:
            history = [r for r in ask("feedback", model=model_id, tz=tz,
                                      since=_iso(start) if start else None,
                                      until=_iso(now + timedelta(seconds=1)))
                       if r["kind"] == "history"]
            tags = [r for r in ask("feedback", model=model_id, tz=tz) if r["kind"] == "tag"]
        except UnknownValue:  # a model never seen: its days without ratings, no tags
            first = start.astimezone(zone).date() if start else None
            history = [{"date": (first + timedelta(days=n)).isoformat(), "won": 0, "lost": 0}
                       for n in range(days + 1 if first else 0)]
            tags = []
        return ModelOverviewResponse(
            history=[HistoryEntry(date=r["date"], won=r["won"], lost=r["lost"])
                     for r in history],
            tags=[TagEntry(tag=r["tag"], count=r["count"]) for r in tags])

    return api


def history_start(now: datetime, days: int, zone: ZoneInfo) -> datetime | None:
    """The overview's first instant, as Open WebUI computes it: `days` whole days back on
    the server's wall clock (naive local time), not days of 24 hours (which differ across
    a change of summer time and then start the history a day off)."""
    if days <= 0:
        return None
    local = now.astimezone(zone).replace(tzinfo=None) - timedelta(days=days)
    return local.replace(tzinfo=zone).astimezone(UTC)


def _window(start_date: int | None, end_date: int | None) -> dict:
    """Open WebUI's bounds (epoch seconds, both inclusive, 0 meaning none) as --since and
    --until (exclusive)."""
    window = {}
    if start_date:
        window["since"] = _iso(_instant(start_date))
    if end_date:
        window["until"] = _iso(_instant(end_date) + timedelta(seconds=1))
    return window


def _instant(epoch: int) -> datetime:
    try:
        return datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError):
        raise HTTPException(status_code=400, detail=f"{epoch} is not an epoch time in "
                                                    "seconds") from None


def _iso(instant: datetime) -> str:
    return instant.isoformat()


def _fields(row: dict, model: type[BaseModel]) -> dict:
    return {name: row[name] for name in model.model_fields if name in row}


def _series(rows: list[dict], metric: str, granularity: str, zone: ZoneInfo,
            start_date: int | None, end_date: int | None,
            compare: bool) -> list[DailyStatsEntry]:
    """The daily report's rows (every bucket x model, zeros filled) as Open WebUI's
    entries: per bucket, the models with responses in it; empty buckets only when both
    bounds were given (the report fills between the data's ends otherwise)."""
    value = "count" if metric == "messages" else "total_tokens"
    buckets: dict[str, tuple[dict, dict]] = {}
    for row in rows:
        now, before = buckets.setdefault(row["date"], ({}, {}))
        if row["count"]:
            now[row["model_id"]] = row[value]
        if compare and row["previous_count"]:
            before[row["model_id"]] = row[f"previous_{value}"]
    filled = bool(start_date and end_date)
    entries = [DailyStatsEntry(date=date, models=now)
               for date, (now, _before) in sorted(buckets.items()) if now or filled]
    if compare:
        duration = end_date - start_date + 1
        step = timedelta(seconds=reports.STEP_SECONDS[GRANULARITIES[granularity]])
        for entry in entries:
            bucket = datetime.fromisoformat(entry.date).replace(tzinfo=zone)
            start = max(start_date, int(bucket.timestamp()))
            end = min(end_date + 1, int((bucket.replace(tzinfo=None) + step)
                                        .replace(tzinfo=zone).timestamp()))
            entry.start, entry.end = _local(start, zone), _local(end, zone)
            entry.previous = ComparisonStatsEntry(
                models=buckets[entry.date][1], start=_local(start - duration, zone),
                end=_local(end - duration, zone))
    return entries


def _local(epoch: int, zone: ZoneInfo) -> str:
    """As Open WebUI writes a bucket's bounds: naive ISO in the server's zone."""
    return datetime.fromtimestamp(epoch, zone).replace(tzinfo=None).isoformat()
