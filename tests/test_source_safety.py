"""The sources are production databases: a run never changes them, and a PostgreSQL role
that may only SELECT is enough to ingest from one."""

from __future__ import annotations

import hashlib
import uuid

from tests.conftest import reader_url
from tests.test_reports import invoke, report
from warehouse import sample


def files_of(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_sqlite_source_is_byte_for_byte_unchanged(make_source, tmp_path):
    src = make_source(sample.generate(seed=4, users=4, days=6, chats_per_user=3), "sqlite")
    source_dir = src.path.parent / "source"
    source_dir.mkdir()
    moved = source_dir / src.path.name
    src.path.rename(moved)
    before = files_of(source_dir)
    db = tmp_path / "usage.duckdb"
    for _ in range(2):  # the first copy, then an incremental run
        invoke("--db", str(db), "ingest", "--url", f"sqlite:///{moved}", "--name", "campus",
               "--quiet")
    invoke("--db", str(db), "build", "--quiet")
    assert files_of(source_dir) == before  # no byte changed, no journal or WAL left
    assert report(db, "summary")[0]["total_messages"] > 0


def test_a_select_only_postgresql_role_is_enough(make_source, pg_url, tmp_path):
    import psycopg

    data = sample.generate(seed=6, users=4, days=6, chats_per_user=3)
    src = make_source(data, "postgres")
    role, password = f"reader_{uuid.uuid4().hex[:8]}", "Rd-" + uuid.uuid4().hex[:10]
    url = reader_url(pg_url, src.url, role, password)
    with psycopg.connect(url) as conn:  # the role can read, and cannot write
        try:
            conn.execute("DELETE FROM chat_message")
            raise AssertionError("the reader role could delete")
        except psycopg.errors.InsufficientPrivilege:
            conn.rollback()
    db = tmp_path / "usage.duckdb"
    out = invoke("--db", str(db), "ingest", "--url", url, "--name", "campus")
    assert password not in out
    invoke("--db", str(db), "ingest", "--url", url, "--name", "campus", "--quiet")
    invoke("--db", str(db), "build", "--quiet")
    replies = sum(1 for c in data.chats for m in c.messages if m.role == "assistant")
    assert report(db, "summary")[0]["total_messages"] == replies


def test_a_password_never_reaches_output_errors_or_the_warehouse(make_source, pg_url,
                                                                 tmp_path):
    """The password of a source URL, through a good run, a failing run and status:
    not in standard output or error, not in any file the warehouse leaves behind."""
    from click.testing import CliRunner

    from warehouse.cli import cli

    src = make_source(sample.generate(seed=2, users=3, days=4, chats_per_user=2), "postgres")
    password = src.url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert password
    config = tmp_path / "warehouse.toml"
    db = tmp_path / "usage.duckdb"
    config.write_text(f'[warehouse]\ndb = "{db}"\n\n[sources.campus]\nkind = "openwebui"\n'
                      f'url = "{src.url}"\n')
    outputs = []
    for args in (["run"], ["status"], ["report", "summary"]):
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    # a source that refuses the connection: the error names the URL, masked
    bad = src.url.rsplit("/", 1)[0] + "/no_such_database"
    config.write_text(config.read_text().replace(src.url, bad))
    failed = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert failed.exit_code == 1 and "***" in failed.output, failed.output
    outputs.append(failed.output)
    assert not [o for o in outputs if password in o]
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p != config]
    assert db in leftovers
    assert not [p for p in leftovers if password.encode() in p.read_bytes()]
