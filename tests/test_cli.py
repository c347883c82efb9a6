"""The CLI surface: demo, output formats, help and README coverage, the Python API."""

from __future__ import annotations

import csv
import io
import json
import os
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

import warehouse
from tests.test_reports import invoke
from warehouse.cli import cli
from warehouse.output import to_json
from warehouse.reports import REPORTS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_demo_runs_the_whole_pipeline(demo_dir):
    config = str(demo_dir / "warehouse.toml")
    summary = json.loads(invoke("--config", config, "report", "summary", "--format", "json"))
    assert summary[0]["total_messages"] > 200 and summary[0]["total_users"] == 12
    # The nightly job on the same config is incremental and leaves the figures as they were.
    invoke("--config", config, "run", "--quiet")
    again = json.loads(invoke("--config", config, "report", "summary", "--format", "json"))
    assert again == summary
    status = invoke("--config", config, "status")
    assert "chat_message" in status and "marts.usage_hourly" in status


def test_csv_and_parquet_hold_the_json_figures(demo_dir, tmp_path):
    config = str(demo_dir / "warehouse.toml")
    rows = json.loads(invoke("--config", config, "report", "models", "--format", "json"))
    text = invoke("--config", config, "report", "models", "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [(r["model_id"], int(r["count"])) for r in parsed] == [
        (r["model_id"], r["count"]) for r in rows]
    target = tmp_path / "models.parquet"
    invoke("--config", config, "report", "models", "--format", "parquet", "--output",
           str(target))
    back = duckdb.sql(f"select model_id, count from '{target}'").fetchall()
    assert back == [(r["model_id"], r["count"]) for r in rows]


def test_python_api_gives_the_cli_figures(demo_dir):
    config = str(demo_dir / "warehouse.toml")
    wh = warehouse.open(demo_dir / "usage.duckdb")
    try:
        for name, spec in REPORTS.items():
            zone = {"tz": "Europe/Berlin"} if "tz" in spec.options else {}
            result = CliRunner().invoke(cli, ["--config", config, "report", name,
                                              "--format", "json",
                                              *(a for k, v in zone.items() for a in
                                                (f"--{k}", v))])
            assert result.exit_code == 0, result.output
            cli_rows = json.loads(result.stdout)
            frame = wh.report(name, **zone)
            # the API keeps exact decimals; JSON writes them as numbers
            assert json.loads(to_json(frame.columns, frame.rows())) == cli_rows, name
        marts = {r["mart"]: r for r in wh.marts().to_dicts()}
        assert set(marts) == {"usage_hourly", "tag_hourly", "user_daily", "model_daily",
                              "feedback_daily"}
        # what each holds, from its model file's comment, and its columns with types
        assert marts["user_daily"]["description"].startswith("One row per UTC day x source")
        assert "messages BIGINT" in marts["user_daily"]["columns"]
        assert all(m["description"] and m["columns"] for m in marts.values())
        assert wh.mart("user_daily")["messages"].sum() == wh.sql(
            "select count(*) as n from core.usage_events")["n"][0]
    finally:
        wh.close()


def test_query_command_reads_any_table(demo_dir):
    out = invoke("--db", str(demo_dir / "usage.duckdb"), "query",
                 "select count(*) as n from core.users", "--format", "json")
    assert json.loads(out) == [{"n": 12}]


def test_every_command_has_help_with_an_example_and_is_in_the_readme():
    readme = README.read_text()
    for name in cli.commands:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output, name
        assert f"warehouse {name}" in readme or f"`{name}`" in readme, name
    for name in REPORTS:
        assert f"report {name}" in readme, name


def test_readme_test_command_is_what_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text()
    readme = README.read_text()
    command = [line for line in ci.splitlines() if "pytest" in line][-1].strip()
    assert command in readme


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="builds and installs the wheel")
def test_installed_wheel_works_outside_the_clone(tmp_path):
    """`pip install .` (not -e) ships the SQL models, reports and schemas."""
    import subprocess
    import sys

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(site), str(README.parent)], check=True)
    # everything lives in the warehouse namespace: no top-level module that another
    # package of the same name would clash with
    top_level = {p.name for p in site.iterdir() if not p.name.endswith(".dist-info")}
    assert top_level == {"warehouse", "bin"}, top_level  # bin: the console script
    assert (site / "warehouse" / "status.schema.json").exists()
    packages = {p.parent.relative_to(README.parent)
                for p in (README.parent / "warehouse").rglob("__init__.py")}
    assert {p.parent.relative_to(site) for p in (site / "warehouse").rglob("__init__.py")
            } == packages
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run(
        [sys.executable, "-c", "import warehouse, sys; from warehouse.cli import main; "
         "assert warehouse.__file__.startswith(sys.argv[1]), warehouse.__file__; "
         "sys.argv = ['warehouse', 'demo', '--dir', 'd']; main()", str(site)],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "warehouse report models" in result.stdout
    # the dashboard's page template ships too
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from warehouse.cli import main; sys.argv = "
         "['warehouse', '--config', 'd/warehouse.toml', 'dashboard', '--output', 'u.html']; "
         "main()"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "vegaEmbed" in (tmp_path / "u.html").read_text()


def test_tables_fit_the_terminal_and_keep_numbers_whole():
    from warehouse.output import to_table

    columns = ["user_id", "email", "count", "total_spend"]
    rows = [("u-" + "x" * 40, "someone.with.a.long.address@faculty.example.org", 1234567,
             Decimal("98765.4321")), ("u2", None, 3, None)]
    wide = to_table(columns, rows)
    assert "1,234,567" in wide and "98,765.43" in wide and "x" * 40 in wide
    narrow = to_table(columns, rows, width=60)
    lines = narrow.splitlines()
    assert all(len(line) <= 60 for line in lines), narrow
    assert "1,234,567" in narrow and "98,765.43" in narrow  # numbers are never cut
    assert "..." in lines[2] and lines[2].startswith("u-xxx")
    # a terminal too narrow for the numbers: text columns stop at 8 characters
    tiny = to_table(columns, rows, width=20).splitlines()
    assert tiny[2].split()[0] == "u-xxx..."


def test_shell_completion_offers_commands_and_report_names():
    def complete(words: str) -> list[str]:
        result = CliRunner().invoke(
            cli, [], prog_name="warehouse",
            env={"_WAREHOUSE_COMPLETE": "bash_complete", "COMP_WORDS": words,
                 "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))})
        assert result.exit_code == 0, result.output
        return [line.split(",", 1)[1] for line in result.output.splitlines()]

    assert "dashboard" in complete("warehouse da")
    assert complete("warehouse report act") == ["active-users"]
    assert set(complete("warehouse report ")) == set(REPORTS)
