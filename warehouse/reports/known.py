"""Filter values checked against the data: a value that matches nothing is an error with
suggestions, never an empty or all-zero answer (a typo in a cron job's --model would
otherwise report zero usage for ever).

Every dimension is checked the same way: look the value up, and on a miss name the
nearest known values. Lookups stop at the first match, so a good value costs little.
"""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.errors import WarehouseError, did_you_mean
from warehouse.reports.options import Filters


@dataclass(frozen=True)
class Known:
    """The ids the filters resolve to (--user and --group take names and emails too)."""

    user_id: str | None = None
    group_id: str | None = None


def known_values(con, filters: Filters, hide_people: bool = False) -> Known:
    """Check every value filter; `hide_people` keeps names and emails out of suggestions
    (pseudonymised warehouses)."""
    if filters.source is not None:
        _check(con, "--source", filters.source,
               "SELECT DISTINCT source_name FROM _warehouse.source_tables",
               "no source of that name in the warehouse")
    if filters.model is not None:
        _check(con, "--model", filters.model,
               "SELECT DISTINCT model_id FROM marts.usage_hourly WHERE model_id IS NOT NULL "
               "UNION SELECT DISTINCT model_id FROM core.feedback WHERE model_id IS NOT NULL",
               "no response or rating of that model", exact_first=(
                   "SELECT EXISTS (SELECT 1 FROM marts.usage_hourly WHERE model_id = $v) OR "
                   "EXISTS (SELECT 1 FROM core.feedback WHERE model_id = $v)"))
    for tag in filters.tag:
        _check(con, "--tag", tag, "SELECT DISTINCT tag FROM marts.tag_hourly",
               "no response carries that tag (--tag-like matches a part of a tag)",
               exact_first="SELECT EXISTS (SELECT 1 FROM marts.tag_hourly WHERE tag = $v)")
    if filters.tag_like is not None:
        found = con.execute(
            "SELECT EXISTS (SELECT 1 FROM marts.tag_hourly WHERE contains(lower(tag), "
            "lower($v)))", {"v": filters.tag_like}).fetchone()[0]
        if not found:
            raise UnknownValue(f"--tag-like {filters.tag_like!r} is part of no tag (see "
                               "'warehouse report tags')", "--tag-like", filters.tag_like)
    return Known(_user(con, filters.user, hide_people), _group(con, filters.group))


class UnknownValue(WarehouseError):
    """A filter value nothing in the warehouse has (`option`: its flag): refused, since an
    empty answer would look like no usage. An API that must answer as an upstream app
    does (which returns nothing for it) catches this."""

    def __init__(self, message: str, option: str, value: str):
        super().__init__(message)
        self.option, self.value = option, value


def _check(con, option: str, value: str, all_sql: str, missing: str,
           exact_first: str | None = None) -> None:
    if exact_first is not None and con.execute(exact_first, {"v": value}).fetchone()[0]:
        return
    known = [r[0] for r in con.execute(all_sql).fetchall()]
    if value in known:
        return
    raise UnknownValue(f"{option} {value!r}: {missing}"
                       + did_you_mean(value, known, n=3, cutoff=0.5), option, value)


def _user(con, user: str | None, hide_people: bool) -> str | None:
    """--user takes an id or an email address."""
    if user is None:
        return None
    row = con.execute(
        "SELECT user_id FROM core.users WHERE user_id = ? OR lower(email) = lower(?) LIMIT 1",
        [user, user]).fetchone()
    if row is not None:
        return row[0]
    hint = ""
    if not hide_people:
        known = [r[0] for r in con.execute(
            "SELECT user_id FROM core.users UNION SELECT email FROM core.users "
            "WHERE email IS NOT NULL").fetchall() if r[0]]
        hint = did_you_mean(user, known, n=3, cutoff=0.5)
    raise UnknownValue(f"--user {user!r}: no user with that id or email{hint}", "--user",
                       user)


def _group(con, group: str | None) -> str | None:
    """--group takes a group id or a group name (unique among sources)."""
    if group is None:
        return None
    rows = con.execute(
        "SELECT DISTINCT group_id FROM core.groups WHERE group_id = ? OR name = ?",
        [group, group]).fetchall()
    if not rows:
        known = [r[0] for r in con.execute(
            "SELECT name FROM core.groups UNION SELECT group_id FROM core.groups").fetchall()
            if r[0]]
        raise UnknownValue(f"--group {group!r}: no group with that id or name"
                           + did_you_mean(group, known, n=3, cutoff=0.5), "--group", group)
    if len(rows) > 1:
        raise WarehouseError(f"--group {group!r} names several groups: use its id")
    return rows[0][0]
