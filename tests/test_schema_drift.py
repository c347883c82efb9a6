"""Schemas other than the ones the fixtures usually hold: the oldest LiteLLM schema we
support ingests, the one before it is refused naming the missing column and the versions
supported; an Open WebUI newer than we know works when it only adds, and is refused the
same way when it drops a column we read. (Open WebUI before chat_message and group_member:
tests/test_ingest.py; LiteLLM before its deleted-keys tables: tests/test_litellm.py.)"""

from __future__ import annotations

import uuid

from tests import expected
from tests.test_errors import fail, snapshot
from tests.test_reports import invoke, report
from warehouse import sample

OLDEST_LITELLM = "20250327180120_add_api_requests_to_daily_user_table"
NEXT_LITELLM = "20250329084805_new_cron_job_table"


def litellm_database(pg_url: str, before: str) -> str:
    """A LiteLLM database migrated up to (not including) the `before` migration."""
    import psycopg

    from tests import litellm_source

    name = "litellm_old_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(url, autocommit=True) as conn:
        litellm_source.apply_migrations(conn, before=before)
        conn.execute(
            'INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, '
            'total_tokens, prompt_tokens, completion_tokens, "startTime", "endTime", '
            'model, "user", metadata, cache_hit, cache_key, request_tags) VALUES '
            "('req-1', 'acompletion', 'hashed-key', 0.25, 30, 10, 20, "
            "'2026-10-01 10:00:00', '2026-10-01 10:00:02', 'gpt-4o', 'u1', '{}', 'False', "
            "'', '[]')")
    return url


def test_the_oldest_supported_litellm_schema_ingests(pg_url, tmp_path):
    url = litellm_database(pg_url, before=NEXT_LITELLM)
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", url, "--kind", "litellm", "--quiet")
    invoke("--db", str(db), "build", "--quiet")
    got = report(db, "summary")[0]
    assert (got["total_messages"], got["input_tokens"], got["output_tokens"]) == (1, 10, 20)


def test_a_litellm_schema_older_than_supported_is_named_with_the_supported_range(
        pg_url, tmp_path):
    url = litellm_database(pg_url, before=OLDEST_LITELLM)
    db = tmp_path / "usage.duckdb"
    message = fail("--db", str(db), "ingest", "--url", url, "--kind", "litellm")
    assert "table LiteLLM_DailyUserSpend has no column 'api_requests'" in message
    assert ("supported: LiteLLM proxy schemas from migration 20250327180120 (March 2025) "
            "to litellm-proxy-extras 0.4.110") in message
    assert not db.exists()


def test_a_newer_open_webui_that_adds_tables_and_columns_is_read(make_source, tmp_path):
    data = sample.generate(seed=9, users=3, days=3, chats_per_user=2)
    src = make_source(data, "sqlite")
    src.execute("ALTER TABLE chat_message ADD COLUMN reactions JSON")
    src.execute("ALTER TABLE chat ADD COLUMN pinned_by TEXT")
    src.execute("CREATE TABLE chat_message_reaction (id TEXT PRIMARY KEY, message_id TEXT)")
    src.execute("UPDATE chat_message SET reactions = '[\"+1\"]'")
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--quiet")
    invoke("--db", str(db), "build", "--quiet")
    got = report(db, "summary")[0]
    want = expected.summary(expected.rows(data))
    assert {k: got[k] for k in want} == want


def test_a_newer_open_webui_without_a_column_we_read_is_refused_by_name(make_source,
                                                                          tmp_path):
    data = sample.generate(seed=9, users=3, days=3, chats_per_user=2)
    src = make_source(data, "sqlite")
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--quiet")
    before = snapshot(db)
    src.execute("ALTER TABLE chat_message RENAME COLUMN usage TO usage_v2")
    message = fail("--db", str(db), "ingest", "--url", src.url)
    assert "table chat_message has no column 'usage'" in message
    assert "supported: Open WebUI 0.5 to 0.12" in message
    assert snapshot(db) == before
