"""The same model files on Apache Spark (local mode): every mart built by Spark from the
Parquet export equals DuckDB's, row by row. Needs Java; `pytest -m "not spark"` skips
these locally, CI always runs them (a missing Java or pyspark fails there)."""

from __future__ import annotations

import decimal
import os
import shutil
from datetime import UTC, date, datetime

import duckdb
import pytest

from tests.test_ledger import LEDGER_DDL, MONEY
from tests.test_reports import invoke
from tests.test_routing import config, owui_data, proxy_data
from warehouse import models

pytestmark = pytest.mark.spark
MARTS = sorted(n for n, m in models.discover().items()
               if n.startswith("marts.") and m.materialized == "table")


@pytest.fixture(scope="module", autouse=True)
def java():
    if shutil.which("java") is None or not _has_pyspark():
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs the Spark tests: Java and pyspark must be installed")
        pytest.skip("needs Java and pyspark")


def _has_pyspark() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


def normal(value):
    """One spelling per value across engines: instants as UTC, exact decimals
    normalised, floats to 9 significant digits."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
                ).replace(tzinfo=None)
    if isinstance(value, decimal.Decimal):
        return value.normalize() if value else decimal.Decimal(0)
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, list | tuple):
        return tuple(normal(v) for v in value)
    if isinstance(value, date):
        return value
    return value


def rows(con, relation: str, columns: list[str]) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in columns)
    found = con.execute(f"SELECT {cols} FROM {relation}").fetchall()
    return sorted((tuple(normal(v) for v in r) for r in found), key=repr)


def test_every_mart_on_spark_equals_duckdbs(make_source, make_litellm, tmp_path):
    assert {"marts.usage_hourly", "marts.user_daily", "marts.model_daily",
            "marts.tag_hourly", "marts.feedback_daily"} <= set(MARTS)
    data = owui_data(days=15)
    proxy, _ = proxy_data(data)
    owui = make_source(data, "sqlite")
    owui.execute(LEDGER_DDL.format(money=MONEY["sqlite"]))
    litellm = make_litellm(proxy)
    db = config(tmp_path, owui.url, litellm.url, routed=True)
    cfg = str(tmp_path / "routed.toml")
    export = tmp_path / "parquet"
    invoke("--config", cfg, "export", "--output", str(export), "--quiet")
    built = tmp_path / "spark-warehouse"
    out = invoke("--config", cfg, "build", "--engine", "spark", "--input", str(export),
                 "--spark-warehouse", str(built), "--master", "local[2]")
    assert "built" in out and "on Spark" in out

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{db}' AS wh (READ_ONLY)")
    compared = 0
    for mart in MARTS:
        schema, name = mart.split(".")
        columns = [c for c, *_ in con.execute(f"DESCRIBE wh.{schema}.{name}").fetchall()]
        ours = rows(con, f"wh.{schema}.{name}", columns)
        theirs = rows(con, f"read_parquet('{built}/{schema}.db/{name}/*.parquet')", columns)
        assert len(ours) == len(theirs), mart
        for a, b in zip(ours, theirs, strict=True):
            assert a == b, (mart, dict(zip(columns, a, strict=True)),
                            dict(zip(columns, b, strict=True)))
        compared += len(ours)
    assert compared > 100
