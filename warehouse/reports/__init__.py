"""Reports: named questions over the marts, with Open WebUI's analytics semantics.

Each report is one SQL file beside this module. It reads `facts` (the filtered usage rows
of facts.sql) and core tables; every option value reaches SQL as a bound parameter.
The CLI and the Python API call `run` alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from warehouse.errors import WarehouseError, one_line


@dataclass(frozen=True)
class Report:
    """What a report needs: its rows' grain, defaults, and the compat modes it has."""

    description: str
    # 'usage': one row per response; 'tags': per response and tag; 'credits': reads
    # core.credit_usage itself
    grain: str = "usage"
    default_limit: int | None = None
    granularities: tuple[str, ...] = ("hour", "day", "week", "month")
    default_granularity: str = "day"
    # How far before --since the rows are read: 'mau' (trailing windows), 'all' (cohorts)
    lookback: str | None = None
    compat: tuple[str, ...] = ()
    pageable: bool = False  # takes --page / --page-size
    by: tuple[str, ...] = ()  # the --by segments it takes
    # a SQL file that answers the usual question without reading every row, and returns
    # no rows when it cannot vouch for the answer (the report's own file then answers)
    fast: str | None = None


METRICS = ("messages", "tokens", "spend", "successful")
CHANNELS = ("ui", "api", "task", "all")
BY = ("none", "tag", "group", "model", "channel", "source")
COST_MODES = ("as-billed", "repriced", "both")

REPORTS = {
    "summary": Report("totals: messages, chats, models, users, tokens"),
    "models": Report("per model: messages, distinct users and chats"),
    "users": Report("per user: messages, requests, tokens, spend, user agent; ranked by "
                    "--metric, paged by --page", default_limit=50, pageable=True),
    "daily": Report("per time bucket (--granularity) and model: messages and tokens, gaps "
                    "filled"),
    "tokens": Report("per model: input, output and total tokens, then the total"),
    "chats": Report("chats that used a model (--model): owner, first message, last update",
                    default_limit=50, fast="chats_recent"),
    "feedback": Report("per model: daily won/lost ratings and the top 10 chat tags"),
    "tags": Report("per tag, by frequency: users, requests, tokens, spend", grain="tags",
                   compat=("litellm",)),
    "active-users": Report("per day: DAU, WAU, MAU and stickiness, by --by", lookback="mau",
                           compat=("litellm",), by=BY),
    "retention": Report("cohorts by first active period: share active N periods later",
                        granularities=("day", "week", "month"), default_granularity="week",
                        lookback="all"),
    "keys": Report("per LiteLLM key (alias, hash): requests, tokens, spend; deleted keys "
                   "too"),
    "teams": Report("per LiteLLM team: keys, users, requests, tokens, spend"),
    "costs": Report("chargeback per --by (user, model, group, channel, tag, source) and "
                    "period: cost as billed and repriced, in one --currency",
                    granularities=("day", "week", "month", "all"),
                    default_granularity="month", by=(*BY, "user")),
    "unpriced-models": Report("models whose responses no price in the price file covers"),
    "limits": Report("who is at or over --threshold % of an allowance or budget: the "
                     "plugin's daily and sponsored credits, LiteLLM's key, user and team "
                     "budgets", grain="limits"),
    "credits": Report("token-tracking plugin: credits used, allowance and remaining per "
                      "user and day; sponsored allowances' totals", grain="credits"),
}
MAU_DAYS = (28, 30)
RELATIONS = {("usage", True): "_usage_hourly.sql", ("usage", False): "_usage_events.sql",
             ("tags", True): "_tag_hourly.sql", ("tags", False): "_tag_events.sql"}
# active-users --by: the segment each row of activity falls in (fixed SQL, never user text).
SEGMENTS = {
    "none": ("'all'", ""),
    "tag": ("tag", ""),
    "model": ("model_id", ""),
    "user": ("facts.user_id", ""),
    "channel": ("channel", ""),
    "source": ("source_name", ""),
    "group": ("groups.name", "join core.group_members as members on members.source_name = "
              "facts.source_name and members.user_id = facts.user_id join core.groups as "
              "groups on groups.source_name = members.source_name and groups.group_id = "
              "members.group_id"),
}
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
    channel: str = "all"
    tags: tuple[str, ...] = ()
    tag_like: str | None = None
    granularity: str | None = None
    metric: str = "messages"
    by: str = "none"
    mau_days: int = 30
    limit: int | None = None
    page: int | None = None
    page_size: int = 50
    compat: str | None = None
    include_deleted: bool = True
    cost: str = "both"
    currency: str | None = None
    threshold: float = 80.0


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
    """The report's rows; with `[warehouse] pseudonymize`, people appear as pseudonyms."""
    from warehouse import pseudonyms

    result = _answer(con, name, filters)
    return pseudonyms.apply(result, pseudonyms.key(con))


def _answer(con: duckdb.DuckDBPyConnection, name: str, filters: Filters) -> Result:
    if name not in REPORTS:
        raise WarehouseError(
            f"unknown report {name!r} (reports: {', '.join(REPORTS)})")
    spec = REPORTS[name]
    granularity = filters.granularity or spec.default_granularity
    _check_choice("--granularity", granularity, spec.granularities)
    _check_choice("--metric", filters.metric, METRICS)
    _check_choice("--channel", filters.channel, CHANNELS)
    _check_choice("--by", filters.by, spec.by or ("none",))
    _check_choice("--cost", filters.cost, COST_MODES)
    currency = _check_currency(filters.currency)
    _check_choice("--mau-days", filters.mau_days, MAU_DAYS)
    if spec.grain in ("credits", "limits"):
        unsupported = [option for option, value in (
            ("--model", filters.model), ("--tag", filters.tags),
            ("--tag-like", filters.tag_like), ("--channel", filters.channel != "all"))
            if value]
        if unsupported:
            raise WarehouseError(f"report {name} does not take {unsupported[0]}: the "
                                 "plugin's credits are per user and day")
    if spec.grain == "limits":
        return _limits(con, filters)
    if filters.page is not None and not spec.pageable:
        pageable = ", ".join(n for n, r in REPORTS.items() if r.pageable)
        raise WarehouseError(f"--page works with the {pageable} report, not {name}")
    if filters.compat is not None:
        _check_choice(f"--compat for report {name}", filters.compat, spec.compat or ("none",))
    for option, value in (("--limit", filters.limit), ("--page", filters.page),
                          ("--page-size", filters.page_size)):
        if value is not None and value < 1:
            raise WarehouseError(f"{option} must be a positive number, not {value}")
    tz = time_zone(filters.tz)
    if filters.compat and filters.tz != "UTC":
        raise WarehouseError(f"--compat {filters.compat} counts UTC days, as LiteLLM does: "
                             "leave out --tz")
    since = parse_instant(filters.since, tz, "--since")
    until = parse_instant(filters.until, tz, "--until")
    if since and until and since >= until:
        raise WarehouseError(f"--since {filters.since} is not before --until {filters.until}")
    _require_built(con)
    tags = _check_tags(con, filters.tags)
    currency = currency or con.execute(
        "SELECT max(currency) FROM _warehouse.price_file").fetchone()[0]
    params = {
        "since": since, "until": until, "tz": filters.tz,
        "facts_since": _facts_since(spec, since, tz, filters.mau_days),
        "source": filters.source, "model": filters.model,
        "channel": None if filters.channel == "all" else filters.channel,
        "tags": tags, "tag_like": filters.tag_like,
        "user_id": _resolve_user(con, filters.user),
        "group_id": _resolve_group(con, filters.group),
        "include_deleted": filters.include_deleted,
        "granularity": granularity, "metric": filters.metric, "mau_days": filters.mau_days,
        "cost_mode": filters.cost, "currency": currency,
        "end_date": datetime.now(UTC).date() + timedelta(days=1),
        "limit": filters.limit or spec.default_limit or 1_000_000_000, "offset": 0,
    }
    if filters.page is not None:
        params["limit"] = filters.page_size
        params["offset"] = (filters.page - 1) * filters.page_size
    fast = () if spec.fast is None or filters.compat else (spec.fast,)
    for stem in (*fast, name.replace("-", "_")):
        sql = _report_sql(stem, spec, filters, since, until, tz)
        used = set(_PARAM.findall(sql))
        try:
            cursor = con.execute(sql, {k: v for k, v in params.items() if k in used})
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            raise WarehouseError(f"report {name}: {_engine_message(exc)}") from None
        if rows:
            break
    result = Result(name, columns, rows)
    if "unpriced_responses" in columns and filters.cost != "as-billed":
        unpriced = sum(r[columns.index("unpriced_responses")] or 0 for r in rows)
        loaded = con.execute("SELECT count(*) FROM _warehouse.price_file").fetchone()[0]
        if unpriced and not loaded:
            result.notes.append("no price file loaded, so nothing is repriced: write one "
                                "and run 'warehouse build --prices FILE' (see README)")
        elif unpriced:
            result.notes.append(f"{unpriced:,} responses have no price in the price file "
                                "(their repriced cost is missing): see 'warehouse report "
                                "unpriced-models'")
    return result


def _limits(con, filters: Filters) -> Result:
    """Rows at or over --threshold percent: the credits report's figures (one rule for
    both) and LiteLLM's budgets. --user/--group keep only rows about those users."""
    if not 0 < filters.threshold <= 10_000:
        raise WarehouseError(f"--threshold {filters.threshold:g} must be a percentage above 0")
    threshold = Decimal(str(filters.threshold))
    rows = []
    for r in _answer(con, "credits", filters).records():
        kind = "credits_daily" if r["kind"] == "daily" else "credits_sponsored"
        subject = r["user_id"] if kind == "credits_daily" else r["allowance"]
        rows.append((kind, r["date"], subject, r["name"] or r["allowance"], "credits",
                     Decimal(r["credits_used"]), Decimal(r["allowance_credits"] or 0)))
    _require_built(con)
    user_id = _resolve_user(con, filters.user)
    for kind, subject, name, used, budget in con.execute(
            "SELECT kind, subject_id, subject_name, used, budget "
            "FROM core.budgets WHERE ($source IS NULL OR source_name = $source) "
            "ORDER BY ALL", {"source": filters.source}).fetchall():
        if filters.group or (user_id and not (kind == "litellm_user" and subject == user_id)):
            continue
        rows.append((kind, None, subject, name, "USD", used, budget))
    out = []
    for kind, day, subject, name, unit, used, limit in rows:
        percent = (used * 100 / limit).quantize(Decimal("0.1")) if limit > 0 else None
        if (percent is None and used > 0) or (percent is not None and percent >= threshold):
            out.append((kind, day, subject, name, unit, used, limit, percent))
    out.sort(key=lambda r: (-(r[7] if r[7] is not None else Decimal(10**9)), r[0],
                            r[1] or "", r[2] or ""))
    columns = ["kind", "date", "subject", "name", "unit", "used", "limit", "percent"]
    return Result("limits", columns, out[: filters.limit] if filters.limit else out)


def _engine_message(exc: duckdb.Error) -> str:
    """The engine's message; an error() raised by a report's SQL is shown as written."""
    message = one_line(exc)
    return re.sub(r"^Invalid Input Error:\s*", "", message)


def _report_sql(stem: str, spec: Report, filters: Filters, since, until, tz) -> str:
    """The SQL file `stem` with its `facts` CTE: the filtered rows of the right relation."""
    if filters.compat:
        return _sql(f"compat_{filters.compat}_{stem}.sql")
    if spec.grain == "credits":
        return _sql(f"{stem}.sql")
    grain = "tags" if filters.by == "tag" else spec.grain
    relation = _sql(RELATIONS[(grain, _hour_aligned(tz, since, until))])
    facts = _sql("facts.sql").replace("{relation}", relation)
    segment, segment_join = SEGMENTS[filters.by]
    granularity = filters.granularity or spec.default_granularity
    costs = {"as-billed": "totals.billed_cost::decimal(38, 6) as billed_cost,",
             "repriced": "totals.repriced_cost::decimal(38, 6) as repriced_cost,"}
    report = (_sql(f"{stem}.sql").strip()
              .replace("{segment}", segment).replace("{segment_join}", segment_join)
              .replace("{segment_column}",
                       "" if filters.by == "none" else f'usage.segment as "{filters.by}",'
                       if stem == "costs" else f', segment as "{filters.by}"')
              .replace("{period}", "null::date" if granularity == "all" else
                       "cast(date_trunc($granularity, timezone($tz, facts.ts)) as date)")
              .replace("{period_column}", "" if granularity == "all" else
                       "strftime(usage.period, '%Y-%m-%d') as period_start,")
              .replace("{cost_columns}", " ".join(
                  v for k, v in costs.items() if filters.cost in (k, "both"))))
    if re.match(r"with\s", report, re.I):
        return f"with facts as not materialized ({facts}),\n{report[5:]}"
    return f"with facts as not materialized ({facts})\n{report}"


def _facts_since(spec: Report, since: datetime | None, tz: ZoneInfo,
                 mau_days: int) -> datetime | None:
    """Where the rows must start for the report to be right from --since on: trailing
    windows look back mau_days - 1 local days; cohorts need each user's first activity."""
    if spec.lookback == "all":
        return None
    if spec.lookback == "mau" and since is not None:
        # wall-clock arithmetic in the report's zone, so DST changes keep local midnight
        return (since.astimezone(tz) - timedelta(days=mau_days - 1)).astimezone(UTC)
    return since


def _check_currency(currency: str | None) -> str | None:
    """--currency takes an ISO 4217 code; rates come from the price file."""
    if currency is None:
        return None
    from warehouse.currencies import ISO_4217

    code = currency.strip().upper()
    if code not in ISO_4217:
        raise WarehouseError(f"--currency {currency!r} is not an ISO 4217 code (e.g. USD, EUR)")
    return code


def _check_tags(con, tags: tuple[str, ...]) -> list[str] | None:
    """--tag takes exact tags; one that no response carries is an error, not an empty
    report, because it is most often a typo."""
    if not tags:
        return None
    known = {r[0] for r in con.execute(
        "SELECT DISTINCT tag FROM marts.tag_hourly WHERE tag IN (SELECT unnest(?))",
        [list(tags)]).fetchall()}
    unknown = [t for t in tags if t not in known]
    if unknown:
        raise WarehouseError(
            f"--tag {unknown[0]!r}: no response carries that tag (see 'warehouse report "
            "tags', or --tag-like for a part of a tag)")
    return list(tags)


def _sql(file: str) -> str:
    text = resources.files("warehouse.reports").joinpath(file).read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def _check_choice(option: str, value, choices: tuple) -> None:
    if value not in choices:
        raise WarehouseError(
            f"{option} {value!r} is not one of {', '.join(str(c) for c in choices)}")


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
    # marts built by this version: both relations, their cost columns, the price tables
    row = con.execute(
        "SELECT count(DISTINCT table_schema || '.' || table_name) FROM "
        "information_schema.columns WHERE (table_schema = 'marts' AND table_name IN "
        "('usage_hourly', 'tag_hourly') AND column_name = 'repriced_cost') OR "
        "(table_schema = '_warehouse' AND table_name = 'price_file')").fetchone()
    if row[0] < 3:
        raise WarehouseError("the warehouse's marts are missing or out of date: run "
                             "'warehouse build'")


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
