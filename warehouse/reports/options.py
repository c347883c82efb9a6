"""The options reports take: one table that the CLI, the Python API and the help read.

Each option is declared once (its value's type, its choices, its default); each report
declares which of them it honours (warehouse/reports/catalog.py). `resolve` turns what a
caller gave, as CLI strings or Python values, into Filters, and refuses anything the
report would not honour, so no option is ever silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from warehouse.errors import WarehouseError, did_you_mean


@dataclass(frozen=True)
class Option:
    """One report option: `name` is the Python keyword, `flag` the command line's."""

    name: str
    help: str
    kind: str = "text"  # text | date | int | number | flag | repeat | choice
    choices: tuple = ()
    default: object = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


# 10m, 3h and 6h are Open WebUI's chart buckets (aligned to local midnight)
GRANULARITIES = ("10m", "hour", "3h", "6h", "day", "week", "month", "all")
CHAT_ORDERS = ("updated_at", "title", "user_name")
BY = ("none", "tag", "group", "model", "channel", "source", "user")
OPTIONS = {o.name: o for o in (
    Option("since", "Start, inclusive: YYYY-MM-DD or YYYY-MM-DDTHH:MM.", "date"),
    Option("until", "End, exclusive: YYYY-MM-DD or YYYY-MM-DDTHH:MM.", "date"),
    Option("tz", "Time zone of dates and buckets (e.g. Europe/Berlin).", default="UTC"),
    Option("group", "Only members of this group (id or name), sub-groups too."),
    Option("user", "Only this user (id or email)."),
    Option("model", "Only this model id."),
    Option("source", "Only this source name."),
    Option("channel", "ui (Open WebUI chats), api (API calls), task (background tasks) "
                      "or all.", "choice", ("ui", "api", "task", "all"), "all"),
    Option("tag", "Only responses with this exact tag (repeatable: any of them).",
           "repeat", default=()),
    Option("tag_like", "Only responses with a tag containing this text."),
    Option("exclude_deleted", "Leave out responses deleted (or purged) in the source.",
           "flag", default=False),
    Option("granularity", "Time buckets.", "choice", GRANULARITIES),
    Option("metric", "What ranks the users.", "choice",
           ("messages", "tokens", "spend", "successful"), "messages"),
    Option("by", "One row per this segment.", "choice", BY, "none"),
    Option("cost", "as-billed (the sources' own), repriced (price file), both, or none "
                   "(users: no cost columns, and no costs computed).",
           "choice", ("as-billed", "repriced", "both", "none"), "both"),
    Option("currency", "Convert costs to this ISO 4217 currency (rates from the price "
                       "file)."),
    Option("mau_days", "The monthly window in days.", "choice", (28, 30), 30),
    Option("threshold", "Show what is at or over this percent of its limit.", "number",
           default=Decimal(80)),
    Option("compare", "Also the previous period of the same length (needs --since and "
                      "--until): its figures beside each bucket's.", "flag", default=False),
    Option("limit", "At most this many rows.", "int"),
    Option("offset", "Skip this many rows first.", "int"),
    Option("order_by", "What orders the rows.", "choice", CHAT_ORDERS, "updated_at"),
    Option("direction", "asc or desc.", "choice", ("desc", "asc"), "desc"),
    Option("page", "This page of --page-size rows.", "int"),
    Option("page_size", "Rows per --page.", "int", default=50),
    Option("compat", "Compute exactly as this upstream app does.", "choice",
           ("litellm", "openwebui")),
    Option("as_of", "The day taken as today (LiteLLM's windows end the day after it); "
                    "default: today in UTC.", "date"),
)}


@dataclass
class Filters:
    """A report's options after checking: every field is an option's value."""

    since: str | None = None
    until: str | None = None
    tz: str = "UTC"
    group: str | None = None
    user: str | None = None
    model: str | None = None
    source: str | None = None
    channel: str = "all"
    tag: tuple[str, ...] = ()
    tag_like: str | None = None
    exclude_deleted: bool = False
    granularity: str | None = None
    metric: str = "messages"
    by: str = "none"
    cost: str = "both"
    currency: str | None = None
    mau_days: int = 30
    threshold: Decimal = Decimal(80)
    compare: bool = False
    limit: int | None = None
    offset: int | None = None
    order_by: str = "updated_at"
    direction: str = "desc"
    page: int | None = None
    page_size: int = 50
    compat: str | None = None
    as_of: str | None = None


assert {f.name for f in fields(Filters)} == set(OPTIONS)  # one table, no drift


def checked_text(option: str, value) -> str:
    """A text value that DuckDB and a terminal can take: valid UTF-8, no NUL."""
    if not isinstance(value, str):
        raise WarehouseError(f"{option} takes text, not {type(value).__name__} {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise WarehouseError(f"{option}: the value is not valid UTF-8 text") from None
    if "\x00" in value:
        raise WarehouseError(f"{option}: the value holds a NUL character")
    return value


def value_of(option: Option, value, choices: tuple | None = None):
    """`value` (a CLI string or a Python value) as the option's type, or a one-line
    error naming the option."""
    flag = option.flag
    if option.kind == "flag":
        if not isinstance(value, bool):
            raise WarehouseError(f"{flag} is true or false, not {value!r}")
        return value
    if option.kind == "repeat":
        if isinstance(value, str):
            value = (value,)
        if not isinstance(value, list | tuple | set | frozenset):
            raise WarehouseError(f"{flag} takes text or a list of texts, not {value!r}")
        return tuple(checked_text(flag, v) for v in value)
    if option.kind == "date":
        if isinstance(value, datetime | date):
            return value.isoformat()
        return checked_text(flag, value)
    if option.kind == "int":
        return _integer(flag, value)
    if option.kind == "number":
        try:
            number = Decimal(str(value).strip()) if not isinstance(value, bool) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise WarehouseError(f"{flag} takes a number, not {value!r}")
        return number
    if option.kind == "choice":
        choices = choices or option.choices
        if all(isinstance(c, int) for c in choices):
            number = _integer(flag, value)
            if number not in choices:
                raise WarehouseError(f"{flag} {number} is not one of {_listed(choices)}")
            return number
        text = checked_text(flag, value).strip().lower()
        if text not in choices:
            raise WarehouseError(f"{flag} {value!r} is not one of {_listed(choices)}"
                                 + did_you_mean(text, choices))
        return text
    return checked_text(flag, value)


def _integer(flag: str, value) -> int:
    if isinstance(value, bool):
        raise WarehouseError(f"{flag} takes a whole number, not {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise WarehouseError(f"{flag} takes a whole number, not {value!r}") from None


def _listed(choices) -> str:
    return ", ".join(str(c) for c in choices)


def resolve(report_name: str, given: dict) -> Filters:
    """Filters for `report_name` from the options a caller gave (None means not given).
    An unknown option, or one the report (in its --compat mode) does not honour, is an
    error naming the options it takes."""
    from warehouse.reports.catalog import report_named

    spec = report_named(report_name)
    given = {k: v for k, v in given.items() if v is not None}
    for key in given:
        if key not in OPTIONS:
            raise WarehouseError(f"unknown option {key!r}" + did_you_mean(key, OPTIONS)
                                 + f"; report {report_name} takes: "
                                 + ", ".join(sorted(spec.options)))
    compat = given.get("compat")
    if compat is not None and spec.compat:
        compat = value_of(OPTIONS["compat"], compat, tuple(spec.compat))
    honoured = spec.honoured(compat if spec.compat else None)
    which = f"report {report_name}" + (f" --compat {compat}" if compat and spec.compat
                                       else "")
    refused = [OPTIONS[k].flag for k in given if k not in honoured]
    if refused:
        takes = ", ".join(OPTIONS[k].flag for k in OPTIONS if k in honoured) or "no options"
        raise WarehouseError(f"{which} does not take {', '.join(refused)}; it takes: {takes}")
    values = {}
    for key, value in given.items():
        choices = spec.choices.get(key)
        values[key] = value_of(OPTIONS[key], value, choices)
    return Filters(**values)
