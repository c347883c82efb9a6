"""Faults a nightly job meets: the disk fills up, a source goes away in the middle of a
run. Each leaves the published warehouse exactly as it was, says what happened and what
to do in one line, and the next run (once the fault is gone) completes."""

from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from tests.test_reports import invoke, report
from warehouse import sample
from warehouse.cli import cli


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fails(*args) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def small_disk(tmp_path):
    """A 48 MB file system of its own (tmpfs), so filling it harms nothing else."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a tmpfs for the disk-full test: {mounted.stderr}")
        pytest.skip("mounting a tmpfs needs root (CI runs this)")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk, leave_bytes: int):
    """Take all free space of `disk` but `leave_bytes`."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    filler = disk / "filler"
    with open(filler, "wb") as out:
        out.truncate(0)
        remaining = max(0, free - leave_bytes)
        chunk = b"\0" * (1 << 20)
        while remaining > 0:
            out.write(chunk[: min(len(chunk), remaining)])
            remaining -= min(len(chunk), remaining)
    return filler


@pytest.fixture
def campus(make_source):
    data = sample.generate(seed=21, users=8, days=20, chats_per_user=6,
                           end=datetime(2026, 10, 1, tzinfo=UTC))
    return data, make_source(data, "sqlite")


@pytest.mark.parametrize("room", ["no room for the copy", "no room to grow"])
def test_a_full_disk_leaves_the_warehouse_as_it_was(small_disk, campus, room):
    data, src = campus
    db = small_disk / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    invoke("--db", str(db), "build")
    before, figures = sha(db), report(db, "summary")
    size = db.stat().st_size
    files = sorted(p.name for p in small_disk.iterdir())  # with the snapshot the build kept
    assert len(files) == 4 and "usage.duckdb.snapshot-" in files[-1], files
    filler = fill(small_disk, size // 2 if room == "no room for the copy" else size + 65536)

    line = fails("--db", str(db), "ingest", "--url", src.url, "--name", "campus",
                 "--full-refresh")
    assert "disk" in line and "full" in line and "free space" in line
    assert sha(db) == before
    assert sorted(p.name for p in small_disk.iterdir()) == sorted(["filler", *files])  # no copy
    assert report(db, "summary") == figures

    filler.unlink()
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus", "--full-refresh")
    invoke("--db", str(db), "build")
    assert report(db, "summary") == figures


def test_no_room_for_the_lock_file_is_one_line(small_disk, campus):
    _, src = campus
    db = small_disk / "usage.duckdb"
    fill(small_disk, 0)
    line = fails("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    assert "lock file" in line and "No space left" in line
    assert not db.exists()


def test_a_source_that_goes_away_mid_run_changes_nothing(make_source, tmp_path):
    data = sample.generate(seed=22, users=6, days=15, chats_per_user=4,
                           end=datetime(2026, 10, 1, tzinfo=UTC))
    src = make_source(data, "postgres")
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "faculty")
    invoke("--db", str(db), "build")
    before, figures = sha(db), report(db, "summary")
    # New rows to copy, then the server drops the connection when the run reaches the
    # feedback table (after chat_message, chat, user and the groups were read).
    src.execute("UPDATE chat SET title = 'renamed', "
                "updated_at = extract(epoch FROM now())::bigint")
    src.execute("ALTER TABLE feedback RENAME TO feedback_data")
    src.execute("CREATE VIEW feedback AS SELECT * FROM feedback_data "
                "WHERE pg_terminate_backend(pg_backend_pid())")
    line = fails("--db", str(db), "ingest", "--url", src.url, "--name", "faculty")
    assert line.startswith("Error: source 'faculty': cannot read table feedback:")
    assert sha(db) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".usage.duckdb.building")]

    src.execute("DROP VIEW feedback")
    src.execute("ALTER TABLE feedback_data RENAME TO feedback")
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "faculty")
    invoke("--db", str(db), "build")
    assert report(db, "summary") == figures
    titles = {r["title"] for r in report(db, "chats", "--limit", "1000")}
    assert titles == {"renamed"}
