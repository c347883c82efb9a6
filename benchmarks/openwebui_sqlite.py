"""Open WebUI (SQLite) at a stated size: ingest, build and report times against baselines
measured in the same run.

    python benchmarks/openwebui_sqlite.py --messages 1000000

Baselines: DuckDB's raw scanner copy of chat_message (CREATE TABLE AS SELECT) for ingest,
and the same question asked of the SQLite source directly for reports.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from ingest.engine import ingest
from warehouse import db, models, pipeline, sample
from warehouse.config import make_source
from warehouse.db import load_extension


def generate(path: Path, messages: int, start_offset: int = 0) -> None:
    """Chats of 10 messages (5 assistant), 2,000 users, 8 models, written by DuckDB."""
    con = duckdb.connect()
    load_extension(con, "sqlite")
    con.execute(f"ATTACH '{path}' AS owui (TYPE sqlite)")
    chats = messages // 10
    lo, hi = start_offset // 10, start_offset // 10 + chats
    base = 1_760_000_000 + start_offset * 2
    con.execute(f"""
        INSERT INTO owui.chat (id, user_id, title, chat, created_at, updated_at, archived, meta)
        SELECT 'c' || i, 'u' || (i % 2000), 'chat ' || i, '{{}}', {base} + (i - {lo}) * 20,
               {base} + (i - {lo}) * 20 + 600, false, '{{"tags": ["t' || (i % 7) || '"]}}'
        FROM range({lo}, {hi}) t(i)""")
    con.execute(f"""
        INSERT INTO owui.chat_message (id, chat_id, user_id, role, parent_id, content, model_id,
                                       done, usage, created_at, updated_at)
        SELECT 'c' || c || '-m' || k, 'c' || c, 'u' || (c % 2000),
               CASE WHEN k % 2 = 0 THEN 'user' ELSE 'assistant' END, NULL, '"question"',
               CASE WHEN k % 2 = 1 THEN 'model-' || (c % 8) END, true,
               CASE WHEN k % 2 = 1 THEN '{{"prompt_tokens": ' || (c % 500) ||
                    ', "completion_tokens": ' || (k * 37 % 900) || '}}' END,
               {base} + (c - {lo}) * 20 + k * 60, {base} + (c - {lo}) * 20 + k * 60
        FROM range({lo}, {hi}) t(c), range(10) m(k)""")
    con.close()


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def report_process(db_path: Path) -> float:
    return timed(lambda: subprocess.run(
        [sys.executable, "-m", "warehouse", "--db", str(db_path), "report", "users",
         "--limit", "10", "--format", "json"], check=True, capture_output=True))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wh-bench-"))
    source = work / "webui.db"
    conn = sqlite3.connect(source)
    sample.write(conn, sample.Dataset())
    conn.close()
    gen = timed(lambda: generate(source, args.messages))
    print(f"generated {args.messages:,} chat_message rows in {gen:.1f} s ({work})")

    scanner = duckdb.connect(str(work / "baseline.duckdb"))
    load_extension(scanner, "sqlite")
    scanner.execute(f"ATTACH '{source}' AS s (TYPE sqlite, READ_ONLY)")
    base = timed(lambda: scanner.execute(
        "CREATE TABLE m AS SELECT * FROM s.chat_message; CREATE TABLE c AS SELECT * FROM s.chat"))
    scanner.close()

    wh_path = work / "usage.duckdb"
    con = db.connect(wh_path)
    src = [make_source("bench", "openwebui", str(source))]
    full = timed(lambda: ingest(con, src))
    con.close()
    generate(source, args.messages // 100, start_offset=args.messages)
    con = db.connect(wh_path)
    incremental = timed(lambda: ingest(con, src))
    found = models.discover()
    pipeline.ensure_inputs(con)
    build = timed(lambda: models.build(con, found))
    con.close()

    question = ("SELECT user_id, count(*), sum(coalesce(json_extract(usage, '$.input_tokens'), "
                "json_extract(usage, '$.prompt_tokens'))) FROM chat_message WHERE role = "
                "'assistant' GROUP BY user_id ORDER BY 2 DESC LIMIT 10")
    lite = sqlite3.connect(source)
    direct = timed(lambda: lite.execute(question).fetchall())
    lite.close()
    report = min(report_process(wh_path) for _ in range(3))

    print(f"raw scanner copy (baseline)      {base:8.2f} s")
    print(f"full ingest                      {full:8.2f} s  speed {base / full:5.2f}x baseline")
    share = incremental / full
    print(f"incremental ingest (+1%)         {incremental:8.2f} s  {share:6.1%} of full")
    print(f"full build                       {build:8.2f} s")
    print(f"users report, SQLite directly    {direct:8.2f} s")
    print(f"users report, whole process      {report:8.2f} s  {direct / report:5.1f}x faster")


if __name__ == "__main__":
    main()
