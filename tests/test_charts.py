"""Charts: `report --chart`, `wh.chart()`, and what each chart draws against the rows the
same report gives as JSON."""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from click.testing import CliRunner

import warehouse
from tests.test_reports import invoke
from warehouse import charts
from warehouse.cli import cli
from warehouse.reports import Filters, Result

MARK = re.compile(r'aria-label="([^"]*)" role="graphics-symbol" '
                  r'aria-roledescription="(bar|point|rect mark)"')


def marks(svg: str) -> list[dict[str, str]]:
    """The data marks Vega drew (bars, points, cells), each as its accessible label's
    'title: value' pairs."""
    ET.fromstring(svg)  # well-formed
    return [dict(part.split(": ", 1) for part in label.split("; "))
            for label, _ in MARK.findall(svg)]


def number(text: str) -> float:
    text = text.replace(",", "")
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


# report arguments -> (marks expected from the JSON rows, the measure's title in a mark's
# label, its total from the JSON rows)
CASES = {
    ("daily",): (len, "messages", lambda rows: sum(r["count"] for r in rows)),
    ("daily", "--granularity", "week"): (len, "messages",
                                         lambda rows: sum(r["count"] for r in rows)),
    ("active-users",): (lambda rows: 3 * len(rows), "active users",
                        lambda rows: sum(r["dau"] + r["wau"] + r["mau"] for r in rows)),
    ("active-users", "--by", "model"): (len, "daily active users",
                                        lambda rows: sum(r["dau"] for r in rows)),
    ("retention",): (len, "retained",  # labels are whole percents
                     lambda rows: sum(round(r["retention"], 2) for r in rows)),
    ("costs", "--by", "group", "--granularity", "all"): (
        len, "repriced cost, EUR", lambda rows: sum(r["repriced_cost"] for r in rows)),
    ("costs", "--by", "model", "--granularity", "week"): (
        len, "repriced cost, EUR", lambda rows: sum(r["repriced_cost"] for r in rows)),
    # one bar per day for won, one for lost, summed over the models
    ("feedback",): (lambda rows: 2 * len({r["date"] for r in rows if r["kind"] == "history"}),
                    "ratings",
                    lambda rows: sum(r["won"] + r["lost"] for r in rows
                                     if r["kind"] == "history")),
    ("models",): (len, "messages", lambda rows: sum(r["count"] for r in rows)),
    ("users", "--metric", "tokens"): (len, "total tokens",
                                      lambda rows: sum(r["total_tokens"] for r in rows)),
    ("tokens",): (lambda rows: 2 * (len(rows) - 1), "tokens",
                  lambda rows: sum(r["total_tokens"] for r in rows if r["scope"] == "model")),
    ("tags",): (len, "total requests", lambda rows: sum(r["total_requests"] for r in rows)),
}


@pytest.mark.parametrize("args", list(CASES), ids=[" ".join(a) for a in CASES])
def test_a_chart_draws_every_row_of_its_report(demo_dir, tmp_path, args):
    config = str(demo_dir / "warehouse.toml")
    rows = json.loads(invoke("--config", config, "report", *args, "--format", "json"))
    assert rows, "the demo has rows for every charted report"
    target = tmp_path / "chart.svg"
    result = CliRunner().invoke(cli, ["--config", config, "report", *args,
                                      "--chart", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # rows only with --output
    drawn = marks(target.read_text())
    count, measure, total = CASES[args]
    assert len(drawn) == count(rows)
    assert sum(number(m[measure]) for m in drawn) == pytest.approx(float(total(rows)),
                                                                   abs=0.011 * len(rows))


def test_png_and_html_charts_and_rows_beside_them(demo_dir, tmp_path):
    config = str(demo_dir / "warehouse.toml")
    png, page, rows = tmp_path / "d.png", tmp_path / "d.html", tmp_path / "rows.csv"
    invoke("--config", config, "report", "daily", "--chart", str(png), "--output", str(rows),
           "--format", "csv")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 600 and height > 200
    assert rows.read_text().startswith("date,model_id,count,total_tokens\n")
    invoke("--config", config, "report", "models", "--chart", str(page))
    text = page.read_text()
    assert "vegaEmbed" in text and "claude-sonnet-4" in text
    # nothing to fetch: no script, style sheet or image comes from elsewhere
    html_only = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.S)
    assert not re.search(r"<(link|img|iframe)\b", html_only)
    assert all("src=" not in tag for tag in re.findall(r"<script[^>]*>", text))


def test_charts_of_reports_without_one_and_bad_files_are_one_line_errors(demo_dir, tmp_path):
    config = str(demo_dir / "warehouse.toml")
    for args, message in (
            (["summary", "--chart", str(tmp_path / "s.png")],
             "report summary has no chart (charts: daily, "),
            (["tags", "--compat", "litellm", "--chart", str(tmp_path / "t.png")],
             "report tags --compat litellm has no chart"),
            (["daily", "--chart", str(tmp_path / "d.pdf")],
             "the file must end in .png, .svg, .html"),
            (["daily", "--chart", str(tmp_path / "missing" / "d.png")], "does not exist")):
        result = CliRunner().invoke(cli, ["--config", config, "report", *args])
        assert result.exit_code == 1, result.output
        assert message in result.output and len(result.output.strip().splitlines()) == 1
        assert "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_wh_chart_is_the_cli_chart_as_altair(demo_dir):
    import altair as alt

    with warehouse.open(demo_dir / "usage.duckdb") as wh:
        chart = wh.chart("daily", granularity="week", tz="Europe/Berlin")
        expected = charts.spec(wh.run_report("daily", Filters(granularity="week",
                                                              tz="Europe/Berlin")),
                               Filters(granularity="week", tz="Europe/Berlin"))
    assert isinstance(chart, alt.TopLevelMixin)
    spec = chart.to_dict()
    assert list(spec["datasets"].values()) == [expected["data"]["values"]]
    assert spec["encoding"] == expected["encoding"]


@pytest.mark.parametrize("name, columns, row, label, measure", [
    ("keys", ["key_alias", "key_name", "api_key_hash", "total_spend"],
     (None, "sk-...a1b2", "h1", Decimal("12.50")), "sk-...a1b2", "total spend"),
    ("teams", ["team_id", "team_alias", "total_spend"], ("t1", "Physics", Decimal("3.25")),
     "Physics", "total spend"),
    ("unpriced-models", ["model_id", "unpriced_responses"], ("my-model", 17), "my-model",
     "unpriced responses"),
    ("limits", ["kind", "subject", "name", "percent"],
     ("litellm_key", "h1", "ci-key", Decimal("93.5")), "ci-key", "percent"),
])
def test_top_n_charts_of_api_reports(tmp_path, name, columns, row, label, measure):
    """The demo has no LiteLLM data: these charts are drawn from rows given here."""
    second = tuple(v * 2 if isinstance(v, int | Decimal) else v for v in row)
    second = tuple(f"{v}-2" if v == label else v for v in second)
    result = Result(name, columns, [row, second, tuple(None for _ in columns)])
    target = tmp_path / "c.svg"
    charts.write(charts.spec(result), target)
    drawn = marks(target.read_text())
    values = {m[next(k for k in m if k != measure)]: number(m[measure]) for m in drawn}
    value = float(row[-1])
    assert values == {label: value, f"{label}-2": 2 * value}  # the empty row is not drawn


def test_labels_cannot_end_the_page_script(tmp_path):
    """Users choose tags, names and titles: one that reads `</script>` stays text."""
    from warehouse import dashboard

    evil = "</script><script>alert(1)</script>"
    result = Result("tags", ["tag", "total_requests"], [(evil, 3)])
    target = tmp_path / "c.html"
    charts.write(charts.spec(result), target)
    text = target.read_text()
    assert evil not in text
    specs = re.search(r'<script type="application/json" id="chart-specs">(.*?)</script>',
                      text, re.S).group(1)
    assert json.loads(specs)["chart"]["data"]["values"][0]["tag"] == evil
    assert evil not in dashboard.table(["tag"], [(evil,)])
