"""A source written to while the ingest reads it: every run copies one consistent
snapshot of it (all tables as of one moment), in SQLite (WAL) and PostgreSQL; a SQLite
source in rollback-journal mode (Open WebUI's default) is read in short transactions, so
its writers never wait long and nothing is lost.

A writer process adds conversations (a chat and its two messages in one transaction) as
fast as it can while runs copy the source; after each run the warehouse must hold, for
the writer's chats, exactly two messages per chat. Reading the tables in separate
transactions breaks this (a conversation committed between the reads of chat_message
and chat lands in one table only).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import duckdb
import pytest

from tests.test_reports import invoke
from warehouse import sample

FILLER_MESSAGES = 150_000  # so one table takes a while to read

WRITER = textwrap.dedent("""
    import sys, time
    dialect, target = sys.argv[1], sys.argv[2]
    if dialect == "sqlite":
        import sqlite3
        conn = sqlite3.connect(target, isolation_level=None, timeout=30)
        ph = "?"
    else:
        import psycopg
        conn = psycopg.connect(target, autocommit=True)
        ph = "%s"
    n = 0
    while True:
        n += 1
        now = int(time.time())
        usage = '{"prompt_tokens": 3, "completion_tokens": 5}'
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO chat (id, user_id, title, chat, created_at, updated_at) "
                     f"VALUES ({ph}, 'u-writer', 't', '{{}}', {ph}, {ph})",
                     (f"w-{n}", now, now))
        for role, model in (("user", None), ("assistant", "gpt-w")):
            conn.execute(f"INSERT INTO chat_message (id, chat_id, user_id, role, model_id, "
                         f"usage, created_at, updated_at) "
                         f"VALUES ({ph}, {ph}, 'u-writer', {ph}, {ph}, {ph}, {ph}, {ph})",
                         (f"w-{n}-{role}", f"w-{n}", role, model,
                          usage if model else None, now, now))
        conn.execute("COMMIT")
        if n == 1:
            print("writing", flush=True)
""")


def add_filler(src) -> None:
    """Many old messages in one chat, written by the database itself (fast)."""
    conn = src.connect()
    if src.dialect == "sqlite":
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at) "
                     "VALUES ('filler', 'u-writer', 'f', '{}', 1000, 1000)")
        series = ("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
                  f"WHERE i < {FILLER_MESSAGES}) ")
        conn.execute(series + "INSERT INTO chat_message (id, chat_id, user_id, role, "
                     "created_at, updated_at) SELECT 'f-' || i, 'filler', 'u-writer', 'user', "
                     "1000, 1000 FROM s")
    else:
        conn.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at) "
                     "VALUES ('filler', 'u-writer', 'f', '{}', 1000, 1000)")
        conn.execute(f"INSERT INTO chat_message (id, chat_id, user_id, role, created_at, "
                     f"updated_at) SELECT 'f-' || i, 'filler', 'u-writer', 'user', 1000, 1000 "
                     f"FROM generate_series(1, {FILLER_MESSAGES}) i")
    conn.commit()
    conn.close()


def writer_totals(db) -> tuple[int, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        chats = con.execute("SELECT count(*) FROM raw_openwebui.chat "
                            "WHERE id LIKE 'w-%' AND _deleted_at IS NULL").fetchone()[0]
        messages = con.execute("SELECT count(*) FROM raw_openwebui.chat_message "
                               "WHERE chat_id LIKE 'w-%' AND _deleted_at IS NULL").fetchone()[0]
    finally:
        con.close()
    return chats, messages


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_source_written_during_the_ingest_is_copied_as_one_snapshot(
        dialect, make_source, tmp_path):
    src = make_source(sample.generate(seed=8, users=3, days=3, chats_per_user=2), dialect)
    add_filler(src)
    target = str(src.path) if dialect == "sqlite" else src.url
    writer = subprocess.Popen([sys.executable, "-c", WRITER, dialect, target],
                              stdout=subprocess.PIPE, text=True)
    db = tmp_path / "usage.duckdb"
    seen = []
    try:
        assert writer.stdout.readline().strip() == "writing"
        for args in ([], [], ["--full-refresh"], []):
            invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus",
                   "--quiet", *args)
            assert writer.poll() is None, "the writer stopped"
            chats, messages = writer_totals(db)
            seen.append(chats)
            assert messages == 2 * chats, f"run {len(seen)}: {chats} chats, {messages} messages"
    finally:
        writer.kill()
        writer.wait()
    assert seen[-1] > seen[0] > 0  # the writer was writing during the runs


# Open WebUI's pattern in rollback-journal mode: a conversation a commit, with a busy
# timeout; prints its commits and failed writes when its time is up.
PATIENT_WRITER = textwrap.dedent("""
    import json, sqlite3, sys, time
    target, seconds, timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    conn = sqlite3.connect(target, isolation_level=None, timeout=timeout)
    n = failed = 0
    print("writing", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        n += 1
        now = int(time.time())
        try:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at) "
                         "VALUES (?, 'u-writer', 't', '{}', ?, ?)", (f"w-{n}", now, now))
            for role in ("user", "assistant"):
                conn.execute("INSERT INTO chat_message (id, chat_id, user_id, role, usage, "
                             "created_at, updated_at) VALUES (?, ?, 'u-writer', ?, ?, ?, ?)",
                             (f"w-{n}-{role}", f"w-{n}", role,
                              '{"prompt_tokens": 3, "completion_tokens": 5}', now, now))
            conn.execute("COMMIT")
        except sqlite3.OperationalError:
            failed += 1
            conn.execute("ROLLBACK")
        time.sleep(0.02)
    print(json.dumps({"commits": n - failed, "failed": failed}), flush=True)
""")


def test_a_rollback_journal_source_never_holds_its_writers_up(make_source, tmp_path):
    """Reading in one transaction held the writer's commits for the whole run: with a
    quarter-second busy timeout its writes failed. Short reads let every commit through, and
    a run after the writer stops holds exactly what it committed."""
    src = make_source(sample.generate(seed=8, users=3, days=3, chats_per_user=2), "sqlite")
    add_filler(src)
    conn = src.connect()
    conn.execute("PRAGMA journal_mode = DELETE")  # the default, which add_filler changed
    conn.close()
    writer = subprocess.Popen([sys.executable, "-c", PATIENT_WRITER, str(src.path), "8", "0.25"],
                              stdout=subprocess.PIPE, text=True)
    db = tmp_path / "usage.duckdb"
    try:
        assert writer.stdout.readline().strip() == "writing"
        for args in ([], [], ["--full-refresh"], []):
            invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus",
                   "--quiet", *args)
        result = json.loads(writer.stdout.readline())
    finally:
        writer.kill()
        writer.wait()
    assert result["failed"] == 0, result
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus", "--quiet")
    assert writer_totals(db) == (result["commits"], 2 * result["commits"])
    assert result["commits"] > 0
