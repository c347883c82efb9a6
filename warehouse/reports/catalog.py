"""The reports, each with what it answers and the options it honours.

A report's `options` are the only ones it may be given; its `compat` modes name the
options that mode honours instead. `choices` narrows an option's values for the report
(the granularities it buckets by, the segments it splits by).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from warehouse.errors import WarehouseError, did_you_mean
from warehouse.reports.options import OPTIONS

WINDOW = frozenset({"since", "until", "tz"})
# the plugin's credits are per plugin day: --since/--until name days, no zone applies
DAYS = frozenset({"since", "until"})
PEOPLE = frozenset({"group", "user"})
# the filters every per-response report honours (facts.sql)
FILTERS = WINDOW | PEOPLE | {"model", "source", "channel", "tag", "tag_like",
                             "exclude_deleted"}
# LiteLLM's keys and teams: API requests, so no --channel
LITELLM = FILTERS - {"channel"}
SEGMENTS = ("none", "tag", "group", "model", "channel", "source")


@dataclass(frozen=True)
class Variant:
    """One SQL file of a report (<stem>.sql, a compat mode's compat_<mode>_<stem>.sql)
    with each of its {placeholders} filled by a snippet file (placeholder -> file stem;
    a snippet's own placeholders are filled the same way)."""

    stem: str
    parts: dict[str, str] = field(default_factory=dict)

    def file(self, compat: str | None) -> str:
        """The file asked in `compat` mode (None: the report itself)."""
        return f"compat_{compat}_{self.stem}.sql" if compat else f"{self.stem}.sql"

    def files(self, compat: str | None) -> list[str]:
        """Its file and its snippets' files."""
        return [self.file(compat), *(f"{snippet}.sql" for snippet in self.parts.values())]


@dataclass(frozen=True)
class Report:
    """What a report needs: its rows' grain, its options, and the compat modes it has."""

    description: str
    options: frozenset[str] = FILTERS
    # 'usage': one row per response; 'tags': per response and tag; 'credits': reads
    # core.credit_usage itself; 'limits': credits and budgets against their limits
    grain: str = "usage"
    default_limit: int | None = None
    default_granularity: str = "day"
    choices: dict[str, tuple] = field(default_factory=dict)
    # How far before --since the rows are read: 'mau' (trailing windows), 'all' (cohorts)
    lookback: str | None = None
    # compat mode -> the options it honours (its own SQL file: compat_<mode>_<name>.sql)
    compat: dict[str, frozenset[str]] = field(default_factory=dict)
    # compat mode (None: the report itself) -> SQL that answers its usual question
    # without reading every row, and returns no rows when it cannot vouch for the answer
    # (the report's own file then answers; so does it on a warehouse built before what
    # the fast SQL reads)
    fast: dict[str | None, Variant] = field(default_factory=dict)
    # the snippet files filling the {placeholders} of the report's own files
    parts: dict[str, str] = field(default_factory=dict)
    # the buckets it fills with zeros from --since to --until ('granularity' or 'day')
    fills: str | None = None
    # columns only a source of this kind fills: left out when the warehouse has none
    kind_columns: dict[str, str] = field(default_factory=dict)
    # cost columns taken from the costs report --by this segment (one rule for both)
    costs_by: str | None = None
    # columns only present when this option (a flag) is set
    only_with: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def variants(self, stem: str, compat: str | None) -> list[Variant]:
        """The SQL to try in turn: the fast one for `compat` if any, then its own."""
        fast = [self.fast[compat]] if compat in self.fast else []
        return [*fast, Variant(stem, self.parts)]

    def honoured(self, compat: str | None) -> frozenset[str]:
        if compat is None:
            return self.options | ({"compat"} if self.compat else set())
        return self.compat[compat] | {"compat"}


REPORTS = {
    # fast: the distinct ids counted by their keys (a file built before them: the ids)
    "summary": Report("totals: messages, chats, models, users, tokens",
                      fast={None: Variant("summary_by_keys")}),
    "models": Report("per model: messages, distinct users and chats",
                     FILTERS | {"limit"}, fast={None: Variant("models_by_keys")}),
    "users": Report("per user: messages, requests, tokens, cost, user agent; ranked by "
                    "--metric, paged by --page",
                    FILTERS | {"metric", "limit", "page", "page_size", "cost", "currency"},
                    default_limit=50, costs_by="user",
                    # LiteLLM's per-user analytics: its daily tag table, last 30 days
                    compat={"litellm": frozenset({"source", "tag", "tag_like", "as_of",
                                                  "page", "page_size"})},
                    # successful/failed: LiteLLM's status, Open WebUI's error and its
                    # ledger's status fill them; only LiteLLM tags user agents
                    kind_columns={"user_agent": "litellm"}),
    "daily": Report("per time bucket (--granularity) and model: messages and tokens, gaps "
                    "filled; --compare adds the previous period's",
                    FILTERS | {"granularity", "compare"}, fills="granularity",
                    choices={"granularity": ("10m", "hour", "3h", "6h", "day", "week",
                                             "month")},
                    only_with={"compare": ("previous_count", "previous_total_tokens")}),
    "tokens": Report("per model: input, output and total tokens, then the total"),
    "chats": Report("chats that used a model (--model): owner, first message, last update",
                    FILTERS | {"limit"}, default_limit=50,
                    fast={None: Variant("chats_recent"), "openwebui": Variant(
                        "chats_all_time", {"lists_model": "_lists_model"})},
                    # Open WebUI's model chats browser: its chats table only, the title
                    # as first_message, epoch updated_at, ordered and paged, the total
                    compat={"openwebui": frozenset({
                        "since", "until", "model", "source", "exclude_deleted", "limit",
                        "offset", "order_by", "direction"})}),
    "feedback": Report("per model: daily won/lost ratings and the top 10 chat tags",
                       WINDOW | PEOPLE | {"model", "source", "exclude_deleted"},
                       fills="day", parts={"tag_counts": "_feedback_tags"},
                       # Open WebUI's model overview asks a model's tags of all time
                       fast={None: Variant("feedback", {
                           "tag_counts": "_feedback_tags_all_time",
                           "feedback_tags": "_feedback_tags",
                           "all_time_of_one_model": "_all_time_of_one_model",
                           "lists_model": "_lists_model"})}),
    "tags": Report("per tag, by frequency: users, requests, tokens, spend",
                   FILTERS | {"limit"}, grain="tags",
                   compat={"litellm": frozenset({"since", "until", "source", "tag",
                                                 "tag_like"})}),
    "active-users": Report("per day: DAU, WAU, MAU and stickiness, by --by",
                           FILTERS | {"by", "mau_days"}, lookback="mau", fills="day",
                           choices={"by": SEGMENTS},
                           compat={"litellm": frozenset({"source", "tag", "tag_like",
                                                         "as_of"})}),
    "retention": Report("cohorts by first active period: share active N periods later",
                        FILTERS | {"granularity"}, default_granularity="week",
                        choices={"granularity": ("day", "week", "month")}, lookback="all"),
    "keys": Report("per LiteLLM key (alias, hash): requests, tokens, spend; deleted keys "
                   "too", LITELLM | {"limit"}),
    "teams": Report("per LiteLLM team: keys, users, requests, tokens, spend",
                    LITELLM | {"limit"}),
    "costs": Report("chargeback per --by (user, model, group, channel, tag, source) and "
                    "period: cost as billed and repriced, in one --currency",
                    FILTERS | {"by", "granularity", "cost", "currency", "limit"},
                    default_granularity="month",
                    choices={"granularity": ("day", "week", "month", "all"),
                             "by": (*SEGMENTS, "user"),
                             "cost": ("as-billed", "repriced", "both")}),
    "unpriced-models": Report("models whose responses no price in the price file covers",
                              FILTERS | {"limit"}),
    "limits": Report("who is at or over --threshold % of an allowance or budget: the "
                     "plugin's daily and sponsored credits, LiteLLM's key, user and team "
                     "budgets", DAYS | PEOPLE | {"source", "threshold", "limit"},
                     grain="limits"),
    "credits": Report("token-tracking plugin: credits used, allowance and remaining per "
                      "user and day; sponsored allowances' totals",
                      DAYS | PEOPLE | {"source"}, grain="credits"),
}
for _spec in REPORTS.values():  # every declared option exists
    assert _spec.options <= set(OPTIONS), _spec
    assert all(modes <= set(OPTIONS) for modes in _spec.compat.values()), _spec


def report_named(name: str) -> Report:
    """The report called `name`, or an error that suggests the nearest name."""
    if not isinstance(name, str) or name not in REPORTS:
        raise WarehouseError(f"unknown report {name!r}" + did_you_mean(str(name), REPORTS)
                             + f" (reports: {', '.join(REPORTS)})")
    return REPORTS[name]


def takers(option: str) -> list[str]:
    """The reports (and compat modes) that honour `option`, for the help text."""
    out = []
    for name, spec in REPORTS.items():
        if option in spec.options:
            out.append(name)
        out += [f"{name} --compat {mode}" for mode, opts in spec.compat.items()
                if option in opts and option not in spec.options]
    return out
