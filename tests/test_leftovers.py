"""Jobs leave nothing behind them but the warehouse, its lock and its journal: no
extension folder per job in the temporary directory, and only the journal's record of
the failure when a first ingest fails."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import duckdb

from tests.conftest import busy_site
from tests.test_errors import fail
from tests.test_export import differences, warehouse_tables
from tests.test_reports import invoke


def test_a_failed_first_ingest_leaves_only_its_journal(tmp_path):
    db = tmp_path / "usage.duckdb"
    line = fail("--db", str(db), "ingest", "--url", str(tmp_path / "missing.db"))
    assert "does not exist" in line
    assert [p.name for p in tmp_path.iterdir()] == ["usage.duckdb.journal"]  # the failure


def test_jobs_leave_no_extension_folder_in_the_temporary_directory(demo_dir, tmp_path):
    temporary, cache = tmp_path / "tmp", tmp_path / "cache"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary), "XDG_CACHE_HOME": str(cache)}
    for _ in range(2):
        job = subprocess.run(
            [sys.executable, "-m", "warehouse.cli", "--db", str(tmp_path / "u.duckdb"),
             "ingest", "--url", str(demo_dir / "webui.db")],
            env=env, capture_output=True, text=True)
        assert job.returncode == 0, job.stderr
    assert list(temporary.iterdir()) == []
    links = list((cache / "usage-warehouse").glob("duckdb-extensions-*/*.duckdb_extension"))
    assert [p.name for p in links] == ["sqlite_scanner.duckdb_extension"]
    # a link left by another install (since removed) is replaced, not written through
    links[0].unlink()
    links[0].symlink_to(tmp_path / "gone" / "sqlite.duckdb_extension")
    job = subprocess.run(
        [sys.executable, "-m", "warehouse.cli", "--db", str(tmp_path / "u.duckdb"),
         "ingest", "--url", str(demo_dir / "webui.db")], env=env, capture_output=True,
        text=True)
    assert job.returncode == 0, job.stderr
    assert links[0].resolve().exists() and not (tmp_path / "gone").exists()


def test_the_next_job_removes_what_a_killed_forget_left(demo_dir, tmp_path):
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", str(demo_dir / "webui.db"))
    left = [tmp_path / ".usage.duckdb.building.fresh",
            tmp_path / ".usage.duckdb.building.fresh.wal", tmp_path / ".usage.duckdb.building"]
    for path in left:
        path.write_bytes(b"x" * 1000)
    (tmp_path / ".usage.duckdb.building.fresh.tmp").mkdir()
    invoke("--db", str(db), "build")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[:3] == ["usage.duckdb", "usage.duckdb.journal", "usage.duckdb.lock"]
    assert len(names) == 4 and names[3].startswith("usage.duckdb.snapshot-"), names


def test_a_warehouse_reached_through_a_link_stays_a_link(demo_dir, tmp_path):
    real = tmp_path / "real" / "usage.duckdb"
    real.parent.mkdir()
    invoke("--db", str(real), "ingest", "--url", str(demo_dir / "webui.db"))
    link = tmp_path / "link.duckdb"
    link.symlink_to(real)
    invoke("--db", str(link), "ingest", "--url", str(demo_dir / "webui.db"), "--full-refresh")
    assert link.is_symlink() and link.resolve() == real
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.duckdb", "real"]
    invoke("--db", str(link), "build")
    assert link.is_symlink()
    assert "total_messages" in invoke("--db", str(link), "report", "summary")


def _killed(args: list[str], folder, seconds: float) -> None:
    """Run `warehouse ARGS` in a process of its own and SIGKILL it after `seconds`."""
    job = subprocess.Popen([sys.executable, "-m", "warehouse.cli", *args], cwd=folder,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    job.kill()
    job.wait()


def _timed(args: list[str], folder) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "warehouse.cli", *args], cwd=folder, check=True,
                   capture_output=True)
    return time.monotonic() - started


def test_a_killed_export_leaves_nothing_after_the_next_one(tmp_path):
    _, db = busy_site(tmp_path)
    invoke("--db", str(db), "build")
    out = tmp_path / "export"
    full = ["--db", str(db), "export", "--output", str(out), "--full", "--quiet"]
    duration = _timed(full, tmp_path)
    for fraction in (0.45, 0.65, 0.85):
        _killed(full, tmp_path, duration * fraction)
        invoke("--db", str(db), "export", "--output", str(out), "--quiet")
        assert [p for p in out.rglob(".*") if p.name != ".lock"] == [], fraction
    # every day folder is back whole after the kills (the biggest tables, row by row)
    for table in ("raw_openwebui.chat_message", "raw_openwebui.chat", "core.usage_events",
                  "_warehouse.watermarks"):
        assert differences(db, out, table) == 0, table
    assert set(warehouse_tables(db)) <= {
        f"{p.parent.name}.{p.name}" for p in out.glob("*/*") if p.is_dir()}


def test_a_killed_forget_leaves_nothing_after_the_next_job_and_erases_whole(tmp_path):
    _, db = busy_site(tmp_path)
    invoke("--db", str(db), "build")
    duration = _timed(["--db", str(db), "forget", "--user", "u039", "--yes"], tmp_path)
    for number, fraction in enumerate((0.35, 0.65, 0.9)):
        victim = f"u{number:03d}"
        _killed(["--db", str(db), "forget", "--user", victim, "--yes"], tmp_path,
                duration * fraction)
        invoke("--config", str(tmp_path / "warehouse.toml"), "--db", str(db), "ingest",
               "--quiet")  # the next job, any job
        assert not list(tmp_path.glob(".usage.duckdb.building*")), fraction
        con = duckdb.connect(str(db), read_only=True)
        raw, events = (con.execute(f"SELECT count(*) FROM {table} WHERE user_id = ?",
                                   [victim]).fetchone()[0]
                       for table in ("raw_openwebui.chat_message", "core.usage_events"))
        erasures = con.execute("SELECT count(*) FROM _warehouse.erasures").fetchone()[0]
        con.close()
        # all of the erasure or none of it: never raw without the marts, or the reverse
        assert (raw == 0) == (events == 0), (fraction, raw, events)
        gone = [n for n in range(number + 1) if not _still_there(db, f"u{n:03d}")]
        assert erasures == 1 + len(gone), (fraction, erasures, gone)


def _still_there(db, user: str) -> bool:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM raw_openwebui.chat_message WHERE user_id = ?",
                           [user]).fetchone()[0] > 0
    finally:
        con.close()
