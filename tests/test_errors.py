"""Bad input: a one-line message naming what is at fault, exit 1, no traceback, no
password, and the warehouse exactly as it was."""

from __future__ import annotations

import sqlite3

import duckdb
import pytest
from click.testing import CliRunner

from tests.conftest import PG_PASSWORD
from tests.pgserver import _free_port
from tests.test_reports import invoke
from warehouse import sample
from warehouse.cli import cli


def fail(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def snapshot(db) -> dict:
    """Everything a user could observe in the warehouse: every table's rows."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [f'"{s}"."{t}"' for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()]
        return {n: sorted(map(repr, con.execute(f"SELECT * FROM {n}").fetchall()))
                for n in names}
    finally:
        con.close()


@pytest.fixture
def warehouse_db(make_source, tmp_path):
    """A built warehouse with one ingested source."""
    src = make_source(sample.generate(seed=5, users=4, days=5, chats_per_user=3), "sqlite")
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    invoke("--db", str(db), "build")
    return db


def check_source_error(db, url: str, needle: str) -> str:
    """The error for ingesting `url`, into an existing warehouse and into a new one."""
    before = snapshot(db)
    message = fail("--db", str(db), "ingest", "--url", url, "--name", "campus")
    assert needle in message, message
    assert snapshot(db) == before
    fresh = db.parent / "fresh.duckdb"
    fail("--db", str(fresh), "ingest", "--url", url)
    assert not fresh.exists()
    return message


def test_missing_sqlite_file(warehouse_db, tmp_path):
    check_source_error(warehouse_db, f"sqlite:///{tmp_path}/nope.db",
                       f"SQLite file {tmp_path}/nope.db does not exist")


def test_file_that_is_not_a_database(warehouse_db, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n" * 100)
    check_source_error(warehouse_db, str(junk), "is not a SQLite database")


def test_database_that_is_not_open_webui(warehouse_db, tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.close()
    check_source_error(warehouse_db, str(other), "is not an Open WebUI database")


def test_open_webui_table_without_a_required_column(warehouse_db, tmp_path):
    broken = tmp_path / "broken.db"
    conn = sqlite3.connect(broken)
    for stmt in sample.statements(sample.schema_sql()):
        if stmt.startswith("CREATE TABLE chat_message"):
            stmt = stmt.replace("usage JSON,", "")
        conn.execute(stmt)
    conn.close()
    message = check_source_error(warehouse_db, str(broken), "table chat_message")
    assert "'usage'" in message


def test_unreachable_postgres_never_prints_the_password(warehouse_db):
    url = f"postgresql://alice:hunter2pw@127.0.0.1:{_free_port()}/webui"
    message = check_source_error(warehouse_db, url, "cannot open postgresql://alice:***@")
    assert "hunter2pw" not in message


def test_wrong_postgres_password_is_not_printed(warehouse_db, pg_url):
    url = pg_url.replace(PG_PASSWORD, "Wr0ng-Secret")
    message = check_source_error(warehouse_db, url, "password authentication failed")
    assert "Wr0ng-Secret" not in message and PG_PASSWORD not in message


def test_postgres_database_that_is_not_open_webui(warehouse_db, pg_url):
    message = check_source_error(warehouse_db, pg_url, "is not an Open WebUI database")
    assert PG_PASSWORD not in message


BAD_OPTIONS = [
    (["report", "nope"], "unknown report 'nope'"),
    (["report", "daily", "--granularity", "fortnight"], "--granularity 'fortnight'"),
    (["report", "summary", "--tz", "Mars/Olympus"], "--tz 'Mars/Olympus'"),
    (["report", "summary", "--since", "last tuesday"], "--since 'last tuesday'"),
    (["report", "summary", "--since", "2026-02-01", "--until", "2026-01-01"], "not before"),
    (["report", "summary", "--format", "xml"], "--format 'xml'"),
    (["report", "users", "--limit", "0"], "--limit must be a positive number"),
    (["report", "users", "--metric", "cost"], "--metric 'cost'"),
    (["report", "summary", "--group", "Nobody"], "--group 'Nobody'"),
    (["report", "summary", "--user", "ghost@example.org"], "--user 'ghost@example.org'"),
    (["report", "summary", "--format", "parquet"], "needs --output"),
    (["report", "summary", "--output", "/no/such/dir/x.json"], "does not exist"),
    (["ingest", "nosuchsource"], "unknown source 'nosuchsource'"),
    (["build", "--select", "marts.nothing"], "unknown model 'marts.nothing'"),
    (["query", "select * from nowhere"], "query failed"),
]


def test_bad_options_leave_the_warehouse_unchanged(warehouse_db):
    """All cases on one warehouse: each must leave it as it was."""
    before = snapshot(warehouse_db)
    for args, needle in BAD_OPTIONS:
        assert needle in fail("--db", str(warehouse_db), *args), args
        assert snapshot(warehouse_db) == before, args


def test_report_on_a_missing_warehouse(tmp_path):
    assert "does not exist" in fail("--db", str(tmp_path / "none.duckdb"), "report", "summary")
    assert not (tmp_path / "none.duckdb").exists()


def test_report_on_a_warehouse_not_built_or_built_by_an_older_version(make_source, tmp_path):
    src = make_source(sample.generate(seed=6, users=2, days=2, chats_per_user=1), "sqlite")
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    built = "the warehouse's marts are missing or out of date: run 'warehouse build'"
    assert built in fail("--db", str(db), "report", "summary")
    invoke("--db", str(db), "build")
    con = duckdb.connect(str(db))
    # as a warehouse built before repricing
    con.execute("ALTER TABLE marts.tag_hourly DROP COLUMN repriced_cost")
    con.close()
    assert built in fail("--db", str(db), "report", "tokens")


def test_config_errors_name_the_file(tmp_path):
    bad = tmp_path / "warehouse.toml"
    bad.write_text("[sources.campus\nurl = 1\n")
    assert str(bad) in fail("--config", str(bad), "ingest")
    bad.write_text('[sources.campus]\nkind = "mysql"\nurl = "sqlite:///x.db"\n')
    assert """kind must be "openwebui" or "litellm", not 'mysql'""" in fail(
        "--config", str(bad), "ingest")
    assert "does not exist" in fail("--config", str(tmp_path / "none.toml"), "ingest")


def test_user_model_errors_name_the_file(warehouse_db, tmp_path):
    models = tmp_path / "my_models"
    (models / "extra").mkdir(parents=True)
    config = tmp_path / "warehouse.toml"
    config.write_text(f'[warehouse]\ndb = "{warehouse_db}"\nmodels = "{models}"\n')
    (models / "extra" / "a.sql").write_text("select * from extra.b")
    (models / "extra" / "b.sql").write_text("select * from extra.a")
    before = snapshot(warehouse_db)
    assert "cycle" in fail("--config", str(config), "build")
    (models / "extra" / "b.sql").write_text("select * from core.nothing_here")
    message = fail("--config", str(config), "build")
    assert "b.sql" in message and "core.nothing_here" in message
    (models / "extra" / "b.sql").write_text("select count(*) as n from core.usage_events")
    (models / "extra" / "a.sql").write_text("select n, no_such_column from extra.b")
    message = fail("--config", str(config), "build")
    assert "a.sql" in message and "no_such_column" in message
    assert snapshot(warehouse_db) == before
