"""Jobs leave nothing behind them but the warehouse, its lock and its journal: no
extension folder per job in the temporary directory, and only the journal's record of
the failure when a first ingest fails."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.test_errors import fail
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
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "usage.duckdb", "usage.duckdb.journal", "usage.duckdb.lock"]


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
