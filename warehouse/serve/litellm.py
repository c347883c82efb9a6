"""LiteLLM's tag and user-agent analytics API (`/tag/...`), answered by the reports.

Same paths, query parameters and bodies as LiteLLM's user_agent_analytics_endpoints.py
(its usage page's "User Agent Activity"), each one report asked with `--compat litellm`,
which computes as LiteLLM does on the copied tables: /tag/summary is `tags`, /tag/dau,
/tag/wau and /tag/mau are `active-users`, /tag/user-agent/per-user-analytics is `users`,
/tag/distinct orders `tags` by LiteLLM's row counts. A tag LiteLLM has never seen gives
LiteLLM's empty answer, where the reports refuse it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from warehouse import reports
from warehouse.config import Config
from warehouse.reports.known import UnknownValue
from warehouse.serve.published import Published

MAX_TAGS = 250
TagList = Annotated[list[str] | None, Query()]  # ?tag_filters=a&tag_filters=b


class TagActiveUsersResponse(BaseModel):
    tag: str
    active_users: int
    date: str
    period_start: str | None = None
    period_end: str | None = None


class ActiveUsersAnalyticsResponse(BaseModel):
    results: list[TagActiveUsersResponse]


class TagSummaryMetrics(BaseModel):
    tag: str
    unique_users: int
    total_requests: int
    successful_requests: int
    failed_requests: int
    total_tokens: int
    total_spend: float


class TagSummaryResponse(BaseModel):
    results: list[TagSummaryMetrics]


class DistinctTagResponse(BaseModel):
    tag: str


class DistinctTagsResponse(BaseModel):
    results: list[DistinctTagResponse]


class PerUserMetrics(BaseModel):
    user_id: str
    user_email: str | None = None
    user_agent: str | None = None
    successful_requests: int = 0
    failed_requests: int = 0
    total_requests: int = 0
    total_tokens: int = 0
    spend: float = 0.0


class PerUserAnalyticsResponse(BaseModel):
    results: list[PerUserMetrics]
    total_count: int
    page: int
    page_size: int
    total_pages: int


def router(config: Config, published: Published) -> APIRouter:
    api = APIRouter(tags=["LiteLLM tag analytics"])

    def ask(name: str, **options) -> list[dict] | None:
        """The report's rows with `--compat litellm`, asked without the tags nothing has
        (LiteLLM matches none of their rows); None when no asked tag is left."""
        while True:
            filters = reports.resolve(name, {"compat": "litellm", **options})
            try:
                return published.run(name, filters, config.pseudonymize).records()
            except UnknownValue as unknown:
                if unknown.option == "--tag":
                    options["tag"] = [t for t in options["tag"] if t != unknown.value]
                    if options["tag"]:
                        continue
                elif unknown.option != "--tag-like":
                    raise
                return None

    def tag_options(tag_filter: str | None, tag_filters: list[str] | None) -> dict:
        # LiteLLM: tag_filters (exact) take precedence over tag_filter (a part of one)
        if tag_filters:
            return {"tag": tag_filters}
        return {"tag_like": tag_filter or None}

    @api.get("/tag/distinct", response_model=DistinctTagsResponse)
    def distinct():
        rows = [r for r in ask("tags") or []
                if r["tag"].startswith("User-Agent:") or ":" not in r["tag"]]
        rows.sort(key=lambda r: (-r["daily_rows"], r["tag"]))
        return DistinctTagsResponse(results=[DistinctTagResponse(tag=r["tag"])
                                             for r in rows[:MAX_TAGS]])

    def active(metric: str, tag_filter, tag_filters) -> ActiveUsersAnalyticsResponse:
        rows = [r for r in ask("active-users", **tag_options(tag_filter, tag_filters)) or []
                if r["metric"] == metric]
        if metric == "dau":  # LiteLLM: the latest date first
            rows.sort(key=lambda r: r["tag"])
            rows.sort(key=lambda r: (r["date"], r["active_users"]), reverse=True)
        return ActiveUsersAnalyticsResponse(results=[TagActiveUsersResponse(
            **{k: r[k] for k in TagActiveUsersResponse.model_fields}) for r in rows])

    @api.get("/tag/dau", response_model=ActiveUsersAnalyticsResponse)
    def dau(tag_filter: str | None = None, tag_filters: TagList = None):
        return active("dau", tag_filter, tag_filters)

    @api.get("/tag/wau", response_model=ActiveUsersAnalyticsResponse)
    def wau(tag_filter: str | None = None, tag_filters: TagList = None):
        return active("wau", tag_filter, tag_filters)

    @api.get("/tag/mau", response_model=ActiveUsersAnalyticsResponse)
    def mau(tag_filter: str | None = None, tag_filters: TagList = None):
        return active("mau", tag_filter, tag_filters)

    @api.get("/tag/summary", response_model=TagSummaryResponse)
    def summary(start_date: str, end_date: str, tag_filter: str | None = None,
                tag_filters: TagList = None):
        try:
            first, last = date.fromisoformat(start_date), date.fromisoformat(end_date)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail="Invalid date format. Use "
                                                        f"YYYY-MM-DD: {exc}") from None
        if first > last:  # LiteLLM's WHERE finds nothing
            return TagSummaryResponse(results=[])
        rows = ask("tags", since=first.isoformat(),
                   until=(last + timedelta(days=1)).isoformat(),
                   **tag_options(tag_filter, tag_filters)) or []
        return TagSummaryResponse(results=[TagSummaryMetrics(
            **{k: r[k] for k in TagSummaryMetrics.model_fields}) for r in rows])

    @api.get("/tag/user-agent/per-user-analytics", response_model=PerUserAnalyticsResponse)
    def per_user(tag_filter: str | None = None, tag_filters: TagList = None,
                 page: int = Query(1, ge=1), page_size: int = Query(50, ge=1, le=1000)):
        options = tag_options(tag_filter, tag_filters)
        rows = ask("users", page=page, page_size=page_size, **options) or []
        total = rows[0]["total_count"] if rows else 0
        if not rows and page > 1:  # a page past the end: the count all the same
            total = next((r["total_count"] for r in ask(
                "users", page=1, page_size=1, **options) or []), 0)
        return PerUserAnalyticsResponse(
            results=[PerUserMetrics(**{k: r[k] for k in PerUserMetrics.model_fields})
                     for r in rows],
            total_count=total, page=page, page_size=page_size,
            total_pages=(total + page_size - 1) // page_size)

    return api
