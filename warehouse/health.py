"""What monitoring asks of a warehouse: its state as data, and whether its data is fresh.

`warehouse status --format json` is `state()` (its shape: warehouse/status.schema.json);
`warehouse check` is `freshness()`: per source, how old the newest data copied from it
is (the newest cursor value any of its tables reached, as dbt's source freshness reads a
loaded-at column; a source whose tables are all copied whole counts from its last
ingest), against --max-age.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warehouse import db, journal, pipeline, snapshots
from warehouse.config import Config
from warehouse.errors import WarehouseError

SCHEMA_FILE = Path(__file__).with_name("status.schema.json")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> float:
    """'26h', '90m', '2d', '3600s' or plain seconds."""
    match = _AGE.match(text)
    if not match:
        raise WarehouseError(f"--max-age {text!r}: give a duration such as 26h, 90m, 2d "
                             "or 3600s")
    return float(match.group(1)) * _UNITS[match.group(2)]


def as_time(value) -> str | None:
    """A cursor value or a timestamp as ISO 8601 UTC ('...Z'): epoch seconds or
    milliseconds (Open WebUI), timestamps with or without an offset (LiteLLM)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        text = str(value).strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
            moment = datetime.fromtimestamp(seconds / 1000 if seconds > 1e11 else seconds,
                                            UTC)
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return None
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds_since(iso: str | None) -> float | None:
    if iso is None:
        return None
    then = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return round(time.time() - then.timestamp(), 1)


def state(config: Config) -> dict:
    """Everything `status` shows, as JSON-ready data."""
    path = Path(config.db)
    out: dict = {
        "warehouse": {"path": str(path), "exists": path.exists(), "published_at": None,
                      "bytes": None, "duckdb_version": None},
        "sources": [], "watermarks": [], "last_runs": [],
        "attempts": [{"command": a.command, "started_at": a.started_at,
                      "seconds": a.seconds, "outcome": a.outcome, "reason": a.reason}
                     for a in journal.last_attempts(path)],
        "snapshots": [{"file": s.path.name, "published_at": s.published_at,
                       "bytes": s.path.stat().st_size, "age_seconds": round(s.age_seconds, 1)}
                      for s in snapshots.listed(path)],
        "quarantine": [], "erasures": 0,
    }
    if not path.exists():
        return out
    stat = path.stat()
    out["warehouse"].update(published_at=as_time(int(stat.st_mtime)), bytes=stat.st_size)
    con = db.connect_reader(path)
    try:
        out["warehouse"]["duckdb_version"] = con.execute(
            "SELECT value FROM _warehouse.meta WHERE key = 'duckdb_version'").fetchone()[0]
        out["watermarks"], out["sources"] = sources(con, journal.last_checked(path))
        out["last_runs"] = [
            {"run_id": r, "command": c, "started_at": as_time(s), "seconds": sec,
             "rows_read": rows, "models_built": built}
            for r, c, s, sec, rows, built in con.execute(
                "SELECT run_id, command, started_at, round(seconds, 3), rows_read, "
                "models_built FROM _warehouse.run_log ORDER BY started_at DESC LIMIT 10"
            ).fetchall()]
        out["quarantine"] = [{"source": s, "table": t, "problem": p, "rows": n}
                             for s, t, p, n in pipeline.quarantine_counts(con)]
        out["erasures"] = con.execute("SELECT count(*) FROM _warehouse.erasures").fetchone()[0]
    finally:
        con.close()
    return out


def sources(con, unpublished: dict[str, datetime] | None = None
            ) -> tuple[list[dict], list[dict]]:
    """The watermarks, and per source its last ingest and the age of its newest data.
    `unpublished`: per source, when a job that found nothing new read it
    (journal.last_checked): the file's own record of the source is older."""
    watermarks = [
        {"source": s, "table": t, "cursor": c, "value": v, "value_time": as_time(v),
         "updated_at": as_time(u)}
        for s, t, c, v, u in con.execute(
            "SELECT source_name, table_name, cursor_column, cursor_value, updated_at "
            "FROM _warehouse.watermarks ORDER BY ALL").fetchall()]
    found = []
    for name, kind, present, checked in con.execute(
            "SELECT source_name, any_value(source_kind), count(*) FILTER (WHERE present),"
            " max(checked_at) FROM _warehouse.source_tables GROUP BY ALL "
            "ORDER BY 1").fetchall():
        checked = max(filter(None, (as_time(checked),
                                    as_time((unpublished or {}).get(name)))), default=None)
        newest = max((w["value_time"] for w in watermarks
                      if w["source"] == name and w["value_time"]), default=None)
        newest = newest or checked
        found.append({"name": name, "kind": kind, "tables_present": present,
                      "last_ingest_at": checked, "newest_data_at": newest,
                      "age_seconds": _seconds_since(newest)})
    return watermarks, found


@dataclass(frozen=True)
class Freshness:
    source: str
    fresh: bool
    line: str


def freshness(config: Config, max_age: float, names: tuple[str, ...] = ()) -> list[Freshness]:
    """One verdict per source: the configured ones and those the warehouse holds, or
    `names` only."""
    known = state(config)
    if not known["warehouse"]["exists"]:
        raise WarehouseError(f"warehouse {config.db} does not exist: run 'warehouse run' "
                             "first")
    by_name = {s["name"]: s for s in known["sources"]}
    wanted = list(names) or sorted(set(config.sources) | set(by_name))
    unknown = [n for n in wanted if n not in config.sources and n not in by_name]
    if unknown:
        every = ", ".join(sorted(set(config.sources) | set(by_name))) or "none"
        raise WarehouseError(f"--source {unknown[0]!r}: no such source (sources: {every})")
    verdicts = []
    limit = _duration(max_age)
    for name in wanted:
        source = by_name.get(name)
        if source is None or source["age_seconds"] is None:
            verdicts.append(Freshness(name, False, f"{name}: stale, nothing copied from it "
                                                   "yet (run 'warehouse run')"))
            continue
        age = source["age_seconds"]
        fresh = age <= max_age
        verdicts.append(Freshness(name, fresh, (
            f"{name}: {'ok' if fresh else 'stale'}, newest data {source['newest_data_at']} "
            f"({_duration(max(age, 0))} old, limit {limit}), last ingest "
            f"{source['last_ingest_at']}")))
    return verdicts


def _duration(seconds: float) -> str:
    if seconds >= 86400 * 2:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
