"""Every job attempt leaves a line outside the warehouse, so `status` shows the failed,
refused and killed ones too, with their one-line reason."""

from __future__ import annotations

import fcntl
import os
import signal

from click.testing import CliRunner

from tests.conftest import busy_site, running_job
from tests.test_reports import invoke
from warehouse import journal
from warehouse.cli import cli


def test_status_shows_ok_failed_refused_and_killed_attempts(tmp_path):
    webui, db = busy_site(tmp_path)
    failed = CliRunner().invoke(cli, ["--db", str(db), "build", "--select", "nope"])
    assert failed.exit_code == 1
    with open(str(db) + ".lock", "a+") as held:  # another writer holds the lock
        fcntl.flock(held, fcntl.LOCK_EX)
        refused = CliRunner().invoke(cli, ["--db", str(db), "ingest", "--url", str(webui)])
        fcntl.flock(held, fcntl.LOCK_UN)
    assert refused.exit_code == 75

    job = running_job(tmp_path, db)
    job.send_signal(signal.SIGKILL)
    job.wait()

    attempts = journal.last_attempts(db)
    assert [(a.command, a.outcome) for a in attempts] == [
        ("run", "killed"), ("ingest", "refused"), ("build", "failed"), ("ingest", "ok")]
    assert attempts[2].reason == "unknown model 'nope': see 'warehouse models'"
    assert "being written by" in attempts[1].reason
    assert oct(journal.journal_path(db).stat().st_mode & 0o777) == "0o600"
    shown = invoke("--db", str(db), "status")
    for word in ("killed", "refused", "failed", "unknown model 'nope'"):
        assert word in shown, word


def test_a_journal_line_cut_short_is_skipped(tmp_path):
    db = tmp_path / "usage.duckdb"
    path = journal.journal_path(db)
    path.write_text('{"attempt": "a1", "event": "start", "command": "run", "pid": 1, '
                    '"at": "2026-12-01 00:00:00 UTC"}\n{"attempt": "a1", "eve')
    os.chmod(path, 0o600)
    assert [a.outcome for a in journal.last_attempts(db)] == ["killed"]
