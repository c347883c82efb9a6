"""Charts of reports: Vega-Lite specs built from a report's rows, rendered offline.

One spec per report serves `report --chart`, the dashboard and `wh.chart()` alike. Specs
carry their data inline; vl-convert renders them to PNG and SVG without a browser, and its
JavaScript bundle makes self-contained HTML: nothing is fetched from the network.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from string import Template

from warehouse.errors import WarehouseError
from warehouse.output import plain
from warehouse.reports import Filters
from warehouse.results import Result

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier, never fetched
VEGA_LITE = "6.4"  # the Vega-Lite version vl-convert renders with
FORMATS = (".png", ".svg", ".html")
WIDTH = 640
MAX_TICKS = 12
TOP_N = 25  # bars in a top-N chart
AXIS_FORMATS = {"hour": "%b %d %H:00", "day": "%b %d", "week": "%b %d", "month": "%b %Y"}
# users: the column each --metric ranks by
USER_METRICS = {"messages": "count", "tokens": "total_tokens", "spend": "repriced_cost",
                "successful": "successful_requests"}


def spec(result: Result, filters: Filters | None = None) -> dict:
    """The Vega-Lite spec of a report's rows, or a one-line error for reports without one."""
    filters = filters or Filters()
    builder = CHARTS.get(result.name)
    if builder is None or filters.compat:
        which = f"report {result.name}" + (f" --compat {filters.compat}" if filters.compat
                                           else "")
        raise WarehouseError(f"{which} has no chart (charts: {', '.join(CHARTS)})")
    chart = builder(_records(result), filters)
    chart.setdefault("width", WIDTH)
    return {"$schema": SCHEMA, **chart,
            "config": {"font": "sans-serif", "view": {"stroke": None}}}


def write(chart: dict, path: str | Path) -> None:
    """Render to PNG, SVG or self-contained HTML, by the file's extension."""
    import vl_convert as vlc

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise WarehouseError(f"--chart {path}: the file must end in {', '.join(FORMATS)}")
    if not path.resolve().parent.is_dir():
        raise WarehouseError(f"--chart {path}: folder {path.resolve().parent} does not exist")
    try:
        if suffix == ".png":
            path.write_bytes(vlc.vegalite_to_png(chart, vl_version=VEGA_LITE, scale=2))
        elif suffix == ".svg":
            path.write_text(vlc.vegalite_to_svg(chart, vl_version=VEGA_LITE))
        else:
            title = chart.get("title", {}).get("text", "Chart")
            path.write_text(page(title, "", '<div id="chart"></div>', {"chart": chart}))
    except OSError as exc:
        raise WarehouseError(f"--chart {path}: {exc.strerror or exc}") from None


def page(title: str, header: str, body: str, specs: dict[str, dict]) -> str:
    """A whole HTML page with Vega's bundle inline; `specs` are drawn into the elements
    of the same ids (a chart's .html file, and the dashboard)."""
    import vl_convert as vlc

    template = Template(resources.files("warehouse").joinpath("dashboard.html").read_text())
    return template.substitute(
        title=html.escape(title), header=header, body=body,
        bundle=vlc.javascript_bundle(vl_version=VEGA_LITE),
        # "</" cannot end the script element early: labels are users' text
        specs=json.dumps(specs, ensure_ascii=False).replace("</", "<\\/"))


def _records(result: Result) -> list[dict]:
    return [{c: plain(v) for c, v in record.items()} for record in result.records()]


def _title(text: str, filters: Filters) -> dict:
    """The chart's title, and the window and filters it shows as a subtitle."""
    shown = [f"{k} {v}" for k, v in (
        ("since", filters.since), ("until", filters.until), ("group", filters.group),
        ("user", filters.user), ("model", filters.model), ("source", filters.source),
        ("tag", ", ".join(filters.tag)), ("tag like", filters.tag_like)) if v]
    if filters.channel != "all":
        shown.append(f"channel {filters.channel}")
    if filters.tz != "UTC":
        shown.append(f"times in {filters.tz}")
    return {"text": text, "subtitle": "; ".join(shown) or "all data", "anchor": "start"}


def _buckets(rows: list[dict], column: str, granularity: str) -> list[dict]:
    """Rows with their bucket's start and end as UTC instants of the bucket label's wall
    clock (charts show UTC, so every viewer sees the label's own time, whatever their
    zone): bars then span exactly their hour, day, week or month."""
    out = []
    for row in rows:
        label = row.get(column)
        if not label:
            continue
        day, _, clock = str(label).replace("T", " ").partition(" ")
        start = datetime.fromisoformat(f"{day}T{clock[:5] or '00:00'}")
        if granularity == "month":
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            end = start + {"hour": timedelta(hours=1), "day": timedelta(days=1),
                           "week": timedelta(days=7)}[granularity]
        out.append({**row, "start": start.isoformat() + "Z", "end": end.isoformat() + "Z"})
    return out


def _time_x(granularity: str, rows: list[dict]) -> dict:
    """A UTC time axis labelled at bucket starts (at most MAX_TICKS of them)."""
    starts = sorted({r["start"] for r in rows})
    step = max(1, -(-len(starts) // MAX_TICKS))
    ticks = [int(datetime.fromisoformat(t[:-1]).replace(tzinfo=UTC).timestamp() * 1000)
             for t in starts[::step]]
    return {"field": "start", "type": "temporal", "title": None, "scale": {"type": "utc"},
            "axis": {"format": AXIS_FORMATS[granularity], "values": ticks,
                     "labelOverlap": True}}


def _bucket_bars(granularity: str, rows: list[dict]) -> dict:
    """x and x2 of bars that fill their bucket."""
    return {"x": _time_x(granularity, rows), "x2": {"field": "end"}}


def _top_bars(rows: list[dict], label: str, measure: str, measure_title: str,
              title: dict, label_title: str) -> dict:
    """Horizontal bars of the first TOP_N rows, largest first."""
    rows = sorted((r for r in rows if r.get(measure) is not None),
                  key=lambda r: -r[measure])[:TOP_N]
    return {
        "title": title,
        "data": {"values": rows},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": label, "type": "nominal", "sort": "-x", "title": label_title},
            "x": {"field": measure, "type": "quantitative", "title": measure_title},
        },
    }


def _daily(rows: list[dict], filters: Filters) -> dict:
    granularity = filters.granularity or "day"
    values = _buckets(rows, "date", granularity)
    return {
        "title": _title(f"Messages per {granularity}, by model", filters),
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True, "stroke": "white", "strokeWidth": 0.5},
        "encoding": {
            **_bucket_bars(granularity, values),
            "y": {"aggregate": "sum", "field": "count", "type": "quantitative",
                  "title": "messages"},
            "color": {"field": "model_id", "type": "nominal", "title": "model"},
        },
    }


def _active_users(rows: list[dict], filters: Filters) -> dict:
    segment = None if filters.by == "none" else filters.by
    values = _buckets(rows, "date", "day")
    x = _time_x("day", values)
    if segment:
        return {
            "title": _title(f"Daily active users, by {segment}", filters),
            "data": {"values": values},
            "mark": {"type": "line", "point": True, "tooltip": True},
            "encoding": {"x": x, "y": {"field": "dau", "type": "quantitative",
                                       "title": "daily active users"},
                         "color": {"field": segment, "type": "nominal"}},
        }
    return {
        "title": _title(f"Active users: daily, trailing 7 and {filters.mau_days} days",
                        filters),
        "data": {"values": values},
        "transform": [{"fold": ["dau", "wau", "mau"], "as": ["window", "users"]}],
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {"x": x, "y": {"field": "users", "type": "quantitative",
                                   "title": "active users"},
                     "color": {"field": "window", "type": "nominal", "title": None,
                               "sort": ["dau", "wau", "mau"]}},
    }


def _retention(rows: list[dict], filters: Filters) -> dict:
    unit = filters.granularity or "week"
    return {
        "title": _title(f"Retention: share of each {unit}'s new users active later", filters),
        "data": {"values": rows},
        "mark": {"type": "rect", "tooltip": True},
        "encoding": {
            "x": {"field": "period", "type": "ordinal", "title": f"{unit}s after the first",
                  "axis": {"labelAngle": 0}},
            "y": {"field": "cohort", "type": "ordinal", "title": f"first active {unit}"},
            "color": {"field": "retention", "type": "quantitative", "title": "retained",
                      "scale": {"domain": [0, 1], "scheme": "blues"},
                      "legend": {"format": ".0%"}},
        },
    }


def _costs(rows: list[dict], filters: Filters) -> dict:
    measure = next((c for c in ("repriced_cost", "billed_cost")
                    if any(r.get(c) is not None for r in rows)),
                   "billed_cost" if filters.cost == "as-billed" else "repriced_cost")
    kind = "repriced" if measure == "repriced_cost" else "billed"
    currency = next((r["currency"] for r in rows if r.get("currency")), "")
    segment = None if filters.by == "none" else filters.by
    cost_title = f"{kind} cost" + (f", {currency}" if currency else "")
    granularity = filters.granularity or "month"
    if granularity == "all":
        label = segment or "currency"
        return _top_bars(rows, label, measure, cost_title,
                         _title(f"{kind.capitalize()} cost" + (f" by {segment}" if segment else ""),
                                filters), segment or "currency")
    values = _buckets(rows, "period_start", granularity)
    encoding = {**_bucket_bars(granularity, values),
                "y": {"aggregate": "sum", "field": measure, "type": "quantitative",
                      "title": cost_title}}
    if segment:
        encoding["color"] = {"field": segment, "type": "nominal"}
    return {
        "title": _title(f"{kind.capitalize()} cost per {granularity}"
                        + (f", by {segment}" if segment else ""), filters),
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True, "stroke": "white", "strokeWidth": 0.5},
        "encoding": encoding,
    }


def _feedback(rows: list[dict], filters: Filters) -> dict:
    values = [{**r, "rating": rating, "count": r[rating]}
              for r in _buckets([r for r in rows if r["kind"] == "history"], "date", "day")
              for rating in ("won", "lost")]
    return {
        "title": _title("Ratings per day: won (thumbs up) and lost (thumbs down)", filters),
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True, "stroke": "white", "strokeWidth": 0.5},
        "encoding": {**_bucket_bars("day", values),
                     "y": {"aggregate": "sum", "field": "count", "type": "quantitative",
                           "title": "ratings"},
                     "color": {"field": "rating", "type": "nominal", "title": None,
                               "sort": ["won", "lost"]}},
    }


def _tokens(rows: list[dict], filters: Filters) -> dict:
    values = [{"model_id": r["model_id"], "direction": direction, "tokens": r[column]}
              for r in rows if r["scope"] == "model"
              for direction, column in (("input", "input_tokens"), ("output", "output_tokens"))]
    return {
        "title": _title("Tokens by model", filters),
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {"y": {"field": "model_id", "type": "nominal", "sort": "-x",
                           "title": "model"},
                     "x": {"aggregate": "sum", "field": "tokens", "type": "quantitative",
                           "title": "tokens"},
                     "color": {"field": "direction", "type": "nominal", "title": None}},
    }


def _users(rows: list[dict], filters: Filters) -> dict:
    measure = USER_METRICS.get(filters.metric, "count")
    if rows and measure not in rows[0]:
        measure = next(c for c in ("billed_cost", "count") if c in rows[0])
    values = [{**r, "user": r.get("email") or r.get("name") or r.get("user_id") or "(none)"}
              for r in rows]
    measure_title = "messages" if measure == "count" else measure.replace("_", " ")
    return _top_bars(values, "user", measure, measure_title,
                     _title(f"Top users by {measure_title}", filters), "user")


def _labelled(label_columns: tuple[str, ...], measure: str, text: str, label_title: str,
              empty: str = "(none)", measure_title: str | None = None
              ) -> Callable[[list[dict], Filters], dict]:
    """A top-N chart of a report whose rows are named by the first non-empty column."""

    def build(rows: list[dict], filters: Filters) -> dict:
        values = [{**r, "label": next((str(r[c]) for c in label_columns if r.get(c)), empty)}
                  for r in rows]
        return _top_bars(values, "label", measure,
                         measure_title or measure.replace("_", " "), _title(text, filters),
                         label_title)

    return build


CHARTS: dict[str, Callable[[list[dict], Filters], dict]] = {
    "daily": _daily,
    "active-users": _active_users,
    "retention": _retention,
    "costs": _costs,
    "feedback": _feedback,
    "models": _labelled(("model_id",), "count", "Messages by model", "model", "(none)",
                        "messages"),
    "users": _users,
    "tokens": _tokens,
    "tags": _labelled(("tag",), "total_requests", "Requests by tag", "tag"),
    "keys": _labelled(("key_alias", "key_name", "api_key_hash"), "total_spend",
                      "Spend (USD) by API key", "key", "(no key)"),
    "teams": _labelled(("team_alias", "team_id"), "total_spend", "Spend (USD) by team",
                       "team", "(no team)"),
    "unpriced-models": _labelled(("model_id",), "unpriced_responses",
                                 "Responses without a price, by model", "model"),
    "limits": _labelled(("name", "subject"), "percent", "Percent of the limit used",
                        "subject"),
}
