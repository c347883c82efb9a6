"""History survives damage, upgrades and operators: snapshots kept by each publish, a
damaged file diagnosed in one line, `restore` from a snapshot or an export giving the
same reports, erasures surviving every restore, and a file from the previous DuckDB
release upgraded by the next job."""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from click.testing import CliRunner

from tests.test_errors import fail
from tests.test_privacy import mentions
from tests.test_reports import invoke
from warehouse import sample
from warehouse.cli import cli

REPORTS = (("summary",), ("users",), ("models",), ("daily",), ("chats", "--limit", "50"),
           ("costs", "--by", "user"), ("feedback",), ("tags",))
PREVIOUS_DUCKDB = Path(__file__).parent / "data" / "warehouse-duckdb-1.4.5.duckdb.gz"
PREVIOUS_SAMPLE = {"seed": 5, "users": 4, "days": 6, "chats_per_user": 3}  # its make script


def site(folder: Path, keep: int | None = None) -> tuple[sample.Dataset, Path, Path]:
    """An Open WebUI SQLite source and a config naming it; returns (data, config, db)."""
    data = sample.generate(seed=21, users=5, days=12, chats_per_user=4,
                           end=datetime(2026, 10, 1, tzinfo=UTC))
    conn = sqlite3.connect(folder / "webui.db")
    sample.write(conn, data)
    conn.close()
    kept = f"keep = {keep}\n" if keep is not None else ""
    (folder / "warehouse.toml").write_text(
        f'[warehouse]\ndb = "usage.duckdb"\n{kept}\n[sources.campus]\nurl = "sqlite:///webui.db"\n')
    return data, folder / "warehouse.toml", folder / "usage.duckdb"


def answers(config: Path) -> list[str]:
    return [invoke("--config", str(config), "report", *r, "--format", "csv") for r in REPORTS]


def damage(db: Path) -> None:
    """Bytes overwritten where DuckDB keeps its first metadata block."""
    with open(db, "r+b") as f:
        f.seek(4096)
        f.write(os.urandom(8192))


def holds(db: Path, person) -> int:
    """Rows that name the person in the raw and core tables that would (every column of
    every table is scanned once, after the forget, by `mentions`)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sum(con.execute(sql, [person.id, person.email]).fetchone()[0] for sql in (
            'SELECT count(*) FROM raw_openwebui."user" WHERE id = ? OR email = ?',
            "SELECT count(*) FROM raw_openwebui.chat_message WHERE user_id IN (?, ?)",
            "SELECT count(*) FROM core.users WHERE user_id = ? OR email = ?",
            "SELECT count(*) FROM core.usage_events WHERE user_id IN (?, ?)"))
    finally:
        con.close()


def snapshot_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("usage.duckdb.snapshot-*"))


def test_each_publish_keeps_the_replaced_file_up_to_keep(tmp_path):
    _, config, db = site(tmp_path, keep=2)
    invoke("--config", str(config), "run")
    # any publish keeps one; a full refresh always publishes (its date starts the next
    # reconciliation period), even when it finds nothing new
    for _ in range(3):
        invoke("--config", str(config), "ingest", "--full-refresh", "--quiet")
    kept = snapshot_names(tmp_path)
    assert len(kept) == 2, kept
    for name in kept:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
        assert os.stat(tmp_path / name).st_ino != db.stat().st_ino  # not the new file
    # the newest snapshot is the state the last run replaced: a whole warehouse
    con = duckdb.connect(str(tmp_path / kept[-1]), read_only=True)
    assert con.execute("SELECT count(*) FROM core.usage_events").fetchone()[0] > 0
    con.close()
    config.write_text(config.read_text().replace("keep = 2", "keep = 0"))
    published = db.stat().st_ino
    invoke("--config", str(config), "ingest", "--quiet")  # nothing new: keep holds anyway
    assert snapshot_names(tmp_path) == [] and db.stat().st_ino == published
    # an --output onto a snapshot is refused like one onto the warehouse
    config.write_text(config.read_text().replace("keep = 0", "keep = 1"))
    invoke("--config", str(config), "ingest", "--full-refresh", "--quiet")
    (snap,) = snapshot_names(tmp_path)
    line = fail("--config", str(config), "report", "summary", "--output",
                str(tmp_path / snap))
    assert "a file the warehouse keeps beside it" in line, line


def test_a_damaged_warehouse_is_diagnosed_and_restored_from_its_snapshot(tmp_path):
    _, config, db = site(tmp_path)
    invoke("--config", str(config), "run")
    invoke("--config", str(config), "run", "--full-refresh")  # publishes: a snapshot
    before = answers(config)
    damage(db)
    for command in (("report", "summary"), ("run",), ("run", "--full-refresh"),
                    ("query", "select 1")):
        line = fail("--config", str(config), *command)
        assert f"warehouse {db} is damaged (" in line and "'warehouse restore'" in line, line
        assert "usage.duckdb.snapshot-" in line and ".building" not in line, line
    # status still shows what it can (the failed attempts, the snapshots), then the cause
    status = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert status.exit_code == 1 and "Traceback" not in status.output
    assert "Snapshots" in status.output and "failed" in status.output
    assert status.output.strip().splitlines()[-1] == line
    out = invoke("--config", str(config), "restore")
    assert "restored" in out and "from snapshot" in out
    assert answers(config) == before
    (aside,) = tmp_path.glob("usage.duckdb.before-restore-*")  # kept, never deleted
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600
    assert len(snapshot_names(tmp_path)) == 1  # the damaged file rotated nothing out
    invoke("--config", str(config), "run")  # and the jobs go on


def test_a_damaged_warehouse_is_restored_from_an_export_on_a_new_file(tmp_path):
    _, config, db = site(tmp_path, keep=0)
    invoke("--config", str(config), "run")
    export = tmp_path / "backup"
    invoke("--config", str(config), "export", "--output", str(export))
    before = answers(config)
    with open(db, "r+b") as f:  # cut in half
        f.truncate(db.stat().st_size // 2)
    line = fail("--config", str(config), "report", "summary")
    assert "is damaged" in line and "--from EXPORT_DIR" in line and "no snapshot" in line
    out = invoke("--config", str(config), "restore", "--from", str(export))
    assert "from export" in out
    assert answers(config) == before
    # the restored warehouse carries on: watermarks and history came back with it
    run = invoke("--config", str(config), "run")
    assert "read" in run and " 0 new, 0 changed" in run  # nothing new since the export
    assert answers(config) == before


def test_restore_refuses_what_it_cannot_trust_and_changes_nothing(tmp_path):
    _, config, db = site(tmp_path)
    invoke("--config", str(config), "run")
    line = fail("--config", str(config), "restore")
    assert "has no snapshot to restore from" in line
    invoke("--config", str(config), "run", "--full-refresh")  # publishes: a snapshot
    (snap,) = tmp_path.glob("usage.duckdb.snapshot-*")
    damage(snap)
    published = db.read_bytes()
    line = fail("--config", str(config), "restore")
    assert "is damaged too" in line, line
    line = fail("--config", str(config), "restore", "--from", str(tmp_path / "nowhere"))
    assert "no such file or folder" in line
    export = tmp_path / "backup"
    invoke("--config", str(config), "export", "--output", str(export))
    manifest = export / "_manifest.json"
    manifest.write_text(manifest.read_text().replace('"finished": {', '"unfinished": {'))
    line = fail("--config", str(config), "restore", "--from", str(export))
    assert "did not finish" in line
    invoke("--config", str(config), "export", "--output", str(export), "--full")
    shutil.rmtree(next((export / "raw_openwebui" / "chat_message").glob("day=*")))
    line = fail("--config", str(config), "restore", "--from", str(export))
    assert "raw_openwebui.chat_message has" in line and "incomplete" in line, line
    assert db.read_bytes() == published
    assert not list(tmp_path.glob("usage.duckdb.before-restore-*"))


def test_a_forgotten_person_stays_forgotten_after_every_restore(tmp_path):
    data, config, db = site(tmp_path)
    invoke("--config", str(config), "run")
    invoke("--config", str(config), "run", "--full-refresh")  # publishes: a snapshot
    export = tmp_path / "backup"
    invoke("--config", str(config), "export", "--output", str(export))
    # backups the warehouse does not know of: a copy of the snapshot and of the export
    (snap,) = tmp_path.glob("usage.duckdb.snapshot-*")
    old_file = tmp_path / "offsite.duckdb"
    shutil.copyfile(snap, old_file)
    old_export = tmp_path / "offsite-export"
    shutil.copytree(export, old_export)
    def users_shown() -> int:
        return len(invoke("--config", str(config), "report", "users", "--format",
                          "csv").splitlines()) - 1

    shown = users_shown()
    victim = data.users[1]
    needles = [victim.id.lower(), victim.email.lower(), victim.name.lower()]
    out = invoke("--config", str(config), "forget", "--user", victim.email, "--yes")
    assert f"export {export.resolve()}: exported again" in out
    assert mentions(db, needles) == []
    # forget dropped the snapshots that held the person and kept a copy of the new file
    for kept in tmp_path.glob("usage.duckdb.snapshot-*"):
        assert holds(kept, victim) == 0
    # the export it knows of was exported again without them
    con = duckdb.connect()
    rows = con.execute("SELECT count(*) FROM read_parquet(?, union_by_name = true) "
                       "WHERE user_id = ?", [str(export / "raw_openwebui" / "chat_message"
                                                 / "*" / "*.parquet"), victim.id]).fetchone()
    assert rows[0] == 0
    # restores from the backups it did not know of: the ledger erases them again
    for source in (old_file, old_export):
        out = invoke("--config", str(config), "restore", "--from", str(source))
        assert holds(db, victim) == 0, source
        assert users_shown() == shown - 1
    for aside in tmp_path.glob("usage.duckdb.before-restore-*"):
        aside.unlink()


def test_a_file_from_the_previous_duckdb_release_is_upgraded_by_run(tmp_path):
    db = tmp_path / "usage.duckdb"
    with gzip.open(PREVIOUS_DUCKDB) as packed, open(db, "wb") as raw:
        shutil.copyfileobj(packed, raw)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT value FROM _warehouse.meta WHERE key = 'duckdb_version'"
                       ).fetchone()[0] == "1.4.5"
    con.close()
    # readable as it is (newer DuckDB reads older files) ...
    old_summary = invoke("--db", str(db), "report", "summary", "--format", "csv")
    conn = sqlite3.connect(tmp_path / "webui.db")
    sample.write(conn, sample.generate(**PREVIOUS_SAMPLE))
    conn.close()
    (tmp_path / "warehouse.toml").write_text(
        '[warehouse]\ndb = "usage.duckdb"\n[sources.openwebui]\nurl = "sqlite:///webui.db"\n')
    config = str(tmp_path / "warehouse.toml")
    # ... and the next job upgrades it
    invoke("--config", config, "run")
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT value FROM _warehouse.meta WHERE key = 'duckdb_version'"
                       ).fetchone()[0] == duckdb.__version__
    # it kept every message's text; the default mode keeps none of it
    assert con.execute("SELECT count(content), count(content_length) FROM "
                       "raw_openwebui.chat_message").fetchone() == (0, 34)
    con.close()
    fresh = tmp_path / "fresh.duckdb"
    invoke("--db", str(fresh), "ingest", "--url", str(tmp_path / "webui.db"), "--name",
           "openwebui")
    invoke("--db", str(fresh), "build")
    for name in ("summary", "users", "models", "daily"):
        assert (invoke("--config", config, "report", name, "--format", "csv")
                == invoke("--db", str(fresh), "report", name, "--format", "csv")), name
    assert invoke("--config", config, "report", "summary", "--format", "csv") == old_summary


def test_a_file_from_a_newer_duckdb_is_refused_with_the_way_across(tmp_path):
    _, config, db = site(tmp_path)
    invoke("--config", str(config), "run")
    con = duckdb.connect(str(db))
    con.execute("UPDATE _warehouse.meta SET value = '9.1.0' WHERE key = 'duckdb_version'")
    con.close()
    for command in (("report", "summary"), ("run",)):
        line = fail("--config", str(config), *command)
        assert "written by DuckDB 9.1.0, newer than" in line and "restore --from" in line


def test_a_file_that_was_never_a_warehouse_is_not_called_damaged(tmp_path):
    other = tmp_path / "webui.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE chat (id TEXT)")
    conn.commit()
    conn.close()
    for command in (("report", "summary"), ("build",)):
        line = fail("--db", str(other), *command)
        assert "is a SQLite database, not a warehouse file" in line, line
    assert [p.name for p in tmp_path.iterdir()] == ["webui.db"]  # no lock, no journal
    other.write_bytes(b"just some text\n" * 1000)
    line = fail("--db", str(other), "report", "summary")
    assert "is not a DuckDB warehouse file" in line and "damaged" not in line, line
