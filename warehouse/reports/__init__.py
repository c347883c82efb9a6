"""Reports: named questions over the marts, with Open WebUI's analytics semantics.

Each report is one SQL file beside this module. It reads `facts` (the filtered usage rows
of facts.sql) and core tables; every option value reaches SQL as a bound parameter.
The CLI and the Python API call `run` alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from warehouse.errors import WarehouseError, one_line

REPORTS = {
    "summary": "totals: messages, chats, models, users, tokens",
    "models": "per model: messages, distinct users and chats",
    "users": "per user: messages and tokens, ranked by --metric",
    "daily": "per time bucket (--granularity) and model: messages and tokens, gaps filled",
    "tokens": "per model: input, output and total tokens, then the total",
    "chats": "chats that used a model (--model): owner, first message, last update",
    "feedback": "per model: daily won/lost ratings and the top 10 chat tags",
}
GRANULARITIES = ("hour", "day", "week", "month")
METRICS = ("messages", "tokens")
MART = (
    "select hour as ts, source_name, channel, user_id, model_id, chat_id, deleted_in_source, "
    "messages, input_tokens, output_tokens, usage_messages, reported_messages "
    "from marts.usage_hourly"
)
EVENTS = (
    "select occurred_at as ts, source_name, channel, user_id, model_id, chat_id, "
    "deleted_in_source, 1 as messages, input_tokens, output_tokens, "
    "usage_present::int as usage_messages, usage_reported::int as reported_messages "
    "from core.usage_events"
)
_PARAM = re.compile(r"\$([a-z_]+)")


@dataclass
class Filters:
    since: str | None = None
    until: str | None = None
    tz: str = "UTC"
    group: str | None = None
    user: str | None = None
    model: str | None = None
    source: str | None = None
    granularity: str = "day"
    metric: str = "messages"
    limit: int | None = None
    include_deleted: bool = True


@dataclass
class Result:
    name: str
    columns: list[str]
    rows: list[tuple]
    notes: list[str] = field(default_factory=list)

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def parse_instant(value: str | None, tz: ZoneInfo, option: str) -> datetime | None:
    """A date or datetime as the user wrote it, read in the report's time zone."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise WarehouseError(
            f"{option} {value!r} is not a date or datetime (use YYYY-MM-DD or "
            "YYYY-MM-DDTHH:MM)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WarehouseError(f"--tz {name!r} is not a known time zone (e.g. Europe/Berlin)") \
            from None


def run(con: duckdb.DuckDBPyConnection, name: str, filters: Filters) -> Result:
    if name not in REPORTS:
        raise WarehouseError(
            f"unknown report {name!r} (reports: {', '.join(REPORTS)})")
    _check_choice("--granularity", filters.granularity, GRANULARITIES)
    _check_choice("--metric", filters.metric, METRICS)
    if filters.limit is not None and filters.limit < 1:
        raise WarehouseError(f"--limit must be a positive number, not {filters.limit}")
    tz = time_zone(filters.tz)
    since = parse_instant(filters.since, tz, "--since")
    until = parse_instant(filters.until, tz, "--until")
    if since and until and since >= until:
        raise WarehouseError(f"--since {filters.since} is not before --until {filters.until}")
    _require_built(con)
    relation = MART if _hour_aligned(tz, since, until) else EVENTS
    facts = _sql("facts.sql").replace("{relation}", relation)
    report = _sql(f"{name}.sql").strip()
    if re.match(r"with\s", report, re.I):
        sql = f"with facts as ({facts}),\n{report[5:]}"
    else:
        sql = f"with facts as ({facts})\n{report}"
    params = {
        "since": since, "until": until, "tz": filters.tz,
        "source": filters.source, "model": filters.model,
        "user_id": _resolve_user(con, filters.user),
        "group_id": _resolve_group(con, filters.group),
        "include_deleted": filters.include_deleted,
        "granularity": filters.granularity, "metric": filters.metric,
        "limit": filters.limit if filters.limit is not None else (
            50 if name in ("users", "chats") else 1_000_000_000),
    }
    used = set(_PARAM.findall(sql))
    try:
        cursor = con.execute(sql, {k: v for k, v in params.items() if k in used})
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        raise WarehouseError(f"report {name}: {one_line(exc)}") from None
    return Result(name, columns, rows)


def _sql(file: str) -> str:
    text = resources.files("warehouse.reports").joinpath(file).read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def _check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise WarehouseError(f"{option} {value!r} is not one of {', '.join(choices)}")


def _hour_aligned(tz: ZoneInfo, *instants: datetime | None) -> bool:
    """Whether hourly rows answer exactly: whole-hour offsets and whole-hour bounds."""
    for bound in instants:
        if bound is not None and (bound.minute or bound.second or bound.microsecond):
            return False
    years = {b.year for b in instants if b is not None} or {datetime.now(UTC).year}
    for year in range(min(years) - 1, max(years) + 2):
        for month in (1, 4, 7, 10):
            offset = datetime(year, month, 1, tzinfo=tz).utcoffset() or timedelta()
            if offset.total_seconds() % 3600:
                return False
    return True


def _require_built(con) -> None:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' "
        "AND table_name = 'usage_hourly'").fetchone()
    if not row[0]:
        raise WarehouseError("the warehouse has no marts yet: run 'warehouse build' first")


def _resolve_user(con, user: str | None) -> str | None:
    """--user takes an id or an email address."""
    if user is None:
        return None
    row = con.execute(
        "SELECT user_id FROM core.users WHERE user_id = ? OR lower(email) = lower(?) LIMIT 1",
        [user, user]).fetchone()
    if row is None:
        raise WarehouseError(f"--user {user!r}: no user with that id or email")
    return row[0]


def _resolve_group(con, group: str | None) -> str | None:
    """--group takes a group id or a group name (unique among sources)."""
    if group is None:
        return None
    rows = con.execute(
        "SELECT DISTINCT group_id FROM core.groups WHERE group_id = ? OR name = ?",
        [group, group]).fetchall()
    if not rows:
        raise WarehouseError(f"--group {group!r}: no group with that id or name")
    if len(rows) > 1:
        raise WarehouseError(f"--group {group!r} names several groups: use its id")
    return rows[0][0]
