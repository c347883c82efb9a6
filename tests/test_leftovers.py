"""Jobs leave nothing behind them but the warehouse, its lock and its journal: no
extension folder per job in the temporary directory, and only the journal's record of
the failure when a first ingest fails."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.test_errors import fail


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
