"""What `warehouse serve` costs per question, on a warehouse already built (no sources).

    python benchmarks/answers.py --config W [--clients 16] [--requests 16000] [--rounds 2]
                                 [--first alone|wave]

The questions are benchmarks/serve.py's (the Open WebUI and LiteLLM endpoints, windows of
the data's last 7, 30, 90, 365 days, which end where the warehouse's data ends). On a
fresh server:

1. first answers: each question once, one at a time: what a cold server computes; or
   (--first wave) the first wave as serve.py's quiet phase meets it: --clients clients
   each asking every question once, each from its own start, on the cold server;
2. kept answers: --rounds of --clients keep-alive clients asking every question in turn,
   after step 1 asked each once: requests/s, p50 and p99 per endpoint.

Serve.py measures the same endpoints cold and while a job publishes, against the
sources; this isolates the server's share (e.g. an A/B of a change to the server).
"""

from __future__ import annotations

import argparse
import http.client
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from benchmarks.serve import (  # noqa: E402
    DAY,
    RequestFailed,
    litellm_paths,
    load,
    owui_paths,
    percentile,
    serving,
    timed_get,
)
from warehouse import config as configuration  # noqa: E402


def questions(config: Path) -> dict[str, list[str]]:
    """serve.py's paths, the windows ending at the day after the warehouse's last hour."""
    db = configuration.load(str(config), None).db
    con = duckdb.connect(str(db), read_only=True)
    try:
        last, model = con.execute(
            "SELECT max(hour), (SELECT model_id FROM marts.usage_hourly WHERE model_id IS "
            "NOT NULL AND source_name IN (SELECT source_name FROM _warehouse.source_tables "
            "WHERE source_kind = 'openwebui') LIMIT 1) FROM marts.usage_hourly").fetchone()
    finally:
        con.close()
    last = last.astimezone(UTC) if last.tzinfo else last.replace(tzinfo=UTC)
    end = int(datetime(last.year, last.month, last.day, tzinfo=UTC).timestamp()) + DAY
    return {**owui_paths(end, model), **litellm_paths(end)}


def first_answers(port: int, paths: dict[str, list[str]]) -> list[str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    lines, total = ["| endpoint | first answer of each window, ms |", "|---|---|"], 0.0
    for name, variants in paths.items():
        times = []
        for path in variants:
            try:
                elapsed, computed = timed_get(conn, path)
            except RequestFailed as exc:
                raise SystemExit(str(exc)) from None
            if not computed:
                raise SystemExit(f"{path}: answered from a kept answer, not computed")
            times.append(elapsed)
            total += elapsed
        lines.append(f"| {name} | {', '.join(f'{t:,.0f}' for t in times)} |")
    return [f"First answers, one at a time on a fresh server: {total:,.0f} ms in all.", "",
            *lines]


def first_wave(port: int, paths: dict[str, list[str]], clients: int) -> list[str]:
    """Every client asks every question once: the answers are computed while they wait,
    two cores shared by up to `clients` computations."""
    questions = sum(len(v) for v in paths.values())
    phase = load(port, paths, clients, clients * questions, 600)
    lines = [f"First wave: {clients} clients, each question {clients} times, "
             f"{phase['requests']:,} requests in {phase['seconds']:.1f} s, "
             f"{len(phase['errors'])} errors.", "",
             "| endpoint | requests | computed | p50 ms | p99 ms | max ms | over 150 ms |",
             "|---|---|---|---|---|---|---|"]
    for name, rows in phase["results"].items():
        ms = [t for t, _ in rows]
        lines.append(f"| {name} | {len(ms)} | {sum(1 for _, c in rows if c)} | "
                     f"{percentile(ms, 50):.0f} | {percentile(ms, 99):.0f} | {max(ms):.0f} | "
                     f"{sum(1 for t in ms if t > 150)} |")
    return lines


def kept_answers(port: int, paths: dict[str, list[str]], args) -> list[str]:
    lines = []
    for number in range(args.rounds):
        phase = load(port, paths, args.clients, args.requests, args.seconds)
        latencies = [ms for rows in phase["results"].values() for ms, _ in rows]
        lines.append(
            f"Kept answers, round {number + 1}: {phase['requests']:,} requests from "
            f"{args.clients} clients in {phase['seconds']:.1f} s "
            f"({phase['requests'] / phase['seconds']:,.0f}/s), {len(phase['errors'])} errors; "
            f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms "
            f"over all endpoints, p99 per endpoint "
            + ", ".join(f"{name} {percentile([ms for ms, _ in rows], 99):.0f}"
                        for name, rows in phase["results"].items()) + " ms.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="the warehouse's config file")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=16_000, help="per round")
    parser.add_argument("--seconds", type=float, default=120, help="at most, per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--first", choices=("alone", "wave"), default="alone",
                        help="the first answers one at a time, or as --clients ask them")
    args = parser.parse_args()
    paths = questions(Path(args.config))
    with serving(Path(args.config)) as port:
        first = (first_answers(port, paths) if args.first == "alone"
                 else first_wave(port, paths, args.clients))
        out = [*first, "", *kept_answers(port, paths, args)]
    print("\n".join(out))


if __name__ == "__main__":
    main()
