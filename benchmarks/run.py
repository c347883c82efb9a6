"""The warehouse at a stated size, against baselines measured in the same run.

    python benchmarks/run.py --events 1000000                  # Open WebUI in SQLite
    python benchmarks/run.py --events 1000000 --openwebui postgres
    python benchmarks/run.py --events 10000000 --results benchmarks/RESULTS.md

Sources (benchmarks/generate.py): Open WebUI (SQLite file or PostgreSQL) with its usage
ledger, and LiteLLM (PostgreSQL). PostgreSQL is a throwaway cluster from the local
binaries, or --pg-url. Every step is a whole `warehouse` process, timed from start to exit,
with its peak RSS; baselines:
- ingest: DuckDB's raw scanner copy (CREATE TABLE AS SELECT *) of the same tables, also a
  whole process;
- incremental ingest and build: the full ingest and build of this run;
- reports: the same question asked of the source databases directly (the sum over the
  sources a report covers), the query alone, best of --repeat.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import generate  # noqa: E402
from tests import pgserver  # noqa: E402

PRICES = """currency = "USD"
[[price]]
model = "model-*"
input = 2.50
output = 10.00
currency = "USD"
valid_from = 2020-01-01
[[price]]
model = "gpt-*"
input = 2.50
output = 10.00
currency = "USD"
valid_from = 2020-01-01
"""


RSS_WRAPPER = textwrap.dedent("""\
    import os, resource, subprocess, sys, time
    started = time.perf_counter()
    proc = subprocess.run(sys.argv[1:], capture_output=True)
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    sys.stderr.buffer.write(proc.stderr)
    print(f"{seconds} {rss} {proc.returncode}")
    """)


def timed_process(cmd: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS in MB of `cmd`, run under a wrapper that is its only child."""
    proc = subprocess.run([sys.executable, "-c", RSS_WRAPPER, *cmd], capture_output=True,
                          cwd=ROOT, text=True)
    seconds, rss, code = proc.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"{' '.join(cmd[2:7])} failed: {proc.stderr[-800:]}")
    return float(seconds), float(rss)


def warehouse(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "warehouse", "--config", str(config), *args]


RAW_COPY = textwrap.dedent("""\
    import sys
    import duckdb
    from warehouse.db import load_extension
    from warehouse.ingest.sources import KINDS
    target, owui, dialect, litellm = sys.argv[1:5]
    con = duckdb.connect(target)
    for name, url, kind in (("owui", owui, dialect), ("llm", litellm, "postgres")):
        load_extension(con, kind)
        con.execute(f"ATTACH '{url}' AS {name} (TYPE {kind}, READ_ONLY)")
    for name, kind in (("owui", "openwebui"), ("llm", "litellm")):
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [name]).fetchall()}
        for spec in KINDS[kind].tables:
            if spec.name in present:
                con.execute(f'CREATE TABLE "{name}_{spec.name}" AS '
                            f'SELECT * FROM {name}."{spec.name}"')
    con.close()
    """)


# The same question each report answers, asked of the sources directly. {tin}, {tout},
# {day}, {week}, {month} are the Open WebUI dialect's token and date expressions.
def questions(dialect: str, since: int) -> dict[str, list[tuple[str, str]]]:
    if dialect == "sqlite":
        tin = ("coalesce(json_extract(usage, '$.prompt_tokens'), "
               "json_extract(usage, '$.input_tokens'))")
        tout = ("coalesce(json_extract(usage, '$.completion_tokens'), "
                "json_extract(usage, '$.output_tokens'))")
        day = "date(created_at, 'unixepoch')"
        week = "strftime('%Y-%W', created_at, 'unixepoch')"
        month = "strftime('%Y-%m', created_at, 'unixepoch')"
        tags = ("SELECT j.value AS tag, count(*), sum({tin}) FROM chat_message m "
                "JOIN chat c ON c.id = m.chat_id, json_each(c.meta, '$.tags') j "
                "WHERE m.role = 'assistant' GROUP BY 1")
    else:
        tin = ("coalesce((usage->>'prompt_tokens')::bigint, "
               "(usage->>'input_tokens')::bigint)")
        tout = ("coalesce((usage->>'completion_tokens')::bigint, "
                "(usage->>'output_tokens')::bigint)")
        day = "to_timestamp(created_at)::date"
        week = "date_trunc('week', to_timestamp(created_at))"
        month = "date_trunc('month', to_timestamp(created_at))"
        tags = ("SELECT j.tag, count(*), sum({tin}) FROM chat_message m "
                "JOIN chat c ON c.id = m.chat_id, json_array_elements_text(c.meta->'tags') "
                "AS j(tag) WHERE m.role = 'assistant' GROUP BY 1")
    llm_since = f"'{datetime.fromtimestamp(since, UTC).strftime('%Y-%m-%d')}'"
    q = {
        "summary": [
            ("owui", "SELECT count(*), count(DISTINCT user_id), count(DISTINCT model_id), "
                     "sum({tin}), sum({tout}) FROM chat_message WHERE role = 'assistant'"),
            ("owui", "SELECT count(*), count(DISTINCT user_id), count(DISTINCT model_id), "
                     "sum(input_tokens), sum(output_tokens) FROM usage_log"),
            ("llm", 'SELECT count(*), count(DISTINCT "user"), count(DISTINCT model), '
                    'sum(prompt_tokens), sum(completion_tokens) FROM "LiteLLM_SpendLogs"')],
        "models": [
            ("owui", "SELECT model_id, count(*), count(DISTINCT user_id), sum({tin}), "
                     "sum({tout}) FROM chat_message WHERE role = 'assistant' GROUP BY 1"),
            ("owui", "SELECT model_id, count(*), count(DISTINCT user_id), sum(input_tokens), "
                     "sum(output_tokens) FROM usage_log GROUP BY 1"),
            ("llm", 'SELECT model, count(*), count(DISTINCT "user"), sum(prompt_tokens), '
                    'sum(completion_tokens) FROM "LiteLLM_SpendLogs" GROUP BY 1')],
        "users": [
            ("owui", "SELECT user_id, count(*), sum({tin}), sum({tout}) FROM chat_message "
                     "WHERE role = 'assistant' GROUP BY 1 ORDER BY 2 DESC LIMIT 10"),
            ("owui", "SELECT user_id, count(*), sum(input_tokens), sum(output_tokens) "
                     "FROM usage_log GROUP BY 1 ORDER BY 2 DESC LIMIT 10"),
            ("llm", 'SELECT "user", count(*), sum(prompt_tokens), sum(completion_tokens) '
                    'FROM "LiteLLM_SpendLogs" GROUP BY 1 ORDER BY 2 DESC LIMIT 10')],
        "daily": [
            ("owui", "SELECT {day}, model_id, count(*), sum({tin}) + sum({tout}) "
                     "FROM chat_message WHERE role = 'assistant' AND created_at >= {since} "
                     "GROUP BY 1, 2"),
            ("owui", "SELECT {day}, model_id, count(*), sum(total_tokens) FROM usage_log "
                     "WHERE created_at >= {since} GROUP BY 1, 2"),
            ("llm", 'SELECT "startTime"::date, model, count(*), sum(total_tokens) '
                    'FROM "LiteLLM_SpendLogs" WHERE "startTime" >= {llm_since} GROUP BY 1, 2')],
        "tokens": [
            ("owui", "SELECT model_id, sum({tin}), sum({tout}) FROM chat_message "
                     "WHERE role = 'assistant' GROUP BY 1"),
            ("owui", "SELECT model_id, sum(input_tokens), sum(output_tokens) FROM usage_log "
                     "GROUP BY 1"),
            ("llm", 'SELECT model, sum(prompt_tokens), sum(completion_tokens) '
                    'FROM "LiteLLM_SpendLogs" GROUP BY 1')],
        "chats": [
            ("owui", "SELECT chat_id, count(*), sum({tin}) FROM chat_message "
                     "WHERE role = 'assistant' GROUP BY 1 ORDER BY 2 DESC LIMIT 50")],
        "tags": [
            ("owui", tags),
            ("llm", 'SELECT t.tag, count(*), sum(total_tokens) FROM "LiteLLM_SpendLogs" s, '
                    'jsonb_array_elements_text(s.request_tags) t(tag) GROUP BY 1')],
        "active-users": [
            ("owui", "SELECT {day}, count(DISTINCT user_id) FROM chat_message "
                     "WHERE role = 'assistant' AND created_at >= {since} GROUP BY 1"),
            ("owui", "SELECT {day}, count(DISTINCT user_id) FROM usage_log "
                     "WHERE created_at >= {since} GROUP BY 1"),
            ("llm", 'SELECT "startTime"::date, count(DISTINCT "user") '
                    'FROM "LiteLLM_SpendLogs" WHERE "startTime" >= {llm_since} GROUP BY 1')],
        "retention": [
            ("owui", "WITH w AS (SELECT DISTINCT user_id, {week} AS wk FROM chat_message "
                     "WHERE role = 'assistant'), f AS (SELECT user_id, min(wk) AS first "
                     "FROM w GROUP BY 1) SELECT f.first, w.wk, count(*) FROM w JOIN f "
                     "USING (user_id) GROUP BY 1, 2")],
        "keys": [
            ("llm", 'SELECT api_key, count(*), sum(spend), sum(total_tokens) '
                    'FROM "LiteLLM_SpendLogs" GROUP BY 1')],
        "teams": [
            ("llm", 'SELECT team_id, count(*), sum(spend), sum(total_tokens) '
                    'FROM "LiteLLM_SpendLogs" GROUP BY 1')],
        "costs": [
            ("owui", "SELECT group_id, {month}, sum({tin}), sum({tout}) FROM chat_message m "
                     "JOIN (SELECT user_id AS member, group_id FROM group_member) g "
                     "ON g.member = m.user_id WHERE m.role = 'assistant' GROUP BY 1, 2"),
            ("owui", "SELECT group_id, {month}, sum(cost) FROM usage_log u "
                     "JOIN (SELECT user_id AS member, group_id FROM group_member) g "
                     "ON g.member = u.user_id GROUP BY 1, 2")],
    }
    return {name: [(where, sql.format(tin=tin, tout=tout, day=day, week=week, month=month,
                                      since=since, llm_since=llm_since))
                   for where, sql in parts] for name, parts in q.items()}


REPORT_ARGS = {
    "summary": [], "models": [], "users": ["--limit", "10"], "daily": ["--since", "{since}"],
    "tokens": [], "chats": ["--limit", "50"], "tags": [],
    "active-users": ["--since", "{since}"], "retention": [], "keys": [], "teams": [],
    "costs": ["--by", "group", "--granularity", "month"],
}
SMALL_REPORTS = ["feedback", "unpriced-models", "credits", "limits"]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--openwebui", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", help="admin URL of a PostgreSQL server to use")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", help="folder for the databases (default: a temp dir)")
    parser.add_argument("--results", help="append the figures to this Markdown file")
    parser.add_argument("--text", choices=("empty", "realistic"), default="empty",
                        help="message text: 12 bytes, or realistic sizes (generate.py)")
    parser.add_argument("--modes", default="preview",
                        help="content modes to build a warehouse in, comma-separated "
                             "(the first one also runs the increment, export and reports)")
    args = parser.parse_args()
    args.modes = [m.strip() for m in args.modes.split(",")]
    unknown = set(args.modes) - {"none", "preview", "full"}
    if unknown:
        parser.error(f"--modes: unknown {sorted(unknown)}; known: none, preview, full")
    run_bench(bench, args, "wh-bench-")


def run_bench(bench, args, prefix: str) -> None:
    """`bench(args, admin_url, folder)` beside a throwaway PostgreSQL (or --pg-url), in
    --workdir (kept) or a temporary folder named `prefix`... (removed at the end: at
    10M events the databases take tens of GB); its lines are printed and appended to
    --results."""
    with ExitStack() as stack:
        admin = args.pg_url or stack.enter_context(pgserver.throwaway_cluster(
            "bench-" + uuid.uuid4().hex[:8],
            "-c fsync=off -c shared_buffers=2GB -c work_mem=256MB"))
        if args.workdir:
            work = Path(args.workdir)
        else:
            work = Path(tempfile.mkdtemp(prefix=prefix))
            stack.callback(shutil.rmtree, work, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        lines = bench(args, admin, work)
    text = "\n".join(lines)
    print(text)
    if args.results:
        with open(args.results, "a") as out:
            out.write(text + "\n\n")


def new_database(admin: str, prefix: str) -> str:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + "/" + name


def bench(args, admin: str, work: Path) -> list[str]:
    n, dialect = args.events, args.openwebui
    owui = (f"sqlite:///{work / 'webui.db'}" if dialect == "sqlite"
            else new_database(admin, "owui"))
    llm = new_database(admin, "litellm")
    started = time.perf_counter()
    lay = generate.generate(owui, dialect, llm, n, args.text)
    print(f"generated {n:,} events in {time.perf_counter() - started:.0f} s ({work})",
          file=sys.stderr)
    (work / "prices.toml").write_text(PRICES)
    owui_target = owui.removeprefix("sqlite:///") if dialect == "sqlite" else owui
    source_mb = _source_mb(owui_target, dialect)
    rows = []

    raw = timed_process([sys.executable, "-c", RAW_COPY, str(work / "raw.duckdb"),
                         owui_target, dialect, llm])
    raw_mb = (work / "raw.duckdb").stat().st_size / 1e6
    os.remove(work / "raw.duckdb")
    per_mode = []
    for mode in reversed(args.modes):  # the first mode last: its warehouse goes on
        config = _config(work, owui, llm, mode)
        full_ingest = timed_process(warehouse(config, "ingest", "--quiet"))
        full_build = timed_process(warehouse(config, "build", "--quiet"))
        size = (work / f"usage-{mode}.duckdb").stat().st_size
        per_mode.insert(0, f"| {mode} | {full_ingest[0]:.1f} | {full_ingest[1]:,.0f} | "
                           f"{full_build[0]:.1f} | {full_build[1]:,.0f} | {size / 1e6:,.0f} | "
                           f"{size / n:.0f} | {raw[0] / full_ingest[0]:.2f}x |")
    parquet = work / "parquet"
    full_export = timed_process(warehouse(config, "export", "--output", str(parquet),
                                          "--quiet"))
    files_before = _files(parquet)
    generate.add(owui, dialect, llm, lay, n // 100, args.text)
    inc_ingest = timed_process(warehouse(config, "ingest", "--quiet"))
    inc_build = timed_process(warehouse(config, "build", "--quiet"))
    inc_export = timed_process(warehouse(config, "export", "--output", str(parquet),
                                         "--quiet"))
    export_check = _export_check(work / f"usage-{args.modes[0]}.duckdb", parquet, files_before,
                                 lay.end)
    nightly = timed_process(warehouse(config, "run", "--quiet"))
    size = (work / f"usage-{args.modes[0]}.duckdb").stat().st_size / 1e6

    def row(what, result, baseline_name, ratio):
        rows.append(f"| {what} | {result[0]:.2f} | {result[1]:,.0f} | {baseline_name} | "
                    f"{ratio} |")

    row("raw scanner copy (baseline)", raw, "", "")
    row("full ingest", full_ingest, "raw scanner copy",
        f"{raw[0] / full_ingest[0]:.2f}x its speed")
    row("full build", full_build, "", "")
    row(f"incremental ingest (+{n // 100:,} events)", inc_ingest, "full ingest",
        f"{inc_ingest[0] / full_ingest[0]:.1%} of its time")
    row(f"incremental build (+{n // 100:,} events)", inc_build, "full build",
        f"{inc_build[0] / full_build[0]:.1%} of its time")
    row("`warehouse run`, nothing new", nightly, "", "")
    row("parquet export, first (raw + core)", full_export, "full ingest",
        f"{full_export[0] / full_ingest[0]:.2f}x its time")
    row(f"parquet export after +{n // 100:,} events", inc_export, "first export",
        f"{inc_export[0] / full_export[0]:.1%} of its time")

    since = lay.end - 30 * generate.DAY
    since_text = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d")
    direct = questions(dialect, since)
    conns = {"owui": (sqlite3.connect(owui_target) if dialect == "sqlite"
                      else _pg(owui)), "llm": _pg(llm)}
    report_rows = []
    for name, extra in REPORT_ARGS.items():
        extra = [a.replace("{since}", since_text) for a in extra]
        cmd = warehouse(config, "report", name, "--format", "json", *extra)
        process = min(timed_process(cmd)[0] for _ in range(args.repeat))
        source = sum(best(lambda c=conns[where], q=sql: c.execute(q).fetchall(), args.repeat)
                     for where, sql in direct[name])
        report_rows.append(f"| `report {name} {' '.join(extra)}`".rstrip() +
                           f" | {process:.3f} | {source:.3f} | {source / process:.1f}x |")
    for name in SMALL_REPORTS:
        cmd = warehouse(config, "report", name, "--format", "json")
        process = min(timed_process(cmd)[0] for _ in range(args.repeat))
        report_rows.append(f"| `report {name}` | {process:.3f} | (small tables) | |")
    for c in conns.values():
        c.close()

    machine = (f"{os.cpu_count()} cores, {_mem_gb():.0f} GB RAM, {platform.machine()}, "
               f"{platform.python_implementation()} {platform.python_version()}, "
               f"DuckDB {duckdb.__version__}")
    split = generate.split(n)
    return [
        f"## {n:,} events, {args.text} message text, Open WebUI in {dialect}, LiteLLM in "
        f"PostgreSQL ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"`python benchmarks/run.py --events {n} --openwebui {dialect} --text {args.text} "
        f"--modes {','.join(args.modes)}` on {machine}.",
        f"Open WebUI source: {source_mb:,.0f} MB; DuckDB's scanner copy of the same whole "
        f"tables (the baseline): {raw[0]:.1f} s, {raw[1]:,.0f} MB peak RSS, {raw_mb:,.0f} MB.",
        "",
        "| content mode | full ingest s | RSS MB | full build s | RSS MB | warehouse MB | "
        "bytes per event | ingest vs scanner copy |",
        "|---|---|---|---|---|---|---|---|",
        *per_mode,
        "",
        f"Steps below: the {args.modes[0]!r} warehouse.",
        "",
        f"Events: {split['replies']:,} Open WebUI replies ({2 * split['replies']:,} "
        f"chat_message rows), {split['ledger']:,} ledger rows, {split['spend_logs']:,} "
        f"LiteLLM spend logs over 365 days; +1% = {n // 100:,} events on the following days. "
        f"Warehouse file: {size:,.0f} MB.",
        "",
        "| step (whole process) | seconds | peak RSS MB | baseline | ratio |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"| report (whole process, best of {args.repeat}) | seconds | same question on the "
        "sources, seconds | faster |",
        "|---|---|---|---|",
        *report_rows,
        "",
        f"Parquet export read back by DuckDB: {export_check}.",
    ]


def _config(work: Path, owui: str, llm: str, mode: str) -> Path:
    config = work / f"warehouse-{mode}.toml"
    config.write_text(textwrap.dedent(f"""\
        [warehouse]
        db = "{work / f'usage-{mode}.duckdb'}"
        prices = "prices.toml"
        keep = 0

        [sources.campus]
        kind = "openwebui"
        url = "{owui}"
        content = "{mode}"

        [sources.proxy]
        kind = "litellm"
        url = "{llm}"
        """))
    return config


def _source_mb(target: str, dialect: str) -> float:
    if dialect == "sqlite":
        return Path(target).stat().st_size / 1e6
    with _pg(target) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_ino for p in folder.rglob("*.parquet")}


def _export_check(db: Path, folder: Path, before: dict[str, int], end: int) -> str:
    """Counts read back from the Parquet folders against the warehouse, and which day
    partitions the second export rewrote (all should be on or after the old data's end)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{db}' AS wh (READ_ONLY)")
    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                         "WHERE database_name = 'wh' AND (schema_name LIKE 'raw_%' "
                         "OR schema_name = 'core')").fetchall()
    mismatched, rows = [], 0
    for schema, name in tables:
        ours = con.execute(f'SELECT count(*) FROM wh."{schema}"."{name}"').fetchone()[0]
        path = folder / schema / name
        pattern = path / "data.parquet" if (path / "data.parquet").exists() else path / "*/*"
        theirs = con.execute(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchone()[0]
        rows += ours
        if ours != theirs:
            mismatched.append(f"{schema}.{name} {ours} vs {theirs}")
    con.close()
    after = _files(folder)
    changed = [p for p in after if after[p] != before.get(p) and "/day=" in p]
    days = sorted({p.split("/day=")[1][:10] for p in changed})
    old_end = datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d")
    older = [d for d in days if d < old_end and d != "1970-01-01"]
    return (f"{len(tables)} tables, {rows:,} rows, "
            f"{'identical counts' if not mismatched else 'MISMATCH ' + '; '.join(mismatched)}"
            f"; the second export rewrote {len(changed)} day files on {len(days)} days "
            f"({days[0] if days else '-'} to {days[-1] if days else '-'}), "
            f"{len(older)} of them before the old data's last day {old_end}"
            + (f" ({', '.join(older[:5])})" if older else ""))


def _pg(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _mem_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9


if __name__ == "__main__":
    main()
