"""A first ingest of an Open WebUI SQLite source against DuckDB's scanner copy of the same
tables, each run starting with the source out of the page cache.

    python benchmarks/first_copy.py --source webui.db [--order base,ingest,ingest,base]
                                    [--mode preview] [--work DIR] [--code DIR]

A source larger than the page cache (26 GB at 6M realistic events, benchmarks/generate.py)
makes each figure depend on what the run before left cached: every step here first drops
the source's pages (posix_fadvise DONTNEED: the file's clean pages only, no privilege
needed), so the ingest and the baseline both read it cold. `--order` alternates the two
(the machine's speed drifts within minutes); `--code` runs the ingest of another checkout
(an A/B of a change: `git worktree add /tmp/old REV`). Each step is a whole process,
timed with its peak RSS; the baseline is benchmarks/run.py's RAW_COPY of the Open WebUI
tables alone (`CREATE TABLE AS SELECT *` through the sqlite scanner).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import timed_process  # noqa: E402

BASELINE = """\
import sys
import duckdb
from warehouse.db import load_extension
from warehouse.ingest.sources import KINDS
target, source = sys.argv[1:3]
con = duckdb.connect(target)
load_extension(con, "sqlite")
con.execute(f"ATTACH '{source}' AS owui (TYPE sqlite, READ_ONLY)")
present = {r[0] for r in con.execute(
    "SELECT table_name FROM duckdb_tables() WHERE database_name = 'owui'").fetchall()}
for spec in KINDS["openwebui"].tables:
    if spec.name in present:
        con.execute(f'CREATE TABLE "{spec.name}" AS SELECT * FROM owui."{spec.name}"')
con.close()
"""


# `warehouse ARGS` as the checkout given first has it
WAREHOUSE_OF = """\
import sys
sys.path.insert(0, sys.argv.pop(1))
from warehouse.cli import main
main()
"""


def evict(path: Path) -> None:
    """Drop the file's pages from the page cache (clean pages: a read-only source's)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--order", default="base,ingest,ingest,base")
    parser.add_argument("--mode", default="preview", choices=("none", "preview", "full"))
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--code", type=Path, default=ROOT)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="first-copy-"))
    db, raw = work / "first-copy.duckdb", work / "scanner-copy.duckdb"
    config = work / "first-copy.toml"
    config.write_text(f'[warehouse]\ndb = "{db}"\n[sources.campus]\n'
                      f'url = "sqlite:///{args.source.resolve()}"\ncontent = "{args.mode}"\n')
    times: dict[str, list[float]] = {"base": [], "ingest": []}
    for step in args.order.split(","):
        evict(args.source)
        if step == "base":
            raw.unlink(missing_ok=True)
            seconds, rss = timed_process([sys.executable, "-c", BASELINE, str(raw),
                                          str(args.source.resolve())])
            raw.unlink()
        elif step == "ingest":
            db.unlink(missing_ok=True)
            seconds, rss = timed_process([sys.executable, "-c", WAREHOUSE_OF, str(args.code),
                                          "--config", str(config), "ingest", "--quiet"])
        else:
            raise SystemExit(f"--order: unknown step {step!r} (base, ingest)")
        times[step].append(seconds)
        print(f"{step:6} {seconds:7.1f} s {rss:8,.0f} MB peak RSS", flush=True)
    if times["base"] and times["ingest"]:
        base, ingest = statistics.median(times["base"]), statistics.median(times["ingest"])
        print(f"medians: scanner copy {base:.1f} s, first ingest ({args.mode}) {ingest:.1f} s:"
              f" {base / ingest:.2f}x faster")


if __name__ == "__main__":
    main()
