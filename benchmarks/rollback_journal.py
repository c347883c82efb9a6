"""An Open WebUI SQLite source in rollback-journal mode, written to while it is ingested.

    python benchmarks/rollback_journal.py --events 1000000

Open WebUI keeps SQLite in rollback-journal mode unless DATABASE_ENABLE_SQLITE_WAL=true;
there a reader's lock keeps the app's commits waiting. The benchmark generates the Open
WebUI share of N events (benchmarks/generate.py: 60% replies in chats of 10 messages, 10%
usage-ledger rows), then runs a writer process that commits a conversation (a chat and
its two messages, one transaction) every 80 ms with SQLAlchemy's default 5 s busy timeout,
as Open WebUI would, and measures each commit's latency:
- baseline: the writer alone, no ingest (same run, same machine);
- during a full ingest (the first copy) and during an incremental one (+1% events);
- during a full build, a job that writes as much to the same disk but never reads the
  source: what the writer's fsyncs wait for whoever writes.
It reports the worst and p99 commit latency of each phase and the ratio to the baseline,
failed writes, and whether a last ingest after the writer stops holds exactly the
source's rows (chats, messages, total tokens).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import generate  # noqa: E402

WRITER = textwrap.dedent("""
    import json, os, sqlite3, sys, time
    target, out, every = sys.argv[1], sys.argv[2], float(sys.argv[3])
    conn = sqlite3.connect(target, isolation_level=None, timeout=5.0)
    phase, latencies, failed, n, worst_at = "idle", {}, {}, 0, {}
    marker = out + ".phase"
    print("writing", flush=True)
    while True:
        try:
            phase = open(marker).read().strip() or phase
        except OSError:
            pass
        if phase == "stop":
            break
        if phase == "pause":  # while the benchmark itself writes the source
            time.sleep(every)
            continue
        n += 1
        now = int(time.time())
        began = time.monotonic()
        try:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, "
                         "archived, meta) VALUES (?, 'u1', 't', '{}', ?, ?, 0, '{}')",
                         (f"w{n}", now, now))
            for k, role in enumerate(("user", "assistant")):
                conn.execute("INSERT INTO chat_message (id, chat_id, user_id, role, content, "
                             "model_id, done, usage, created_at, updated_at) VALUES "
                             "(?, ?, 'u1', ?, '\\"hello\\"', 'model-1', 1, ?, ?, ?)",
                             (f"w{n}-{k}", f"w{n}", role,
                              '{"prompt_tokens": 10, "completion_tokens": 5}', now, now))
            conn.execute("COMMIT")
            took = time.monotonic() - began
            if took > max(latencies.get(phase, [0.0])):
                worst_at[phase] = time.time() - took
            latencies.setdefault(phase, []).append(took)
        except sqlite3.OperationalError:
            failed[phase] = failed.get(phase, 0) + 1
            conn.execute("ROLLBACK")
        time.sleep(max(0.0, every - (time.monotonic() - began)))
    json.dump({"latencies": latencies, "failed": failed, "worst_at": worst_at},
              open(out, "w"))
""")


def warehouse(config: Path, *args: str) -> tuple[float, float]:
    """Run a job; (wall-clock start, seconds)."""
    started, wall = time.monotonic(), time.time()
    subprocess.run([sys.executable, "-m", "warehouse.cli", "--config", str(config), *args,
                    "--quiet"], check=True, cwd=config.parent)
    return wall, time.monotonic() - started


def totals_in_source(path: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT (SELECT count(*) FROM chat), (SELECT count(*) FROM chat_message), "
            "(SELECT coalesce(sum(coalesce(json_extract(usage, '$.prompt_tokens'), "
            "json_extract(usage, '$.input_tokens'), 0) + coalesce(json_extract(usage, "
            "'$.completion_tokens'), json_extract(usage, '$.output_tokens'), 0)), 0) "
            "FROM chat_message WHERE json_valid(usage))").fetchone()
    finally:
        conn.close()


def totals_in_warehouse(db: Path) -> tuple[int, int, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT (SELECT count(*) FROM raw_openwebui.chat WHERE _deleted_at IS NULL), "
            "(SELECT count(*) FROM raw_openwebui.chat_message WHERE _deleted_at IS NULL), "
            "(SELECT coalesce(sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)), 0)"
            " FROM staging.stg_openwebui__chat_message)").fetchone()
    finally:
        con.close()


def stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return ordered[-1] * 1000, ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--every", type=float, default=0.08, help="seconds between commits")
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--workdir", help="folder for the files (default: a temp dir)")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="rollback-journal-"))
    work.mkdir(parents=True, exist_ok=True)
    source, db = work / "webui.db", work / "usage.duckdb"
    for stale in [source, source.with_name(source.name + "-journal"), *work.glob(db.name + "*")]:
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{source}"
    lay = generate.layout(args.events)
    started = time.monotonic()
    generate.create_openwebui(url, "sqlite")
    generate._without_sqlite_indexes(
        url, "sqlite", lambda: generate.fill_openwebui(url, "sqlite", lay, 0, args.events))
    conn = sqlite3.connect(source)
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    print(f"generated {args.events:,} events ({source.stat().st_size / 1e6:,.0f} MB, "
          f"journal_mode={mode}) in {time.monotonic() - started:.0f} s")
    os.sync()  # the generator's writes reach the disk before any writer is timed
    config = work / "warehouse.toml"
    config.write_text(f'[warehouse]\ndb = "{db}"\n\n[sources.campus]\nurl = "{url}"\n')

    out = work / "writer.json"
    marker = Path(str(out) + ".phase")
    marker.write_text("idle")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(source), str(out),
                               str(args.every)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        time.sleep(args.baseline_seconds)
        seconds = {}
        marker.write_text("full")
        seconds["full"] = warehouse(config, "ingest")
        marker.write_text("pause")
        time.sleep(1)
        generate.fill_openwebui(url, "sqlite", lay, args.events, args.events // 100)
        marker.write_text("incremental")
        seconds["incremental"] = warehouse(config, "ingest")
        # a job of the same weight on this disk that never reads the source: the writer's
        # commits (each an fsync) wait for the disk too, whoever else writes to it
        marker.write_text("build")
        seconds["build"] = warehouse(config, "build", "--full")
        marker.write_text("stop")
        writer.wait(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
    result = json.loads(out.read_text())
    warehouse(config, "ingest")
    warehouse(config, "build")
    exact = totals_in_source(source) == totals_in_warehouse(db)

    base_worst, base_p99 = stats(result["latencies"]["idle"])
    print(f"\nwriter: a conversation every {args.every * 1000:.0f} ms, busy timeout 5 s; "
          f"baseline = the writer alone for {args.baseline_seconds:.0f} s "
          f"(worst {base_worst:.1f} ms, p99 {base_p99:.1f} ms)")
    print("| phase | job seconds | commits | failed | worst commit ms | p99 ms | "
          "worst / baseline worst | worst began at (s into the job) |")
    print("|---|---|---|---|---|---|---|---|")
    for phase in ("full", "incremental", "build"):
        worst, p99 = stats(result["latencies"].get(phase, [0.0]))
        began, took = seconds[phase]
        at = result["worst_at"].get(phase, began) - began
        print(f"| {phase} | {took:.1f} | {len(result['latencies'].get(phase, []))} "
              f"| {result['failed'].get(phase, 0)} | {worst:.1f} | {p99:.1f} | "
              f"{worst / base_worst:.1f}x | {at:.1f} |")
    print(f"\nafter the writer stopped, one more ingest: warehouse totals equal the source's "
          f"(chats, messages, tokens): {exact}")


if __name__ == "__main__":
    main()
