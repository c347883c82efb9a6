"""Fixtures: real Open WebUI databases in SQLite and in a real PostgreSQL server.

PostgreSQL: WAREHOUSE_TEST_PG_URL when set; otherwise a throwaway cluster started from the
local binaries (as root, run as the `postgres` user) with password authentication on TCP.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

import pytest

from tests import pgserver
from warehouse import sample

PG_PASSWORD = "s3cret-Pa55"


@pytest.fixture(scope="session")
def pg_url():
    """Admin URL of a PostgreSQL server whose password authentication is real."""
    if os.environ.get("WAREHOUSE_TEST_PG_URL"):
        yield os.environ["WAREHOUSE_TEST_PG_URL"]
        return
    try:
        with pgserver.throwaway_cluster(PG_PASSWORD) as url:
            yield url
    except pgserver.NoPostgres as exc:
        pytest.fail(str(exc))


def _new_pg_database(admin_url: str) -> str:
    import psycopg

    name = "owui_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def reader_url(admin_url: str, source_url: str, role: str, password: str) -> str:
    """A login role that may only SELECT in the source database, and its URL (the
    password as given, not percent-encoded)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    return f"postgresql://{role}:{password}@{source_url.split('@', 1)[1]}"


def busy_site(folder: Path) -> tuple[Path, Path]:
    """A SQLite source large enough that a run takes seconds, ingested once, and a
    warehouse.toml naming it in `folder`: (source, warehouse)."""
    from tests.test_reports import invoke

    webui, db = folder / "webui.db", folder / "usage.duckdb"
    conn = sqlite3.connect(webui)
    sample.write(conn, sample.generate(seed=4, users=40, days=60, chats_per_user=40))
    conn.close()
    invoke("--db", str(db), "ingest", "--url", str(webui))
    (folder / "warehouse.toml").write_text(f'[sources.campus]\nurl = "{webui}"\n')
    return webui, db


def running_job(folder: Path, db: Path):
    """`warehouse run --full-refresh` (seconds of work) in a process of its own, returned
    once it holds the writer lock (it is then copying, ingesting or building)."""
    import subprocess
    import sys
    import time

    job = subprocess.Popen([sys.executable, "-m", "warehouse.cli", "--db", str(db), "run",
                            "--full-refresh"],
                           cwd=folder, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock, started = db.with_name(db.name + ".lock"), time.monotonic()
    while time.monotonic() - started < 30 and not (
            lock.exists() and f"PID {job.pid}," in lock.read_text()):
        time.sleep(0.05)
    time.sleep(0.3)
    return job


class SourceDB:
    """A real Open WebUI database (SQLite file or PostgreSQL database) the test can edit."""

    def __init__(self, dialect: str, url: str, path: Path | None = None):
        self.dialect, self.url, self.path = dialect, url, path

    def connect(self):
        if self.dialect == "sqlite":
            conn = sqlite3.connect(self.path)
            conn.execute("PRAGMA foreign_keys = ON")
            return conn
        import psycopg

        return psycopg.connect(self.url)

    @property
    def ph(self) -> str:
        return "?" if self.dialect == "sqlite" else "%s"

    def execute(self, sql: str, params=()) -> None:
        conn = self.connect()
        try:
            conn.execute(sql.replace("?", self.ph), params)
            conn.commit()
        finally:
            conn.close()


@pytest.fixture
def make_source(tmp_path, request):
    """make_source(dataset, dialect, legacy=False) -> SourceDB filled with the dataset."""

    def make(data: sample.Dataset, dialect: str, legacy: bool = False) -> SourceDB:
        if dialect == "sqlite":
            path = tmp_path / f"webui-{uuid.uuid4().hex[:6]}.db"
            conn = sqlite3.connect(path)
            sample.write(conn, data, legacy=legacy)
            conn.close()
            return SourceDB("sqlite", f"sqlite:///{path}", path)
        admin = request.getfixturevalue("pg_url")
        url = _new_pg_database(admin)
        import psycopg

        with psycopg.connect(url) as conn:
            sample.write(conn, data, paramstyle="format", legacy=legacy)
        return SourceDB("postgres", url)

    return make


def _new_litellm_database(admin_url: str, template: str) -> str:
    import psycopg

    name = "litellm_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def litellm_templates(pg_url):
    """Template databases holding LiteLLM's schema: the current one and one from before
    the deleted-keys tables (created once; each test copies one)."""
    import psycopg

    from tests import litellm_source

    names = {"current": "litellm_tpl_" + uuid.uuid4().hex[:6],
             "2025-11": "litellm_tpl_old_" + uuid.uuid4().hex[:6]}
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    for version, name in names.items():
        url = pg_url.rsplit("/", 1)[0] + "/" + name
        with psycopg.connect(url, autocommit=True) as conn:
            litellm_source.apply_migrations(
                conn, before=None if version == "current"
                else litellm_source.DELETED_TABLES_MIGRATION)
    return names


@pytest.fixture
def make_litellm(pg_url, litellm_templates):
    """make_litellm(data, version='current') -> SourceDB: a LiteLLM database holding data."""

    def make(data, version: str = "current") -> SourceDB:
        import psycopg

        from tests import litellm_source

        url = _new_litellm_database(pg_url, litellm_templates[version])
        with psycopg.connect(url) as conn:
            litellm_source.write(conn, data)
        return SourceDB("postgres", url)

    return make


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """`warehouse demo`'s folder: the sample Open WebUI database, config, prices and the
    built warehouse."""
    from tests.test_reports import invoke

    folder = tmp_path_factory.mktemp("demo")
    out = invoke("demo", "--dir", str(folder))
    assert "warehouse report summary" in out and "warehouse report models" in out
    return folder
