"""The jobs behind `ingest`, `build`, `run` and `status`, callable without the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ingest.engine import TableResult, ensure_raw_tables, ingest
from warehouse import db, models, prices
from warehouse.config import Config, Source
from warehouse.errors import WarehouseError


@contextmanager
def writable(path: Path) -> Iterator:
    """A write connection; a warehouse file this job created is removed if the job fails,
    so a failed first run leaves nothing behind (an existing file is rolled back instead)."""
    existed = Path(path).exists()
    con = db.connect(path)
    try:
        yield con
    except BaseException:
        con.close()
        if not existed:
            for leftover in (Path(path), Path(f"{path}.wal")):
                if leftover.exists():
                    os.remove(leftover)
        raise
    else:
        con.close()


def select_sources(config: Config, names: tuple[str, ...],
                   extra: tuple[Source, ...] = ()) -> list[Source]:
    if names:
        unknown = [n for n in names if n not in config.sources]
        if unknown:
            known = ", ".join(config.sources) or "none configured"
            raise WarehouseError(f"unknown source {unknown[0]!r} (sources: {known})")
        chosen = [config.sources[n] for n in names]
    else:
        chosen = [] if extra else list(config.sources.values())
    chosen += list(extra)
    if not chosen:
        raise WarehouseError(
            "no sources: add [sources.NAME] to warehouse.toml or pass --url URL")
    return chosen


def run_ingest(config: Config, sources: list[Source], full_refresh: bool = False,
               progress=None) -> list[TableResult]:
    with writable(config.db) as con:
        return ingest(con, sources, full_refresh=full_refresh, progress=progress)


def run_build(config: Config, select: list[str] | None = None,
              progress=None) -> list[models.BuildResult]:
    """Build the models; the configured price file (checked before anything is written)
    replaces the warehouse's prices in the same transaction. Without one, the prices
    loaded last time stay."""
    found = models.discover(config.user_models)
    price_list = prices.load(config.prices) if config.prices else None
    with writable(config.db) as con:
        ensure_inputs(con)

        def prepare(c):
            if price_list:
                prices.store(c, price_list)
            if config.path is not None:
                _store_routes(c, config)

        return models.build(con, found, select=select, progress=progress, prepare=prepare)


def ensure_inputs(con) -> None:
    """Every table the models read, empty if nothing filled it yet, so models compile."""
    ensure_raw_tables(con)
    prices.ensure_tables(con)
    con.execute(ROUTES_TABLE)


ROUTES_TABLE = ("CREATE TABLE IF NOT EXISTS _warehouse.routes (source_name VARCHAR, "
                "upstream_name VARCHAR, window_seconds INTEGER)")


def _store_routes(con, config: Config) -> None:
    """The config file's routed_through declarations, for core.routed_matches. A build
    without a config file keeps the routes stored last."""
    con.execute("DELETE FROM _warehouse.routes")
    for source in config.sources.values():
        if source.routed_through:
            con.execute("INSERT INTO _warehouse.routes VALUES (?, ?, ?)",
                        [source.name, source.routed_through, source.match_window_seconds])


@dataclass
class Status:
    sources: list[tuple]
    watermarks: list[tuple]
    last_runs: list[tuple]
    tables: list[tuple]


def status(config: Config) -> Status:
    con = db.connect(config.db, read_only=True)
    try:
        sources = con.execute(
            "SELECT source_name, source_kind, count(*) FILTER (WHERE present) AS tables_present, "
            "max(checked_at) AS checked_at FROM _warehouse.source_tables GROUP BY ALL "
            "ORDER BY source_name").fetchall()
        watermarks = con.execute(
            "SELECT source_name, table_name, cursor_column, cursor_value, updated_at "
            "FROM _warehouse.watermarks ORDER BY ALL").fetchall()
        last_runs = con.execute(
            "SELECT source_name, table_name, mode, finished_at, rows_read, rows_inserted, "
            "rows_updated, rows_deleted FROM _warehouse.ingest_runs "
            "QUALIFY row_number() OVER (PARTITION BY source_name, table_name "
            "ORDER BY finished_at DESC) = 1 ORDER BY source_name, table_name").fetchall()
        names = [r[0] for r in con.execute(
            "SELECT '\"' || schema_name || '\".\"' || table_name || '\"' FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name <> '_warehouse' "
            "ORDER BY schema_name, table_name").fetchall()]
        tables = [(n.replace('"', ""), con.execute(f"SELECT count(*) FROM {n}").fetchone()[0])
                  for n in names]
        return Status(sources, watermarks, last_runs, tables)
    finally:
        con.close()
