"""`warehouse dashboard`: one self-contained HTML file of the main charts and tables.

Everything the page needs is inside it (Vega's JavaScript, the charts' data), and its
Content-Security-Policy forbids loading anything else, so it opens offline, from an email
attachment or a file share, on a machine that cannot reach the warehouse.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from warehouse import charts, reports
from warehouse.errors import WarehouseError
from warehouse.output import number_text, plain

DEFAULT_DAYS = 90  # without --since/--until: the last 90 days, from the first with data
TOP = 15


@dataclass(frozen=True)
class Section:
    """One report on the page: drawn as a chart, listed as a table, or both."""

    report: str
    heading: str
    overrides: dict
    chart: bool = True
    table: bool = False


SECTIONS = (
    Section("daily", "Messages over time", {}),
    Section("active-users", "Active users", {}),
    Section("models", "Models", {}, table=True),
    Section("tokens", "Tokens", {}),
    Section("users", "Top users", {"limit": TOP}, table=True),
    Section("costs", "Cost by group", {"by": "group", "granularity": "all"}, table=True),
    Section("costs", "Cost over time, by model", {"by": "model"}),
    Section("tags", "Tags", {"limit": TOP}),
)


def build(wh, filters: reports.Filters) -> str:
    """The dashboard's HTML for `filters` (a missing --since: the last DEFAULT_DAYS days
    with data). A section whose report cannot be answered shows why; bad filters fail."""
    filters = _window(wh, filters)
    summary = wh.run_report("summary", filters)  # checks the filters once, for all sections
    specs: dict[str, dict] = {}
    parts = [_tiles(summary, wh, filters)]
    for number, section in enumerate(SECTIONS):
        parts.append(_section(wh, filters, section, f"chart-{number}", specs))
    header = _header(wh, filters)
    return charts.page(f"LLM usage: {Path(wh.path).name}", header, "\n".join(parts),
                       specs)


def _window(wh, filters: reports.Filters) -> reports.Filters:
    if filters.since or filters.until or not _has_events(wh):
        return filters
    first, last = wh.con.execute(
        "SELECT min(occurred_at), max(occurred_at) FROM core.usage_events").fetchone()
    if last is None:
        return filters
    tz = reports.time_zone(filters.tz)
    first_day, last_day = (ts.astimezone(tz).date() for ts in (first, last))
    since = max(first_day, last_day - timedelta(days=DEFAULT_DAYS - 1))
    return replace(filters, since=since.isoformat(),
                   until=(last_day + timedelta(days=1)).isoformat())


def _has_events(wh) -> bool:
    return bool(wh.con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'core' "
        "AND table_name = 'usage_events'").fetchone()[0])


def _section(wh, filters, section: Section, chart_id: str, specs: dict) -> str:
    section_filters = replace(filters, **section.overrides)
    out = [f"<section><h2>{html.escape(section.heading)}</h2>"]
    try:
        result = wh.run_report(section.report, section_filters)
    except WarehouseError as exc:
        return out[0] + f'<p class="note">Not shown: {html.escape(str(exc))}</p></section>'
    for note in result.notes:
        out.append(f'<p class="note">{html.escape(note)}</p>')
    if not result.rows:
        out.append('<p class="note">No rows for these filters.</p>')
    else:
        if section.chart:
            specs[chart_id] = charts.spec(result, section_filters)
            out.append(f'<div class="chart" id="{chart_id}"></div>')
        if section.table:
            out.append(table(result.columns, result.rows))
    out.append("</section>")
    return "\n".join(out)


def table(columns: list[str], rows: list[tuple]) -> str:
    """An HTML table; numbers right-aligned with thousands separators."""
    def cell(value) -> str:
        if value is None:
            return "<td></td>"
        if isinstance(value, bool):
            return f"<td>{'yes' if value else ''}</td>"
        if isinstance(value, int | float | Decimal):
            text = f"{value:,}" if isinstance(value, int) else number_text(value)
            return f'<td class="num">{text}</td>'
        return f"<td>{html.escape(str(plain(value)))}</td>"

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _tiles(summary, wh, filters) -> str:
    record = summary.records()[0] if summary.rows else {}
    tiles = [(record.get(key), label) for key, label in (
        ("total_messages", "messages"), ("total_chats", "chats"), ("total_users", "users"),
        ("total_models", "models"), ("total_tokens", "tokens"))]
    try:
        costs = wh.run_report("costs", replace(filters, granularity="all", by="none"))
        for row in costs.records():
            cost = row.get("repriced_cost") if row.get("repriced_cost") is not None \
                else row.get("billed_cost")
            if cost is not None:
                tiles.append((f"{number_text(cost)} {row['currency'] or ''}".strip(), "cost"))
    except WarehouseError:
        pass  # no price file or rates: the cost sections say why
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><div class="value">'
        f'{html.escape(f"{v:,}" if isinstance(v, int) else str(v or 0))}</div>'
        f'<div class="label">{html.escape(label)}</div></div>' for v, label in tiles) + "</div>"


def _header(wh, filters: reports.Filters) -> str:
    """The filters used and how fresh the data is."""
    used = [f"{name} {value}" for name, value in (
        ("from", filters.since), ("until (excl.)", filters.until), ("time zone", filters.tz),
        ("group", filters.group), ("user", filters.user), ("model", filters.model),
        ("source", filters.source), ("tags", ", ".join(filters.tag)),
        ("tag like", filters.tag_like)) if value]
    if filters.channel != "all":
        used.append(f"channel {filters.channel}")
    if filters.exclude_deleted:
        used.append("responses deleted in the source left out")
    lines = [f"Filters: {'; '.join(used) or 'none'}"]
    published = _scalar(wh, "SELECT max(finished_at) FROM _warehouse.run_log")
    if published:
        lines.append(f"Warehouse last published: {_when(published)}")
    if _has_events(wh):
        latest = wh.con.execute(
            "SELECT source_name, max(occurred_at) FROM core.usage_events "
            "GROUP BY ALL ORDER BY 1").fetchall()
        if latest:
            lines.append("Latest response per source: " + ", ".join(
                f"{name} {_when(ts)}" for name, ts in latest))
    lines.append(f"Generated {_when(datetime.now(UTC))}")
    return "\n".join(f'<p class="meta">{html.escape(line)}</p>' for line in lines)


def _scalar(wh, sql: str):
    try:
        return wh.con.execute(sql).fetchone()[0]
    except duckdb.CatalogException:  # a warehouse from before the run log
        return None


def _when(value) -> str:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat() if isinstance(value, date) else str(value)
