"""Reports: named questions over the marts, with Open WebUI's analytics semantics.

Each report is one SQL file beside this module. It reads `facts` (the filtered usage rows
of facts.sql) and core tables; every option value reaches SQL as a bound parameter.
The CLI and the Python API call `run` alike.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from warehouse.errors import WarehouseError, one_line
from warehouse.reports.catalog import REPORTS, Report, Variant, report_named
from warehouse.reports.known import known_values
from warehouse.reports.options import CHAT_ORDERS, OPTIONS, Filters, checked_text, resolve
from warehouse.results import Result

__all__ = ["REPORTS", "Filters", "Report", "Result", "resolve", "run"]
MAX_ROWS = 1_000_000_000
MAX_BUCKETS = 200_000
FIRST_YEAR, LAST_YEAR = 1900, 9998  # instants whose local day any time zone can hold

RELATIONS = {("usage", True): "_usage_hourly.sql", ("usage", False): "_usage_events.sql",
             ("tags", True): "_tag_hourly.sql", ("tags", False): "_tag_events.sql"}
# active-users and costs --by: the segment each row of activity falls in (fixed SQL,
# never user text).
SEGMENT_SQL = {
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
# Open WebUI's model chats browser: each --order-by and --direction as its ORDER BY (NULLs
# lowest, as SQLite sorts them; ties by chat id). A column the engine sorts directly is
# twice as fast as one chosen by CASE at run time.
CHAT_ORDER = {(column, direction): f"{column} {direction} nulls "
              f"{'first' if direction == 'asc' else 'last'}, chat_id"
              for column in CHAT_ORDERS for direction in ("asc", "desc")}
# costs --by user: who each user is, as every per-user answer says
PERSON_COLUMNS = ("(select any_value(name order by source_name) from core.users "
                  "where user_id = usage.segment) as name, (select any_value(email order "
                  "by source_name) from core.users where user_id = usage.segment) as email,")
_PARAM = re.compile(r"\$([a-z_]+)")
# --granularity as a bucket's length (time_bucket aligns them to local midnight, weeks to
# Monday) and its label
STEPS = {"10m": "10 minutes", "hour": "1 hour", "3h": "3 hours", "6h": "6 hours",
         "day": "1 day", "week": "1 week", "month": "1 month"}
STEP_SECONDS = {"10m": 600, "hour": 3600, "3h": 10800, "6h": 21600, "day": 86400,
                "week": 7 * 86400, "month": 28 * 86400}


def parse_instant(value: str | None, tz: ZoneInfo, option: str) -> datetime | None:
    """A date or datetime as the user wrote it, read in the report's time zone, within
    the years a warehouse can hold."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        instant = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise WarehouseError(
            f"{option} {value!r} is not a date or datetime (use YYYY-MM-DD or "
            "YYYY-MM-DDTHH:MM)") from None
    _check_year(option, value, instant.year)
    return instant


def _check_year(option: str, value: str, year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise WarehouseError(f"{option} {value!r} is outside the years {FIRST_YEAR} to "
                             f"{LAST_YEAR} that reports cover")


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(checked_text("--tz", name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise WarehouseError(f"--tz {name!r} is not a known time zone (e.g. Europe/Berlin)") \
            from None


def run(con, name: str, filters: Filters,
        pseudonymize: bool | None = None) -> Result:
    """The report's rows; people appear as pseudonyms when `pseudonymize` says so (None:
    as the warehouse was last built)."""
    from warehouse import pseudonyms

    secret = pseudonyms.key(con, pseudonymize)
    return pseudonyms.apply(_answer(con, name, filters, secret is not None), secret)


def _answer(con, name: str, filters: Filters,
            hide_people: bool = False, only_users: list | None = None) -> Result:
    """The report's rows; `only_users` keeps the rows of these user ids (a page's users,
    whose costs the users report joins)."""
    spec = report_named(name)
    granularity = filters.granularity or spec.default_granularity
    _check_choice("--granularity", granularity,
                  spec.choices.get("granularity", (granularity,)))
    _check_choice("--by", filters.by, spec.choices.get("by", ("none",)))
    _check_choice("--mau-days", filters.mau_days, OPTIONS["mau_days"].choices)
    currency = _check_currency(filters.currency)
    for option, value in (("--limit", filters.limit), ("--page", filters.page),
                          ("--page-size", filters.page_size)):
        if value is not None and not 0 < value <= MAX_ROWS:
            raise WarehouseError(f"{option} must be a positive number up to {MAX_ROWS:,}, "
                                 f"not {value}")
    if filters.offset is not None and not 0 <= filters.offset <= MAX_ROWS:
        raise WarehouseError(f"--offset must be a number from 0 to {MAX_ROWS:,}, not "
                             f"{filters.offset}")
    if spec.grain == "limits":
        return _limits(con, filters, hide_people)
    if filters.compat is not None:
        _check_choice(f"report {name} --compat", filters.compat, tuple(spec.compat))
    if filters.cost == "none" and filters.metric == "spend":
        raise WarehouseError("--metric spend ranks by cost: leave out --cost none")
    tz = time_zone(filters.tz)
    if filters.compat == "litellm" and filters.tz != "UTC":
        raise WarehouseError(f"--compat {filters.compat} counts UTC days, as LiteLLM does: "
                             "leave out --tz")
    since = parse_instant(filters.since, tz, "--since")
    until = parse_instant(filters.until, tz, "--until")
    if since and until and since >= until:
        raise WarehouseError(f"--since {filters.since} is not before --until {filters.until}")
    if filters.compare and not (since and until):
        raise WarehouseError("--compare needs both --since and --until (the previous period "
                             "is as long as they span)")
    shift = until - since if filters.compare else timedelta()
    _check_span(spec, granularity, since, until)
    _require_built(con)
    known = known_values(con, filters, hide_people)
    currency = currency or con.execute(
        "SELECT max(currency) FROM _warehouse.price_file").fetchone()[0]
    end_date = _end_date(filters.as_of)
    params = {
        "since": since, "until": until, "tz": filters.tz,
        "facts_since": _facts_since(spec, since, tz, filters.mau_days, shift),
        "source": filters.source, "model": filters.model,
        "channel": None if filters.channel == "all" else filters.channel,
        "tags": list(filters.tag) or None, "tag_like": filters.tag_like,
        "user_id": known.user_id, "group_id": known.group_id,
        "include_deleted": not filters.exclude_deleted,
        "granularity": granularity, "metric": filters.metric, "mau_days": filters.mau_days,
        "cost_mode": filters.cost, "currency": currency, "end_date": end_date,
        "limit": filters.limit or spec.default_limit or MAX_ROWS,
        "offset": filters.offset or 0, "only_users": only_users,
        "compare": filters.compare, "shift": shift // timedelta(microseconds=1),
        "step": STEPS.get(granularity), "grain": _grain(tz, since, until, granularity),
        "label": "%Y-%m-%d %H:%M"
        if STEP_SECONDS.get(granularity, 86400) < 86400 else "%Y-%m-%d",
        "order_by": filters.order_by, "descending": filters.direction == "desc",
    }
    if filters.page is not None:
        params["limit"] = filters.page_size
        params["offset"] = (filters.page - 1) * filters.page_size
    window = params["offset"], params["limit"]
    # upstream's own figures have no costs; --cost none asks for none
    costs_by = None if filters.compat or filters.cost == "none" else spec.costs_by
    if costs_by and filters.metric == "spend":  # ranked, paged after costs are joined
        params["offset"], params["limit"] = 0, MAX_ROWS
    import duckdb  # here, not at import: the CLI reads the declarations without it

    *fast, own = spec.variants(name.replace("-", "_"), filters.compat)
    for variant in (*fast, own):
        sql = _report_sql(variant, spec, filters, since, until, tz)
        used = set(_PARAM.findall(sql))
        if used & KEY_BOUNDS.keys() - params.keys():
            params.update(_key_bounds(con))
        try:
            cursor = con.execute(sql, {k: v for k, v in params.items() if k in used})
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            if variant is not own and isinstance(exc, duckdb.BinderException):
                continue  # a warehouse built before what it reads: the slow way
            raise WarehouseError(f"report {name}: {_engine_message(exc)}") from None
        if rows:
            break
    result = Result(name, columns, rows)
    if costs_by:
        result = _with_costs(con, result, filters, costs_by, hide_people, window)
    result = _without_unfilled(con, spec, result)
    result = _without_unasked(spec, result, filters)
    result.notes += _notes(con, name, filters, result, end_date)
    return result


# bitstring_agg's upper bounds (parameter: key table, key column): the last key given
KEY_BOUNDS = {"chat_keys": ("core.chat_keys", "chat_key"),
              "user_keys": ("core.user_keys", "user_key")}


def _key_bounds(con) -> dict[str, int]:
    """The last key each key table gave (1 if none, or if a file built before them has
    no key table: the variant that counts by keys then fails to bind and the ids count)."""
    import duckdb

    bounds = {}
    for param, (table, key) in KEY_BOUNDS.items():
        try:
            bounds[param] = con.execute(
                f"SELECT coalesce(max({key}), 1) FROM {table}").fetchone()[0]
        except duckdb.CatalogException:
            bounds[param] = 1
    return bounds


def _notes(con, name: str, filters: Filters, result: Result, end_date: date) -> list[str]:
    """What a reader must know to read the answer right: costs it could not reprice,
    purged days counted per tag, LiteLLM windows that end after the data."""
    notes = []
    columns, rows = result.columns, result.rows
    if "unpriced_responses" in columns and filters.cost != "as-billed":
        unpriced = sum(r[columns.index("unpriced_responses")] or 0 for r in rows)
        loaded = con.execute("SELECT count(*) FROM _warehouse.price_file").fetchone()[0]
        if unpriced and not loaded:
            notes.append("no price file loaded, so nothing is repriced: write one and run "
                         "'warehouse build --prices FILE' (see README)")
        elif unpriced:
            notes.append(f"{unpriced:,} responses have no price in the price file (their "
                         "repriced cost is missing): see 'warehouse report unpriced-models'")
    if (len(filters.tag) > 1 or filters.tag_like) and not filters.compat and con.execute(
            "SELECT EXISTS (SELECT 1 FROM marts.tag_hourly WHERE day_aggregate)").fetchone()[0]:
        notes.append("on LiteLLM days whose spend logs were purged, figures come from its "
                     "daily tag table: a request with several of the chosen tags counts once "
                     "per tag there")
    if filters.compat and name == "active-users" and "dau" not in {r[0] for r in rows}:
        notes.append(
            f"no daily rows: LiteLLM's windows end on {end_date} (the day after "
            f"{'--as-of' if filters.as_of else 'today in UTC'}); for data that ends "
            "earlier, pass --as-of DATE")
    return notes


def _with_costs(con, result: Result, filters: Filters, segment: str, hide_people: bool,
                window: tuple[int, int]) -> Result:
    """`result` with the costs report's cost columns for its rows' `segment` (so both
    reports show the same figures), ranked by cost for --metric spend, then paged."""
    key = result.columns.index(f"{segment}_id")
    # the page's users only, unless the page is chosen by cost
    only = None if filters.metric == "spend" else [row[key] or "" for row in result.rows]
    costs = _answer(con, "costs", replace(filters, by=segment, granularity="all", limit=None,
                                          page=None), hide_people, only)
    picked = [c for c in ("currency", "billed_cost", "repriced_cost") if c in costs.columns]
    at = [costs.columns.index(c) for c in picked]
    by_key = {row[costs.columns.index(segment)]: tuple(row[i] for i in at)
              for row in costs.rows}
    rows = [(*row, *by_key.get(row[key], (None,) * len(at))) for row in result.rows]
    columns = [*result.columns, *picked]
    if filters.metric == "spend":
        cost = [columns.index(c) for c in ("repriced_cost", "billed_cost") if c in columns]
        rows.sort(key=lambda r: (-next((r[i] for i in cost if r[i] is not None), 0),
                                 -r[columns.index("count")], r[key] or ""))
        offset, limit = window
        rows = rows[offset:offset + limit]
    return Result(result.name, columns, rows, result.notes + costs.notes)


def _without_unfilled(con, spec: Report, result: Result) -> Result:
    """Leave out the columns that no source kind in the warehouse can fill."""
    if not spec.kind_columns:
        return result
    kinds = {r[0] for r in con.execute(
        "SELECT DISTINCT source_kind FROM _warehouse.source_tables").fetchall()}
    return result.without({c for c, kind in spec.kind_columns.items() if kind not in kinds})


def _without_unasked(spec: Report, result: Result, filters: Filters) -> Result:
    """Leave out the columns of options not given (--compare's previous figures)."""
    return result.without({c for option, columns in spec.only_with.items()
                           if not getattr(filters, option) for c in columns})


def _end_date(as_of: str | None) -> date:
    """LiteLLM's windows end the day after its 'today' (UTC), or after --as-of."""
    if as_of is None:
        return datetime.now(UTC).date() + timedelta(days=1)
    try:
        day = date.fromisoformat(as_of.strip())
    except ValueError:
        raise WarehouseError(f"--as-of {as_of!r} is not a date (use YYYY-MM-DD)") from None
    _check_year("--as-of", as_of, day.year)
    return day + timedelta(days=1)


def _check_span(spec: Report, granularity: str, since, until) -> None:
    """Reports that fill empty buckets refuse windows with more buckets than any screen
    or file could use (e.g. hours from 1970 to 9999)."""
    if since is None or until is None or spec.fills is None:
        return
    granularity = granularity if spec.fills == "granularity" else spec.fills
    buckets = (until - since).total_seconds() / STEP_SECONDS[granularity]
    if buckets > MAX_BUCKETS:
        raise WarehouseError(f"--since {since.date()} to --until {until.date()} is "
                             f"{buckets:,.0f} {granularity}s: at most {MAX_BUCKETS:,} "
                             "buckets; choose a shorter window or a coarser --granularity")


def _limits(con, filters: Filters, hide_people: bool) -> Result:
    """Rows at or over --threshold percent, compared exactly (the shown percent is
    rounded): the credits report's figures (one rule for both) and LiteLLM's budgets.
    --user/--group keep only rows about those users."""
    threshold = Decimal(str(filters.threshold))
    if not 0 < threshold <= 10_000:
        raise WarehouseError(f"--threshold {filters.threshold} must be a percentage above 0 "
                             "and at most 10000")
    rows = []
    for r in _answer(con, "credits", filters, hide_people).records():
        kind = "credits_daily" if r["kind"] == "daily" else "credits_sponsored"
        subject = r["user_id"] if kind == "credits_daily" else r["allowance"]
        rows.append((kind, r["date"], subject, r["name"] or r["allowance"], "credits",
                     Decimal(r["credits_used"]), Decimal(r["allowance_credits"] or 0)))
    user_id = known_values(con, filters, hide_people).user_id
    for kind, subject, name, used, budget in con.execute(
            "SELECT kind, subject_id, subject_name, used, budget "
            "FROM core.budgets WHERE ($source IS NULL OR source_name = $source) "
            "ORDER BY ALL", {"source": filters.source}).fetchall():
        if filters.group or (user_id and not (kind == "litellm_user" and subject == user_id)):
            continue
        rows.append((kind, None, subject, name, "USD", used, budget))
    out = []
    for kind, day, subject, name, unit, used, limit in rows:
        if (limit > 0 and used * 100 >= threshold * limit) or (limit <= 0 and used > 0):
            percent = (used * 100 / limit).quantize(Decimal("0.01")) if limit > 0 else None
            out.append((kind, day, subject, name, unit, used, limit, percent))
    out.sort(key=lambda r: (-(r[7] if r[7] is not None else Decimal(10**9)), r[0],
                            r[1] or "", r[2] or ""))
    columns = ["kind", "date", "subject", "name", "unit", "used", "limit", "percent"]
    return Result("limits", columns, out[: filters.limit] if filters.limit else out)


def _engine_message(exc: Exception) -> str:
    """The engine's message; an error() raised by a report's SQL is shown as written."""
    message = one_line(exc)
    return re.sub(r"^Invalid Input Error:\s*", "", message)


def _report_sql(variant: Variant, spec: Report, filters: Filters, since, until,
                tz) -> str:
    """The variant's SQL with its `facts` CTE: the filtered rows of the right relation."""
    granularity = filters.granularity or spec.default_granularity
    if filters.compat:
        report = _filled(variant, filters.compat).replace(
            "{chat_order}", CHAT_ORDER[filters.order_by, filters.direction])
        if not re.search(r"\bfacts\b", report):  # LiteLLM's: its own tables
            return report
    elif spec.grain == "credits":
        return _filled(variant)
    grain = "tags" if filters.by == "tag" else spec.grain
    hourly = _hour_aligned(tz, since, until) and granularity != "10m"
    relation = _sql(RELATIONS[(grain, hourly)])
    if grain == "usage" and (filters.tag or filters.tag_like):
        relation = (f"select * from ({relation}) where not day_aggregate\n"
                    f"union all by name\n{_sql('_tag_days.sql')}")
    facts = _sql("facts.sql").replace("{relation}", relation)
    if filters.compat:
        return _with_facts(facts, report)
    segment, segment_join = SEGMENT_SQL[filters.by]
    costs = {"as-billed": "totals.billed_cost::decimal(38, 6) as billed_cost,",
             "repriced": "totals.repriced_cost::decimal(38, 6) as repriced_cost,"}
    stem = variant.stem
    report = (_filled(variant)
              .replace("{segment}", segment).replace("{segment_join}", segment_join)
              .replace("{segment_column}",
                       "" if filters.by == "none" else f'usage.segment as "{filters.by}",'
                       + (PERSON_COLUMNS if filters.by == "user" else "")
                       if stem == "costs" else f', segment as "{filters.by}"')
              .replace("{period}", "null::date" if granularity == "all" else
                       "cast(date_trunc($granularity, timezone($tz, facts.ts)) as date)")
              .replace("{period_column}", "" if granularity == "all" else
                       "strftime(usage.period, '%Y-%m-%d') as period_start,")
              .replace("{cost_columns}", " ".join(
                  v for k, v in costs.items() if filters.cost in (k, "both"))))
    return _with_facts(facts, report)


def _filled(variant: Variant, compat: str | None = None) -> str:
    """The variant's file with its placeholders filled by their snippet files."""
    text = _sql(variant.file(compat)).strip()
    for _ in range(len(variant.parts) + 1):  # a snippet may hold another's placeholder
        before = text
        for placeholder, snippet in variant.parts.items():
            text = text.replace(f"{{{placeholder}}}", _sql(f"{snippet}.sql").strip())
        if text == before:
            return text
    raise AssertionError(f"{variant}: its snippets fill each other's placeholders in a cycle")


def _with_facts(facts: str, report: str) -> str:
    """`report` with `facts` as its first CTE."""
    if re.match(r"with\s", report, re.I):
        return f"with facts as not materialized ({facts}),\n{report[5:]}"
    return f"with facts as not materialized ({facts})\n{report}"


def _facts_since(spec: Report, since: datetime | None, tz: ZoneInfo,
                 mau_days: int, compared: timedelta) -> datetime | None:
    """Where the rows must start for the report to be right from --since on: trailing
    windows look back mau_days - 1 local days; cohorts need each user's first activity;
    --compare reads the period before as well."""
    if spec.lookback == "all":
        return None
    if compared and since is not None:
        return since - compared
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


def _sql(file: str) -> str:
    from importlib import resources

    text = resources.files("warehouse.reports").joinpath(file).read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def _check_choice(option: str, value, choices: tuple) -> None:
    if value not in choices:
        raise WarehouseError(
            f"{option} {value!r} is not one of {', '.join(str(c) for c in choices)}")


def _hour_aligned(tz: ZoneInfo, since: datetime | None, until: datetime | None) -> bool:
    """Whether hourly rows answer exactly: whole-hour offsets and whole-hour bounds."""
    for bound in (since, until):
        if bound is not None and (bound.minute or bound.second or bound.microsecond):
            return False
    return _whole_hour_zone(tz, since, until)


def _grain(tz: ZoneInfo, since, until, granularity: str) -> int:
    """Seconds of UTC time that fall whole into one local bucket of `granularity`: a
    bucket starts on a local whole hour (10 minutes for 10m), which in a zone of whole-
    hour offsets is a UTC whole hour; any zone's bucket is made of whole seconds."""
    if not _whole_hour_zone(tz, since, until):
        return 1
    return min(3600, STEP_SECONDS.get(granularity, 86400))


def _whole_hour_zone(tz: ZoneInfo, since: datetime | None, until: datetime | None) -> bool:
    """Whether the zone's offsets are whole hours from the year before `since` to the year
    after `until` (or this year). Without `since`, from 2020: the usage the sources log is
    younger (and Caracas, 4.5 hours behind UTC from 2007 to 2016, is whole since)."""
    first = since.year if since else 2020
    last = until.year if until else datetime.now(UTC).year
    for year in range(first - 1, last + 2):
        for month in (1, 4, 7, 10):
            offset = datetime(year, month, 1, tzinfo=tz).utcoffset() or timedelta()
            if offset.total_seconds() % 3600:
                return False
    return True


def _require_built(con) -> None:
    """Marts built by this version: both relations with their cost columns, and the
    price tables. Asked by binding a query that reads them (a fraction of a millisecond;
    the catalog's column list costs 4 ms, on every report the server answers)."""
    import duckdb

    try:
        con.execute("SELECT u.repriced_cost, t.repriced_cost, p.currency FROM "
                    "marts.usage_hourly AS u, marts.tag_hourly AS t, "
                    "_warehouse.price_file AS p LIMIT 0").fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):
        raise WarehouseError("the warehouse's marts are missing or out of date: run "
                             "'warehouse build'") from None
