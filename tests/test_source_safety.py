"""The sources are production databases: a run never changes them, and a PostgreSQL role
that may only SELECT is enough to ingest from one."""

from __future__ import annotations

import hashlib
import uuid

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
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    with psycopg.connect(src.url, autocommit=True) as conn:
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    host = src.url.split("@", 1)[1]
    url = f"postgresql://{role}:{password}@{host}"
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
