"""The jobs behind `ingest`, `build`, `run` and `status`, callable without the CLI."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field

from warehouse import changes, db, export, models, prices, pseudonyms, publish
from warehouse.config import Config, Source
from warehouse.errors import WarehouseError
from warehouse.ingest import content
from warehouse.ingest.engine import TableResult, ensure_raw_tables, ingest


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
               progress=None, wait: bool = False) -> RunSummary:
    shrinks = content.needs_rewrite(config.db, sources)
    with publish.writing(config.db, wait, "ingest", keep=config.keep,
                         compact=shrinks) as con:
        run = RunSummary("ingest")
        before = _before(con)
        run.ingested = ingest(con, sources, full_refresh=full_refresh, progress=progress,
                              run_id=run.run_id)
        _publish_if_changed(con, run, before, sources)
    _follow_exports(config, shrinks)
    return run


def run_build(config: Config, select: list[str] | None = None, progress=None,
              wait: bool = False, full: bool = False) -> RunSummary:
    """Build the models; the configured price file (checked before anything is written)
    replaces the warehouse's prices in the same transaction. Without one, the prices
    loaded last time stay."""
    found = models.discover(config.user_models)
    price_list = prices.load(config.prices) if config.prices else None
    with publish.writing(config.db, wait, "build", keep=config.keep) as con:
        run = RunSummary("build")
        before = _before(con)
        run.built = _build(con, config, found, price_list, select, progress, full)
        _publish_if_changed(con, run, before)
    return run


def run_all(config: Config, full_refresh: bool = False, progress=None,
            wait: bool = False) -> RunSummary:
    """The nightly job: ingest every source and build, published together or not at all.
    Everything that can be checked before copying (models, price file) is checked first."""
    found = models.discover(config.user_models)
    price_list = prices.load(config.prices) if config.prices else None
    sources = select_sources(config, ())
    shrinks = content.needs_rewrite(config.db, sources)
    with publish.writing(config.db, wait, "run", keep=config.keep, compact=shrinks) as con:
        run = RunSummary("run")
        before = _before(con)
        run.ingested = ingest(con, sources, full_refresh=full_refresh, progress=progress,
                              run_id=run.run_id)
        run.built = _build(con, config, found, price_list, None, progress, full_refresh)
        _publish_if_changed(con, run, before, sources)
    _follow_exports(config, shrinks)
    return run


def _before(con) -> tuple[dict, set]:
    """What the job's copy held before the job (a new file holds the empty bookkeeping
    tables db.connect makes, and its first job always changes them)."""
    return changes.bookkeeping(con), changes.cursor_tables(con)


def _publish_if_changed(con, run: RunSummary, before: tuple[dict, set],
                        sources=()) -> None:
    """Log the run into the copy to publish, or publish nothing when nothing changed (the
    journal then records that the sources were read)."""
    if changes.nothing_new(before[0], changes.bookkeeping(con), run.ingested, run.built,
                           before[1]):
        run.published = False
        raise publish.Unchanged("nothing new: the published warehouse was left as it was",
                                [s.name for s in sources])
    run.log(con)


def _follow_exports(config: Config, shrunk: bool) -> None:
    """A source now keeps less text (ingest/content.py): the file was rewritten without
    it, and so is every export recorded beside it."""
    if shrunk:
        export.export_again(config.db, config.output_mode,
                            "the warehouse now keeps less text", "the text it dropped")


def _build(con, config: Config, found, price_list, select, progress, full=False):
    ensure_inputs(con)

    def prepare(c):
        pseudonyms.store(c, config.pseudonymize)
        if price_list:
            prices.store(c, price_list)
        if config.path is not None:
            _store_routes(c, config)

    return models.build(con, found, select=select, progress=progress, prepare=prepare,
                        full=full)


@dataclass
class RunSummary:
    """What one job did: printed as its one-line summary, kept in _warehouse.run_log."""

    command: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: float = field(default_factory=time.time)
    ingested: list[TableResult] = field(default_factory=list)
    built: list[models.BuildResult] = field(default_factory=list)
    published: bool = True  # False: nothing new, the published file left as it was

    @property
    def rows_read(self) -> int:
        return sum(r.rows_read for r in self.ingested)

    @property
    def seconds(self) -> float:
        return time.time() - self.started

    def per_source(self) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = {}
        for r in self.ingested:
            t = totals.setdefault(r.source_name, dict.fromkeys(
                ("rows_read", "rows_inserted", "rows_updated", "rows_deleted"), 0))
            for key in t:
                t[key] += getattr(r, key)
        return totals

    def line(self, db_path) -> str:
        parts = []
        if self.command in ("ingest", "run"):
            # rows read are not rows added: the overlap and whole small tables are read
            # again every time, and only what differs is new or changed
            totals = self.per_source()
            new = sum(t["rows_inserted"] for t in totals.values())
            changed = sum(t["rows_updated"] for t in totals.values())
            gone = sum(t["rows_deleted"] for t in totals.values())
            sources = "; ".join(
                f"{name} {t['rows_read']:,} read, {t['rows_inserted']:,} new, "
                f"{t['rows_updated']:,} changed" for name, t in totals.items())
            parts.append(f"read {self.rows_read:,} source rows: {new:,} new, {changed:,} "
                         f"changed, {gone:,} gone from the source ({sources})")
        if self.command in ("build", "run"):
            parts.append(f"built {len(self.built)} models")
        done = (f"published {db_path}" if self.published else
                f"nothing new, so {db_path} was left as it was")
        return (f"{self.command} {self.run_id}: " + ", ".join(parts)
                + f"; {done} in {self.seconds:.1f} s")

    def log(self, con) -> None:
        """The run log row, written into the copy that is about to be published (a job
        that fails publishes nothing, so only finished jobs appear)."""
        details = {
            "sources": self.per_source(),
            "tables": [{"source": r.source_name, "table": r.table_name, "mode": r.mode,
                        "rows_read": r.rows_read, "seconds": round(r.seconds, 3)}
                       for r in self.ingested if r.mode != "absent"],
            "models": [{"model": b.model, "mode": b.mode, "rows": b.rows,
                        "seconds": round(b.seconds, 3)} for b in self.built],
            "pid": os.getpid(),
        }
        con.execute(
            "INSERT INTO _warehouse.run_log VALUES (?, ?, to_timestamp(?), now(), ?, ?, ?, ?)",
            [self.run_id, self.command, self.started, self.seconds, self.rows_read,
             len(self.built), json.dumps(details)])


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
    runs: list[tuple]
    sources: list[tuple]
    watermarks: list[tuple]
    last_runs: list[tuple]
    tables: list[tuple]
    erasures: list[tuple] = field(default_factory=list)
    quarantine: list[tuple] = field(default_factory=list)  # (source, table, problem, rows)


def status(config: Config) -> Status:
    con = db.connect(config.db, read_only=True)
    try:
        has_log = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = "
                              "'_warehouse' AND table_name = 'run_log'").fetchone()[0]
        runs = con.execute(
            "SELECT run_id, command, started_at, round(seconds, 1), rows_read, models_built "
            "FROM _warehouse.run_log ORDER BY started_at DESC LIMIT 5").fetchall() \
            if has_log else []  # a warehouse last written before the run log existed
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
        has_erasures = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = "
                                   "'_warehouse' AND table_name = 'erasures'").fetchone()[0]
        erasures = con.execute(
            "SELECT erasure_id, erased_at, requested_by, reason, rows_removed "
            "FROM _warehouse.erasures ORDER BY erased_at DESC").fetchall() \
            if has_erasures else []
        return Status(runs, sources, watermarks, last_runs, tables, erasures,
                      quarantine_counts(con))
    finally:
        con.close()


def quarantine_counts(con) -> list[tuple]:
    """core.quarantine (the view the build makes) by table and problem; before a build,
    what ingest set aside."""
    present = {name for (name,) in con.execute(
        "SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE NOT internal "
        "UNION ALL SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()}
    for relation in ("core.quarantine", "_warehouse.ingest_quarantine"):
        if relation in present:
            return con.execute(
                f"SELECT source_name, table_name, problem, count(*) FROM {relation} "
                "GROUP BY ALL ORDER BY ALL").fetchall()
    return []
