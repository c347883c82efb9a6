"""`warehouse transpile`: every model in another dialect with the macros expanded, or a
one-line error naming the model and the construct the dialect lacks."""

from __future__ import annotations

import re

import sqlglot
from click.testing import CliRunner

from tests.test_reports import invoke
from warehouse import models
from warehouse.cli import cli


def test_every_model_transpiles_to_spark_with_macros_expanded(demo_dir):
    cfg = str(demo_dir / "warehouse.toml")
    text = invoke("--config", cfg, "transpile", "--dialect", "spark")
    found = models.discover()
    assert re.findall(r"^-- (\S+) \(", text, re.MULTILINE) == models.build_order(found)
    assert "_warehouse." not in text.replace("_warehouse.`", "").replace(
        "_warehouse.prices", "").replace("_warehouse.routes", "").replace(
        "_warehouse.source_tables", "").replace("_warehouse.ingest_quarantine", "")
    code = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL).upper()  # comments aside
    for construct in ("BY NAME", "EXCLUDE", "EXCEPT (", "JSON_VALID", "TIMEZONE(", " GLOB "):
        assert construct not in code, construct
    for statement in text.split(";\n")[:-1]:
        sqlglot.parse_one(statement, read="spark")  # each is one valid Spark statement


def test_a_construct_the_dialect_lacks_is_named(demo_dir):
    cfg = str(demo_dir / "warehouse.toml")
    result = CliRunner().invoke(cli, ["--config", cfg, "transpile", "--dialect", "trino"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1
    assert "model staging." in line and "does not transpile to trino" in line
    assert "JSONPathWildcard" in line
    one = invoke("--config", cfg, "transpile", "--dialect", "trino", "--select",
                 "marts.user_daily")
    assert one.startswith("-- marts.user_daily (table)") and "GROUP BY" in one


def test_transpile_needs_a_built_warehouse(tmp_path):
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.duckdb"), "transpile",
                                      "--dialect", "spark"])
    assert result.exit_code == 1 and "does not exist" in result.output
