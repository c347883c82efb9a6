"""Every report filter reaches SQL as a bound value: SQL in an option is matched as text,
never run. Each report with each filter gets quote-breaking values; the answer is rows
matching nothing or a one-line error, and the warehouse is as it was."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.test_errors import snapshot
from tests.test_reports import invoke
from warehouse.cli import cli
from warehouse.reports import REPORTS

ALWAYS_TRUE = "x' OR '1'='1"
PAYLOADS = [ALWAYS_TRUE, "'; DROP TABLE marts.usage_hourly; --", 'x") OR ("1"="1',
            "x' UNION SELECT * FROM core.users --"]
# Options whose values are data (the others are checked against fixed lists first).
VALUE_OPTIONS = ["--model", "--user", "--source", "--group", "--tag", "--tag-like",
                 "--currency"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    invoke("demo", "--dir", str(folder))
    return folder / "usage.duckdb"


def run(db, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), "report", *args, "--format", "json"])


@pytest.mark.parametrize("option", VALUE_OPTIONS)
def test_no_filter_value_runs_as_sql(demo, option):
    before = snapshot(demo)
    for name in REPORTS:
        for payload in PAYLOADS:
            result = run(demo, name, option, payload)
            assert "Traceback" not in result.output, (name, option, payload)
            if result.exit_code == 0:
                json.loads(result.stdout)  # a well-formed answer
            else:
                lines = result.output.strip().splitlines()
                assert result.exit_code == 1 and len(lines) == 1 and \
                    lines[0].startswith("Error: "), (name, option, payload, result.output)
    assert snapshot(demo) == before


@pytest.mark.parametrize("option", ["--model", "--user", "--source", "--group", "--tag",
                                    "--tag-like"])
def test_an_always_true_value_matches_nothing(demo, option):
    """The value is looked up as text: nothing matches (or it is named as unknown)."""
    assert json.loads(run(demo, "summary").stdout)[0]["total_messages"] > 0
    for name in ("summary", "models"):
        result = run(demo, name, option, ALWAYS_TRUE)
        if result.exit_code:
            assert ALWAYS_TRUE in result.output, result.output  # "no user x' OR ..."
            continue
        rows = json.loads(result.stdout)
        assert rows == [] or not rows[0].get("total_messages"), (name, rows)
