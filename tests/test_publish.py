"""Readers never wait and never see a half-built warehouse; killed or concurrent jobs
leave the published file whole (warehouse/publish.py). Runs are real processes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import warehouse
from warehouse import journal, publish, sample
from warehouse.cli import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def site(tmp_path):
    """A configured SQLite source, run once: the published state readers start from."""
    source = tmp_path / "webui.db"
    conn = sqlite3.connect(source)
    sample.write(conn, sample.generate(seed=11, users=20, days=20, chats_per_user=6))
    conn.close()
    config = tmp_path / "warehouse.toml"
    config.write_text(textwrap.dedent(f"""\
        [warehouse]
        db = "{tmp_path / 'usage.duckdb'}"

        [sources.campus]
        kind = "openwebui"
        url = "sqlite:///{source}"
        """))
    result = CliRunner().invoke(cli, ["--config", str(config), "run", "--quiet"])
    assert result.exit_code == 0, result.output
    return tmp_path


def add_messages(source: Path) -> int:
    """As many new messages again, dated after every existing one; returns the new total
    of assistant messages."""
    conn = sqlite3.connect(source)
    conn.execute("""
        INSERT INTO chat_message (id, chat_id, user_id, role, parent_id, content, model_id,
                                  done, usage, created_at, updated_at)
        SELECT id || '-again', chat_id, user_id, role, parent_id, content, model_id, done,
               usage, created_at + shift, updated_at + shift
        FROM chat_message, (SELECT max(created_at) - min(created_at) + 60 AS shift
                            FROM chat_message)""")
    conn.commit()
    total = conn.execute(
        "SELECT count(*) FROM chat_message WHERE role = 'assistant'").fetchone()[0]
    conn.close()
    return total


def run_process(site: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "warehouse", "--config", str(site / "warehouse.toml"), "run",
         *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def messages(db: Path) -> int:
    with warehouse.open(db) as wh:
        return wh.report("summary")["total_messages"][0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inode(path: Path) -> tuple[int, int] | None:
    """Which file a path names (the kernel reuses inode numbers, so with its birth time)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_ctime_ns


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.002)


# Reads until the stop file appears (at most 120 s): no deadline the run must beat.
READER = textwrap.dedent("""\
    import json, os, sys, time
    import duckdb
    seen, errors = [], []
    deadline = time.monotonic() + 120
    while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
        try:
            con = duckdb.connect(sys.argv[1], read_only=True)
            seen.append(con.execute(
                "SELECT sum(messages) FROM marts.usage_hourly").fetchone()[0])
            con.close()
        except Exception as exc:
            errors.append(str(exc))
    print(json.dumps({"seen": sorted(set(seen)), "reads": len(seen), "errors": errors}))
    """)


def test_readers_are_not_blocked_and_see_the_old_or_the_new_state(site):
    db = site / "usage.duckdb"
    before = messages(db)
    after = add_messages(site / "webui.db")
    holder = warehouse.open(db)  # e.g. an analyst's notebook, open across the run
    stop = site / "stop-reading"
    poller = subprocess.Popen([sys.executable, "-c", READER, str(db), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    job = run_process(site)
    out, err = job.communicate(timeout=120)
    assert job.returncode == 0, err
    time.sleep(0.5)  # the poller reads the published state a while
    stop.touch()
    polled = json.loads(poller.communicate(timeout=60)[0])
    assert polled["errors"] == [] and polled["reads"] > 10
    assert set(polled["seen"]) <= {before, after} and after in polled["seen"]
    # The open reader keeps its snapshot; a reader opening now sees the new one.
    assert holder.report("summary")["total_messages"][0] == before
    holder.close()
    assert messages(db) == after != before


def test_an_open_handle_never_hides_a_newer_publish_from_the_same_process(site):
    """DuckDB shares one instance per file path in a process: a second warehouse.open()
    while an earlier handle is open saw the earlier file, and a plain duckdb.connect()
    beside it was refused for its different configuration."""
    import duckdb

    db = site / "usage.duckdb"
    copied = "SELECT count(*) AS n FROM raw_openwebui.chat_message WHERE role = 'assistant'"
    holder = warehouse.open(db)
    before = holder.sql(copied)["n"][0]
    after = add_messages(site / "webui.db")
    job = subprocess.run([sys.executable, "-m", "warehouse", "--config",
                          str(site / "warehouse.toml"), "ingest", "--quiet"], cwd=ROOT)
    assert job.returncode == 0
    with warehouse.open(db) as fresh:
        assert fresh.sql(copied)["n"][0] == after != before
    assert holder.sql(copied)["n"][0] == before  # its own snapshot
    plain = duckdb.connect(str(db), read_only=True)
    assert plain.execute("SELECT count(*) FROM core.usage_events").fetchone()[0] > 0
    plain.close()
    holder.close()


def test_sigkill_at_any_point_leaves_the_published_warehouse_whole(site, tmp_path):
    db = site / "usage.duckdb"
    before, published = messages(db), digest(db)
    after = add_messages(site / "webui.db")
    # How long an uninterrupted run takes, on a copy of the warehouse.
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "usage.duckdb").write_bytes(db.read_bytes())
    (twin / "warehouse.toml").write_text(
        (site / "warehouse.toml").read_text().replace(str(db), str(twin / "usage.duckdb")))
    started = time.monotonic()
    assert run_process(twin).wait(timeout=120) == 0
    duration = time.monotonic() - started
    assert messages(twin / "usage.duckdb") == after

    building = publish.building_path(db)
    wal = building.with_name(building.name + ".wal")

    def locked(p) -> bool:
        return f"PID {p.pid}" in publish.lock_path(db).read_text()

    def fresh(path: Path, p) -> bool:
        """`path` exists and was made by job p, not left by a job killed before."""
        return locked(p) and inode(path) not in (None, p.stale[path])

    triggers = {
        "lock taken": locked,
        "copy started": lambda p: fresh(building, p),
        "writing the copy": lambda p: fresh(wal, p),
    }
    for fraction in (0.5, 0.7, 0.85, 0.95):
        triggers[f"{fraction:.0%} of a run"] = (
            lambda p, at=time.monotonic, f=fraction: at() - p.started >= f * duration)
    outcomes = {}
    for point, reached in triggers.items():
        job = run_process(site)
        job.started = time.monotonic()
        job.stale = {building: inode(building), wal: inode(wal)}
        wait_for(lambda job=job, reached=reached: reached(job) or job.poll() is not None)
        job.send_signal(signal.SIGKILL)
        job.wait()
        # Either the old file, byte for byte, or (killed after publishing) the new whole.
        if digest(db) == published:
            outcomes[point] = "old"
            assert messages(db) == before
        else:
            outcomes[point] = "new"
            assert messages(db) == after
            published, before = digest(db), after
    assert list(outcomes.values())[:3] == ["old"] * 3, outcomes
    # The next run recovers: it discards the stale copy and publishes the complete state.
    job = run_process(site)
    assert job.wait(timeout=120) == 0, job.stderr.read()
    assert messages(db) == after
    assert not building.exists() and not wal.exists()


def test_a_second_job_is_refused_or_waits(site):
    db = site / "usage.duckdb"
    add_messages(site / "webui.db")
    published = digest(db)
    with publish.run_lock(db, command="backup"):
        refused = run_process(site)
        _, err = refused.communicate(timeout=60)
        assert refused.returncode == publish.EXIT_LOCKED
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "is being written by 'warehouse backup' (PID " \
            f"{os.getpid()}" in lines[0] and "--wait" in lines[0], err
        waiting = run_process(site, "--wait")
        time.sleep(2)
        assert waiting.poll() is None, "--wait must queue behind the lock holder"
        assert digest(db) == published
    assert waiting.wait(timeout=120) == 0
    assert digest(db) != published


def test_concurrent_runs_write_one_after_the_other(site):
    db = site / "usage.duckdb"
    after = add_messages(site / "webui.db")
    jobs = [run_process(site, "--wait") for _ in range(3)]
    assert [j.wait(timeout=180) for j in jobs] == [0, 0, 0]
    assert messages(db) == after  # idempotent: the later runs found nothing new to count
    with warehouse.open(db) as wh:
        log = wh.sql("SELECT started_at, finished_at, details FROM _warehouse.run_log "
                     "WHERE command = 'run' ORDER BY started_at").rows()
    # the fixture's run and the first of these three; the other two found nothing new
    # and published nothing (the journal has them)
    assert len(log) == 2
    for (_, finished, _), (started, _, _) in zip(log, log[1:], strict=False):
        assert started >= finished, "two runs wrote at the same time"
    details = json.loads(log[-1][2])
    assert set(details["sources"]) == {"campus"} and details["models"]
    reasons = [a.reason for a in journal.last_attempts(db, 3)]
    assert sorted(reasons) == ["", *["nothing new: the published warehouse was left as "
                                     "it was"] * 2]


def test_run_prints_one_summary_line_and_logs_it(site):
    add_messages(site / "webui.db")
    result = CliRunner().invoke(cli, ["--config", str(site / "warehouse.toml"), "run"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run ") and "campus " in lines[0] \
        and "built" in lines[0] and "published" in lines[0], result.stdout
    quiet = CliRunner().invoke(cli, ["--config", str(site / "warehouse.toml"), "run",
                                     "--quiet"])
    assert quiet.exit_code == 0 and quiet.output == ""
    with warehouse.open(site / "usage.duckdb") as wh:
        log = wh.sql("SELECT run_id, rows_read FROM _warehouse.run_log "
                     "ORDER BY started_at").rows()
    # the quiet run found nothing new: nothing published, nothing logged in the file
    assert len(log) == 2 and lines[0].split()[1].rstrip(":") == log[1][0]
    assert log[1][1] > 0


def test_a_new_warehouse_is_readable_by_its_owner_only(site):
    db = site / "usage.duckdb"
    assert db.stat().st_mode & 0o777 == 0o600
    db.chmod(0o640)  # an admin who shares it with a group keeps that
    add_messages(site / "webui.db")
    assert run_process(site, "--quiet").wait(timeout=120) == 0
    assert db.stat().st_mode & 0o777 == 0o640


def identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


def test_a_job_that_finds_nothing_new_publishes_nothing(site):
    """A nightly run with nothing new leaves the published file as it is (publishing an
    identical copy costs seconds of disk writes and rotates a snapshot out): the journal
    records the job, and the source counts as read then."""
    db, config = site / "usage.duckdb", site / "warehouse.toml"
    read_before = last_ingest(config)
    time.sleep(1.1)  # the records have whole seconds
    before = identity(db), digest(db)
    for command in ("run", "ingest", "build"):
        result = CliRunner().invoke(cli, ["--config", str(config), command])
        assert result.exit_code == 0, result.output
        assert f"nothing new, so {db} was left as it was in" in result.stdout, result.stdout
        assert (identity(db), digest(db)) == before, command
    assert sorted(p.name for p in site.iterdir() if p.name.startswith(".")) == []
    attempts = journal.last_attempts(db, 3)
    assert [(a.command, a.outcome) for a in attempts] == [
        ("build", "ok"), ("ingest", "ok"), ("run", "ok")]
    assert {a.reason for a in attempts} == {
        "nothing new: the published warehouse was left as it was"}
    # the file's own record of the source is older than the journal's
    assert last_ingest(config) > read_before
    # anything new is published: new messages, a run that reads every row again (its
    # date starts the next reconciliation period), a price file, pseudonyms turned on
    add_messages(site / "webui.db")
    prices = site / "prices.toml"
    prices.write_text('[[price]]\nmodel = "*"\ninput = 1\noutput = 2\ncurrency = "USD"\n')
    for change in (["run"], ["run", "--full-refresh"], ["run", "--prices", str(prices)]):
        before = identity(db)
        result = CliRunner().invoke(cli, ["--config", str(config), *change])
        assert result.exit_code == 0, result.output
        assert f"published {db}" in result.stdout and identity(db) != before, change
    config.write_text(config.read_text().replace("[warehouse]\n",
                                                 "[warehouse]\npseudonymize = true\n"))
    before = identity(db)
    result = CliRunner().invoke(cli, ["--config", str(config), "build"])
    assert f"published {db}" in result.stdout and identity(db) != before


def last_ingest(config: Path) -> str:
    """The source's last ingest as `warehouse status --format json` says it."""
    result = CliRunner().invoke(cli, ["--config", str(config), "status", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["sources"][0]["last_ingest_at"]


def test_a_rewrite_draws_no_progress_bar_on_the_jobs_output(tmp_path):
    """Regression: the rewrite (a compaction, or a first copy that took text away) ran on
    a plain DuckDB connection, which draws its progress bar on the process's stdout once
    a copy takes 2 s: 8 s at 6M events filled a cron job's log with it. (In a process of
    its own: under pytest DuckDB turns the bar off by itself.)"""
    script = textwrap.dedent("""
        import sys
        from pathlib import Path

        import duckdb

        from warehouse import publish

        db = Path(sys.argv[1])
        con = duckdb.connect(str(db))
        con.execute("CREATE TABLE t AS SELECT range AS x FROM range(1000)")
        con.close()
        connect = duckdb.connect

        class Watched:
            def __init__(self, *args, **kwargs):
                self.con = connect(*args, **kwargs)

            def execute(self, sql, *args):
                if sql.startswith("COPY FROM DATABASE"):
                    print(self.con.execute(
                        "SELECT current_setting('enable_progress_bar')").fetchone()[0])
                return self.con.execute(sql, *args)

            def __getattr__(self, name):
                return getattr(self.con, name)

        publish.duckdb.connect = Watched
        publish._rewrite(db)
        publish.duckdb.connect = connect
        print(connect(str(db)).execute("SELECT count(*) FROM t").fetchone()[0])
        """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "w.duckdb")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "1000"]
