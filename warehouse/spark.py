"""Build the models on Apache Spark from a Parquet export (`warehouse export`).

Every raw and `_warehouse` table the models read becomes a Spark view over its exported
folder (partition discovery adds `day`); every model is transpiled (warehouse/transpile.py)
and created in build order: staging as views, core and marts as Parquet tables in the
Spark warehouse folder. Spark always builds in full. pyspark is imported here only.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import WarehouseError, one_line
from warehouse.models import Model, keyed
from warehouse.transpile import transpile_all


@dataclass
class SparkResult:
    model: str
    materialized: str
    rows: int | None
    seconds: float


def session(warehouse_dir: Path, master: str = "local[*]"):
    """A Spark session in UTC (the models bucket days and hours in UTC, as DuckDB here)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise WarehouseError("--engine spark needs pyspark: pip install "
                             "'usage-warehouse[spark]' (and a Java runtime)") from None
    spark = (SparkSession.builder.master(master).appName("usage-warehouse")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.warehouse.dir", str(Path(warehouse_dir).resolve()))
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.driver.memory", "1g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def build(spark, export_dir: Path, models: dict[str, Model], schema: dict,
          progress=None) -> list[SparkResult]:
    export_dir = Path(export_dir).resolve()
    if not (export_dir / "_manifest.json").exists():
        raise WarehouseError(f"--input {export_dir}: not a Parquet export (no "
                             "_manifest.json): run 'warehouse export' first")
    transpiled = transpile_all(models, "spark", schema)
    inputs = sorted(set().union(*(m.external for m in models.values())))
    for schema_name in sorted({t.split(".")[0] for t in inputs} | {
            m.name.split(".")[0] for m in models.values()}):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{schema_name}`")
    for table in inputs:
        folder = export_dir.joinpath(*table.split("."))
        if not folder.is_dir():
            raise WarehouseError(f"--input {export_dir}: has no folder for {table}, which "
                                 "the models read: export again")
        spark.sql(f"CREATE OR REPLACE VIEW {_name(table)} AS "
                  f"SELECT * FROM parquet.`{folder}`")
    results = []
    for model, sql in transpiled:
        if progress:
            progress(model.name)
        started = time.monotonic()
        try:
            rows = _create(spark, model, sql)
        except Exception as exc:  # Spark's AnalysisException and friends
            if not type(exc).__module__.startswith(("pyspark", "py4j")):
                raise
            raise WarehouseError(f"model {model.name} failed on Spark: "
                                 f"{_first_line(exc)}") from None
        results.append(SparkResult(model.name, model.materialized, rows,
                                   time.monotonic() - started))
    return results


def _create(spark, model: Model, sql: str) -> int | None:
    name = _name(model.name)
    if model.materialized == "view":
        spark.sql(f"CREATE OR REPLACE VIEW {name} AS\n{sql}")
        return None
    spark.sql(f"DROP TABLE IF EXISTS {name}")
    # a table folder an earlier session left (its catalog was in memory) is replaced
    root = spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:")
    schema, table = model.name.split(".")
    shutil.rmtree(Path(root) / f"{schema}.db" / table, ignore_errors=True)
    if model.key:
        sql = keyed(model, sql)
    spark.sql(f"CREATE TABLE {name} USING parquet AS\n{sql}")
    return spark.table(name).count()


def _name(table: str) -> str:
    return ".".join(f"`{part}`" for part in table.split("."))


def _first_line(exc: Exception) -> str:
    text = getattr(exc, "getMessage", lambda: str(exc))() or str(exc)
    return one_line(text.strip().splitlines()[0] if text.strip() else repr(exc))
