"""`warehouse serve` under load at a stated size, against the same questions asked of the
source databases directly, in the same run.

    python benchmarks/serve.py --events 10000000 --workdir /work/bench-serve \
        --results benchmarks/RESULTS.md

Sources as benchmarks/run.py generates them (Open WebUI in SQLite, LiteLLM in a throwaway
PostgreSQL), built by one `warehouse run`. Then `warehouse serve` on 127.0.0.1.

First Open WebUI's own Analytics page as it asks: its default period (7 days ending
"now"), five requests at once per load, "now" a second later at each load, so every
request is new to the server (no kept answer helps): one admin alone, then --clients / 5
admins at once.

Then --clients threads, each with a keep-alive connection, asking the Open WebUI and LiteLLM
endpoints in turn with a few windows each (as open dashboards do), at most --requests
requests or --seconds seconds per phase. Phase 1: a quiet server; phase 2: the same while
a `warehouse run` (after 1% more events) publishes. Per endpoint: p50 and p99 of all
requests, and the median of those the server computed (a new question, or the first after
a publish) rather than answered from the answers it keeps per snapshot.

Baseline: Open WebUI's own SQL for each endpoint (models/chat_messages.py, chats.py,
feedbacks.py at 0.12.4), run on the SQLite source in this process, best of --repeat, plus
the Python bucketing Open WebUI does for sub-daily series; LiteLLM's own SQL on PostgreSQL.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import generate  # noqa: E402
from benchmarks.run import PRICES, _config, best, new_database, run_bench, timed_process, warehouse  # noqa: E402

DAY = 86_400
WINDOWS = (7, 30, 90, 365)  # days before the data's end


def owui_paths(end: int, model: str) -> dict[str, list[str]]:
    """Each Open WebUI endpoint with the windows a dashboard would ask."""
    windows = [f"start_date={end - days * DAY}&end_date={end - 1}" for days in WINDOWS]
    base = "/api/v1/analytics"
    return {
        "summary": [f"{base}/summary?{w}" for w in windows],
        "models": [f"{base}/models?{w}" for w in windows],
        "users": [f"{base}/users?{w}&limit=50" for w in windows],
        "daily": [f"{base}/daily?{w}" for w in windows],
        "daily hourly+compare": [f"{base}/daily?{w}&granularity=hourly&compare=true"
                                 for w in windows[:2]],
        "tokens": [f"{base}/tokens?{w}" for w in windows],
        "model chats": [f"{base}/models/{model}/chats?skip={skip}&limit=50"
                        for skip in (0, 50, 100, 150)],
        "model overview": [f"{base}/models/{model}/overview?days={d}" for d in (7, 30)],
    }


# Open WebUI's Analytics page (Dashboard.svelte at 0.12.4) on its default period, 7 days
# ending now: five requests at once, with the page's granularity and metric.
PAGE = ("summary", "models", "users", "daily hourly tokens", "tokens")


def page_paths(now: int) -> dict[str, str]:
    w = f"start_date={now - 7 * DAY}&end_date={now}"
    base = "/api/v1/analytics"
    return {"summary": f"{base}/summary?{w}", "models": f"{base}/models?{w}",
            "users": f"{base}/users?{w}&limit=50&metric=tokens",
            "daily hourly tokens": f"{base}/daily?{w}&granularity=hourly&metric=tokens",
            "tokens": f"{base}/tokens?{w}"}


def litellm_paths(end: int) -> dict[str, list[str]]:
    first = datetime.fromtimestamp(end - 30 * DAY, UTC).date()
    last = datetime.fromtimestamp(end - 1, UTC).date()
    return {
        "tag distinct": ["/tag/distinct"],
        "tag dau": ["/tag/dau", "/tag/dau?tag_filter=User-Agent"],
        "tag wau": ["/tag/wau"],
        "tag mau": ["/tag/mau"],
        "tag summary": [f"/tag/summary?start_date={first}&end_date={last}"],
        "tag per-user": ["/tag/user-agent/per-user-analytics?page=1&page_size=50",
                         "/tag/user-agent/per-user-analytics?page=2&page_size=50"],
    }


# ---------------------------------------------------------------- Open WebUI's own SQL

TIN = ("CAST(coalesce(json_extract(usage, '$.input_tokens'), "
       "json_extract(usage, '$.prompt_tokens')) AS INTEGER)")
TOUT = ("CAST(coalesce(json_extract(usage, '$.output_tokens'), "
        "json_extract(usage, '$.completion_tokens')) AS INTEGER)")


def owui_baselines(path: str, end: int, model: str, days: int = 30) -> dict[str, callable]:
    """Open WebUI 0.12.4's queries for the window of `days` before `end` (or the model's),
    as callables that run them on a fresh connection to the SQLite source."""
    s, e = end - days * DAY, end - 1
    window = f"created_at >= {s} AND created_at <= {e}"

    def run(*sqls):
        def ask():
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                return [conn.execute(sql).fetchall() for sql in sqls]
            finally:
                conn.close()
        return ask

    def hourly(compare: bool, expression: str):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        periods = ((s, e, 0), (s - (e - s + 1), s - 1, e - s + 1))
        try:
            counts = {}
            for lo, hi, offset in periods if compare else periods[:1]:
                for ts, mid, value in conn.execute(
                        f"SELECT created_at, model_id, {expression} FROM chat_message WHERE "
                        "role = "
                        f"'assistant' AND model_id IS NOT NULL AND created_at >= {lo} "
                        f"AND created_at <= {hi}"):
                    d = datetime.fromtimestamp(ts + offset)
                    key = d.replace(minute=0, second=0).strftime("%Y-%m-%d %H:%M")
                    bucket = counts.setdefault((offset, key), {})
                    bucket[mid] = bucket.get(mid, 0) + int(value or 0)
            return counts
        finally:
            conn.close()

    assistant = "role = 'assistant'"
    return {
        "summary": run(
            "SELECT count(model_id), count(DISTINCT chat_id), count(DISTINCT model_id), "
            "count(DISTINCT user_id) + CASE WHEN count(*) > count(user_id) THEN 1 ELSE 0 "
            f"END FROM chat_message WHERE {assistant} AND {window}"),
        "models": run(
            "SELECT model_id, count(id), count(DISTINCT user_id), count(DISTINCT chat_id) "
            f"FROM chat_message WHERE {assistant} AND model_id IS NOT NULL AND {window} "
            "GROUP BY model_id"),
        "users": run(
            f"SELECT user_id, coalesce(sum(CASE WHEN user_id IS NOT NULL THEN {TIN} ELSE 0 "
            f"END), 0), coalesce(sum(CASE WHEN user_id IS NOT NULL THEN {TOUT} ELSE 0 END), "
            f"0), count(id) FROM chat_message WHERE {assistant} AND {window} "
            "GROUP BY user_id",
            'SELECT id, name, email FROM "user" LIMIT 50'),
        "daily": run(
            "SELECT strftime('%Y-%m-%d', CASE WHEN created_at > 10000000000 THEN "
            "created_at / 1000.0 ELSE created_at END, 'unixepoch', 'localtime'), model_id, "
            f"sum(1) FROM chat_message WHERE {assistant} AND model_id IS NOT NULL AND "
            f"{window} GROUP BY 1, 2"),
        "daily hourly+compare": lambda: hourly(True, "1"),
        "daily hourly tokens": lambda: hourly(False, f"coalesce({TIN}, 0) + coalesce({TOUT}, 0)"),
        "tokens": run(
            f"SELECT model_id, coalesce(sum({TIN}), 0), coalesce(sum({TOUT}), 0), "
            f"count(id) FROM chat_message WHERE {assistant} AND model_id IS NOT NULL AND "
            f"usage IS NOT NULL AND {window} GROUP BY model_id"),
        "model chats": run(*(
            f"SELECT {cols} FROM chat JOIN (SELECT chat_id FROM chat_message WHERE "
            f"model_id = '{model}' GROUP BY chat_id) AS ids ON ids.chat_id = chat.id "
            'LEFT JOIN "user" ON "user".id = chat.user_id '
            "WHERE json_extract(chat.meta, '$.internal') IS NOT 1 "
            f"ORDER BY chat.updated_at DESC, chat.id {tail}"
            for cols, tail in (("count(*)", ""), ("chat.id, chat.user_id, chat.title, "
                                                  'chat.updated_at, "user".name',
                                                  "LIMIT 50")))),
        "model overview": run(
            "SELECT chat_id, max(created_at) FROM chat_message WHERE model_id = "
            f"'{model}' GROUP BY chat_id ORDER BY max(created_at) DESC, chat_id "
            "LIMIT 10000",
            "SELECT created_at, data FROM feedback WHERE json_extract(data, '$.model_id') "
            f"= '{model}' AND created_at >= {end - 30 * DAY} ORDER BY created_at",
            "SELECT meta FROM chat WHERE id IN (SELECT chat_id FROM chat_message WHERE "
            f"model_id = '{model}' GROUP BY chat_id ORDER BY max(created_at) DESC, chat_id "
            "LIMIT 10000)"),
    }


def litellm_baselines(url: str, end: int) -> dict[str, callable]:
    """LiteLLM's queries (user_agent_analytics_endpoints.py) on its PostgreSQL."""
    import psycopg

    today = f"'{datetime.fromtimestamp(end, UTC).date()}'::date"
    first = datetime.fromtimestamp(end - 30 * DAY, UTC).date()
    last = datetime.fromtimestamp(end - 1, UTC).date()
    join = ('FROM "LiteLLM_DailyTagSpend" dts JOIN "LiteLLM_VerificationToken" vt '
            "ON dts.api_key = vt.token")

    def run(sql):
        def ask():
            with psycopg.connect(url) as conn:
                return conn.execute(sql).fetchall()
        return ask

    def periods(days):
        return run(f"SELECT tag, count(DISTINCT user_id), o FROM (SELECT dts.tag, vt.user_id, "
                   f"floor(({today} - dts.date::date) / {days}) AS o {join} WHERE dts.date "
                   f">= to_char({today} - {7 * days - 1}, 'YYYY-MM-DD') AND dts.date <= "
                   f"to_char({today}, 'YYYY-MM-DD') AND vt.user_id IS NOT NULL) d "
                   "WHERE o < 7 GROUP BY tag, o")

    return {
        "tag distinct": run('SELECT tag, count(*) FROM "LiteLLM_DailyTagSpend" WHERE tag LIKE '
                            "'User-Agent:%' OR tag NOT LIKE '%:%' GROUP BY tag "
                            "ORDER BY 2 DESC LIMIT 250"),
        "tag dau": run(f"SELECT dts.tag, dts.date, count(DISTINCT vt.user_id) {join} WHERE "
                       f"dts.date >= to_char({today} - 7, 'YYYY-MM-DD') AND dts.date <= "
                       f"to_char({today}, 'YYYY-MM-DD') AND vt.user_id IS NOT NULL "
                       "GROUP BY 1, 2"),
        "tag wau": periods(7),
        "tag mau": periods(30),
        "tag summary": run(
            "SELECT dts.tag, count(DISTINCT vt.user_id), sum(dts.api_requests), "
            "sum(dts.successful_requests), sum(dts.failed_requests), sum(dts.prompt_tokens "
            '+ dts.completion_tokens), sum(dts.spend) FROM "LiteLLM_DailyTagSpend" dts LEFT JOIN '
            '"LiteLLM_VerificationToken" vt ON dts.api_key = vt.token WHERE dts.date >= '
            f"'{first}' AND dts.date <= '{last}' GROUP BY 1"),
        "tag per-user": run(
            "SELECT * FROM \"LiteLLM_DailyTagSpend\" WHERE date >= to_char("
            f"{today} - 30, 'YYYY-MM-DD') AND date <= to_char({today}, 'YYYY-MM-DD')"),
    }


# ---------------------------------------------------------------- the load

@contextmanager
def serving(config: Path):
    process = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "--config", str(config), "serve", "--host",
         "127.0.0.1", "--port", "0", "--quiet", "--tz", "UTC"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        line = process.stderr.readline()
        if not line.startswith("serving "):
            raise SystemExit(f"serve did not start: {line}{process.stderr.read()}")
        threading.Thread(target=process.stderr.read, daemon=True).start()
        port = int(line.split(" at ", 1)[1].split(" ", 1)[0].rsplit(":", 1)[1])
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


class RequestFailed(Exception):
    """A request that got no answer (`broken`: its connection is unusable) or not a 200."""

    def __init__(self, message: str, broken: bool = False):
        super().__init__(message)
        self.broken = broken


def timed_get(conn: http.client.HTTPConnection, path: str) -> tuple[float, bool]:
    """GET `path` on `conn`: ms until the whole JSON body arrived, and whether the server
    computed the answer rather than sending one it kept."""
    started = time.perf_counter()
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise RequestFailed(f"{path}: {exc!r}", broken=True) from None
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RequestFailed(f"{path}: {response.status} {body[:200]!r}")
    json.loads(body)
    return elapsed, response.getheader("X-Warehouse-Cache") != "hit"


def load(port: int, paths: dict[str, list[str]], clients: int, requests: int,
         seconds: float, until_done: subprocess.Popen | None = None) -> dict:
    """`clients` threads asking every path in turn (each thread from its own start), at
    most `requests` in all and `seconds` (or until `until_done` exits); per endpoint the
    latencies in ms, split by whether the server computed the answer."""
    work = [(name, path) for name, variants in paths.items() for path in variants]
    results: dict[str, list[tuple[float, bool]]] = {name: [] for name in paths}
    errors: list[str] = []
    issued = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = number * 7
        while time.monotonic() < deadline and (until_done is None
                                               or until_done.poll() is None):
            with lock:
                if issued[0] >= requests:
                    break
                issued[0] += 1
            name, path = work[i % len(work)]
            i += 1
            try:
                measured = timed_get(conn, path)
            except RequestFailed as failed:
                errors.append(str(failed))
                if failed.broken:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            with lock:
                results[name].append(measured)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"results": results, "errors": errors, "seconds": time.monotonic() - started,
            "requests": sum(len(v) for v in results.values())}


def page_loads(port: int, end: int, admins: int, pages: int, seconds: float) -> dict:
    """`admins` threads each loading Open WebUI's page again and again, its five requests
    at once on five connections, as the browser sends them; the page's "now" moves on a
    second per load, so every request is a question the server has not been asked (the
    answers it keeps do not help). Per endpoint the latencies in ms, and each page's."""
    results: dict[str, list[tuple[float, bool]]] = {name: [] for name in PAGE}
    loads: list[float] = []
    errors: list[str] = []
    issued = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def get(name: str, path: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            measured = timed_get(conn, path)
        except RequestFailed as failed:
            errors.append(str(failed))
            return
        finally:
            conn.close()
        with lock:
            results[name].append(measured)

    def admin() -> None:
        while time.monotonic() < deadline:
            with lock:
                if issued[0] >= pages:
                    return
                issued[0] += 1
                now = end + issued[0]
            started = time.perf_counter()
            threads = [threading.Thread(target=get, args=item)
                       for item in page_paths(now).items()]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            with lock:
                loads.append((time.perf_counter() - started) * 1000)

    started = time.monotonic()
    threads = [threading.Thread(target=admin) for _ in range(admins)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"results": results, "errors": errors, "seconds": time.monotonic() - started,
            "requests": sum(len(v) for v in results.values()), "loads": loads}


def snapshot(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/api/health")
        return json.loads(conn.getresponse().read())["snapshot"]["published_at"]
    finally:
        conn.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def table(phase: dict, baselines: dict[str, float], owui: set[str]) -> list[str]:
    lines = ["| endpoint | requests | p50 ms | p99 ms | computed: n, median ms | "
             "source directly ms | source / p50 | source / computed |",
             "|---|---|---|---|---|---|---|---|"]
    for name, rows in phase["results"].items():
        if not rows:
            continue
        all_ms = [ms for ms, _ in rows]
        computed = [ms for ms, fresh in rows if fresh]
        p50, p99 = percentile(all_ms, 50), percentile(all_ms, 99)
        median = statistics.median(computed) if computed else None
        base = baselines.get(name)
        cells = [name + (" (Open WebUI)" if name in owui else " (LiteLLM)"),
                 f"{len(rows):,}", f"{p50:.1f}", f"{p99:.1f}",
                 f"{len(computed)}, {median:.0f}" if median is not None else "0, -",
                 f"{base * 1000:,.0f}" if base else "",
                 f"{base * 1000 / p50:,.0f}x" if base else "",
                 f"{base * 1000 / median:,.1f}x" if base and median else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=8_000,
                        help="at most this many requests per phase")
    parser.add_argument("--seconds", type=float, default=120, help="at most, per phase")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--pages", type=int, default=60,
                        help="Open WebUI page loads by concurrent admins (a third of it "
                             "by one admin alone)")
    parser.add_argument("--pg-url", help="admin URL of a PostgreSQL server to use")
    parser.add_argument("--workdir", help="folder for the databases (default: a temp dir)")
    parser.add_argument("--results", help="append the figures to this Markdown file")
    args = parser.parse_args()
    run_bench(bench, args, "wh-serve-")


def bench(args, admin: str, work: Path) -> list[str]:
    n = args.events
    owui, llm = f"sqlite:///{work / 'webui.db'}", new_database(admin, "litellm")
    started = time.perf_counter()
    lay = generate.generate(owui, "sqlite", llm, n)
    print(f"generated {n:,} events in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    (work / "prices.toml").write_text(PRICES)
    config = _config(work, owui, llm, "preview")
    built = timed_process(warehouse(config, "run", "--quiet"))
    print(f"warehouse run: {built[0]:.0f} s", file=sys.stderr)
    source = str(work / "webui.db")
    model = sqlite3.connect(source).execute(
        "SELECT model_id FROM chat_message WHERE model_id IS NOT NULL LIMIT 1").fetchone()[0]
    end = lay.end
    owui_ep, llm_ep = owui_paths(end, model), litellm_paths(end)
    paths = {**owui_ep, **llm_ep}
    baselines = {name: best(ask, args.repeat)
                 for name, ask in {**owui_baselines(source, end, model),
                                   **litellm_baselines(llm, end)}.items()}
    week = owui_baselines(source, end, model, days=7)
    page_base = {name: best(week[name], args.repeat) for name in PAGE}
    with serving(config) as port:
        alone = page_loads(port, end, 1, args.pages // 3, args.seconds)
        crowd = page_loads(port, end + 10 * args.pages, max(1, args.clients // len(PAGE)),
                           args.pages, args.seconds)
        quiet = load(port, paths, args.clients, args.requests, args.seconds)
        generate.add(owui, "sqlite", llm, lay, n // 100)
        before = snapshot(port)
        job = subprocess.Popen(warehouse(config, "run", "--quiet"), cwd=ROOT)
        try:  # as long as the job runs (bounded all the same)
            busy = load(port, paths, args.clients, args.requests * 50, args.seconds * 20,
                        until_done=job)
        finally:
            job.wait()
        after = snapshot(port)
    header = [
        f"## `warehouse serve` under load, {n:,} events, {args.clients} clients "
        f"({datetime.now(UTC):%Y-%m-%d})", "",
        f"`python benchmarks/serve.py --events {n} --clients {args.clients} --requests "
        f"{args.requests} --seconds {args.seconds:g}` on this machine (2 cores); the warehouse "
        f"was built by one `warehouse run` in {built[0]:.0f} s. Windows: the data's last "
        f"{', '.join(str(d) for d in WINDOWS)} days; baselines for the 30-day window.", ""]
    def page_phase(phase: dict, admins: int) -> list[str]:
        loads = phase["loads"]
        return [f"Open WebUI's Analytics page on its default period (7 days ending now: "
                f"{', '.join(PAGE)} at once), {admins} admin(s) loading it again and again, "
                f"every request a new question: {len(loads)} page loads in "
                f"{phase['seconds']:.0f} s, {len(phase['errors'])} errors; page load p50 "
                f"{percentile(loads, 50):.0f} ms, p99 {percentile(loads, 99):.0f} ms; "
                "baselines: Open WebUI's SQL for the same week.", "",
                *table(phase, page_base, set(PAGE)), ""]

    out = [*header, *page_phase(alone, 1),
           *page_phase(crowd, max(1, args.clients // len(PAGE))),
           f"Quiet server: {quiet['requests']:,} requests in {quiet['seconds']:.0f} s "
           f"({quiet['requests'] / quiet['seconds']:,.0f}/s), {len(quiet['errors'])} errors.",
           "", *table(quiet, baselines, set(owui_ep)), "",
           f"While `warehouse run` ingested 1% more events, built and published (served "
           f"snapshot {before} before, {after} after): {busy['requests']:,} requests in "
           f"{busy['seconds']:.0f} s, {len(busy['errors'])} errors.", "",
           *table(busy, baselines, set(owui_ep))]
    for phase in (alone, crowd, quiet, busy):
        for error in phase["errors"][:5]:
            out.append(f"- error: {error}")
    return out


if __name__ == "__main__":
    main()
