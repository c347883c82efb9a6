"""Incremental ingest: idempotent re-runs, new and edited rows, deleted chats kept."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest

from tests import expected
from tests.test_reports import invoke, report
from warehouse import sample


def counts(db) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw_openwebui'"
        ).fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM raw_openwebui."{t}"').fetchone()[0]
                for t in tables}
    finally:
        con.close()


def small() -> sample.Dataset:
    return sample.generate(seed=3, users=6, days=10, chats_per_user=4)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_incremental_ingest_picks_up_changes_and_keeps_deleted_chats(
        make_source, tmp_path, dialect):
    data = small()
    src = make_source(data, dialect)
    db = tmp_path / "usage.duckdb"
    ingest = ("--db", str(db), "ingest", "--url", src.url, "--name", "campus")

    invoke(*ingest)
    first = counts(db)
    again = invoke(*ingest)
    assert counts(db) == first  # idempotent
    # Rows read again unchanged (the overlap, tables copied whole) are no change: they
    # keep their _ingested_at, so an incremental build sees nothing to redo.
    for line in again.splitlines()[:-1]:
        assert line.endswith(" 0 new, 0 changed, 0 gone from source"), line

    # New messages in an existing chat, one edited message, one deleted chat.
    chat, victim = data.chats[0], data.chats[1]
    t = max(c.updated_at for c in data.chats) + 3600  # written after the last ingest
    new = [sample.Message("n1q", "user", "one more question", t),
           sample.Message("n1a", "assistant", "one more answer", t + 5, model_id="gpt-4o",
                          usage={"input_tokens": 111, "output_tokens": 222}, parent_id="n1q")]
    conn = src.connect()
    sample.insert_messages(conn.cursor(), src.ph, [(chat, m) for m in new])
    conn.commit()
    conn.close()
    chat.messages += new
    edited = chat.messages[1]
    edited.usage = {"input_tokens": 1000, "output_tokens": 2000}
    src.execute("UPDATE chat_message SET usage = ?, updated_at = ? WHERE id = ?",
                (json.dumps(edited.usage), t + 10, f"{chat.id}-{edited.id}"))
    src.execute("UPDATE chat SET updated_at = ? WHERE id = ?", (t + 10, chat.id))
    src.execute("DELETE FROM chat_message WHERE chat_id = ?", (victim.id,))
    src.execute("DELETE FROM chat WHERE id = ?", (victim.id,))

    out = invoke(*ingest)
    line = [x for x in out.splitlines() if x.startswith("campus.chat_message:")][0]
    # 2 new rows and the edited one, plus rows inside the overlap window, never all rows
    assert line.startswith("campus.chat_message: incremental,") and \
        ", 2 new, 1 changed," in line
    assert int(line.split(", ")[1].split()[0]) < first["chat_message"] // 2
    assert line.endswith(f"{len(victim.messages):,} gone from source")
    after = counts(db)
    assert after["chat_message"] == first["chat_message"] + 2
    assert after["chat"] == first["chat"]  # the deleted chat is kept

    invoke("--db", str(db), "build")
    pairs = expected.rows(data)  # the deleted chat still counts by default
    assert report(db, "summary")[0] == expected.summary(pairs)
    kept = [(c, m) for c, m in pairs if c.id != victim.id]
    assert report(db, "summary", "--exclude-deleted")[0] == expected.summary(kept)
    chats = report(db, "chats", "--limit", "1000")
    assert [r["deleted_in_source"] for r in chats if r["chat_id"] == victim.id] == [True]

    # A full refresh recopies everything and still keeps the deleted chat.
    invoke(*ingest, "--full-refresh")
    assert counts(db) == after


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_row_written_late_with_an_old_timestamp_is_still_copied(make_source, tmp_path,
                                                                  dialect):
    """A message committed after the ingest that read past its time (clock skew, an
    import, a slow transaction) is dated before the watermark's overlap; the cursor
    cannot see it, the row count can."""
    data = small()
    src = make_source(data, dialect)
    db = tmp_path / "usage.duckdb"
    ingest = ("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    invoke(*ingest)
    chat = data.chats[3]
    old = min(m.created_at for c in data.chats for m in c.messages) + 60  # days ago
    late = sample.Message("late-a", "assistant", "written late", old, model_id="gpt-4o",
                          usage={"input_tokens": 70, "output_tokens": 30})
    conn = src.connect()
    sample.insert_messages(conn.cursor(), src.ph, [(chat, late)])
    conn.commit()
    conn.close()
    out = invoke(*ingest)
    line = [x for x in out.splitlines() if x.startswith("campus.chat_message:")][0]
    assert ", 1 new," in line and line.endswith(" 0 gone from source"), line
    chat.messages.append(late)
    invoke("--db", str(db), "build")
    assert report(db, "summary")[0] == expected.summary(expected.rows(data))
    # and the next run finds the counts equal again: no key scan, nothing new
    again = [x for x in invoke(*ingest).splitlines() if x.startswith("campus.chat_message:")]
    assert again[0].endswith(" 0 new, 0 changed, 0 gone from source"), again


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_legacy_database_messages_come_from_chat_json(make_source, tmp_path, dialect):
    data = small()
    src = make_source(data, dialect, legacy=True)
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url)
    invoke("--db", str(db), "build")
    pairs = expected.rows(data)
    assert report(db, "summary")[0] == expected.summary(pairs)
    got = {r.pop("user_id"): r for r in report(db, "users", "--limit", "100")}
    assert got == expected.users(pairs, data)
    # Membership from group.user_ids (no group_member table in these versions).
    students = expected.rows(data, group="Students")
    assert report(db, "summary", "--group", "Students")[0] == expected.summary(students)


def test_out_of_range_timestamps_and_bad_usage_are_counted(make_source, tmp_path):
    data = small()
    chat = data.chats[0]
    src = make_source(data, "sqlite")
    src.execute("UPDATE chat_message SET created_at = ? WHERE id = ?",
                (99_999_999_999_999_999, f"{chat.id}-{chat.messages[1].id}"))
    src.execute("UPDATE chat_message SET usage = ? WHERE id = ?",
                ('{"input_tokens": "lots", "output_tokens": -5}',
                 f"{chat.id}-{chat.messages[1].id}"))
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url)
    invoke("--db", str(db), "build")
    got = report(db, "summary")[0]
    assert got["total_messages"] == len(expected.rows(data))
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT occurred_at_estimated, input_tokens, output_tokens, "
                      "occurred_at = (SELECT created_at FROM core.chats WHERE chat_id = ?) "
                      "FROM core.usage_events WHERE message_id = ?",
                      [chat.id, f"{chat.id}-{chat.messages[1].id}"]).fetchone()
    con.close()
    assert row == (True, None, None, True)  # dated by its chat, tokens unusable


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_usage_written_to_an_old_message_arrives_by_the_window_its_chat_or_the_reconciliation(
        make_source, tmp_path, dialect):
    """chat_message is read by its indexed created_at, re-reading a day before the newest
    message copied, plus the messages of chats written since (Open WebUI writes a chat
    with each of its messages); a row changed behind the app's back waits for the weekly
    whole read."""
    data = small()
    messages = sorted((m.created_at, f"{c.id}-{m.id}", m, c) for c in data.chats
                      for m in c.messages if m.role == "assistant")
    newest = messages[-1][0]
    inside = next(x for x in reversed(messages) if newest - 86_400 < x[0] < newest - 3600)
    old = [x for x in messages if x[0] < newest - 5 * 86_400]
    through_app, behind = old[0], next(x for x in old if x[3].id != old[0][3].id)
    src = make_source(data, dialect)
    db = tmp_path / "usage.duckdb"
    ingest = ("--db", str(db), "ingest", "--url", src.url, "--name", "campus", "--quiet")
    invoke(*ingest)
    invoke("--db", str(db), "build", "--quiet")
    before = report(db, "summary")[0]["output_tokens"]

    def set_usage(message, tokens: int, chat_too: bool = False) -> int:
        """The message's new output tokens less its old ones."""
        src.execute("UPDATE chat_message SET usage = ?, updated_at = ? WHERE id = ?",
                    (json.dumps({"input_tokens": 1, "output_tokens": tokens}), newest + 60,
                     message[1]))
        if chat_too:
            src.execute("UPDATE chat SET updated_at = ? WHERE id = ?", (newest + 60,
                                                                        message[3].id))
        usage = message[2].usage if isinstance(message[2].usage, dict) else {}
        return tokens - (usage.get("output_tokens", usage.get("completion_tokens", 0)) or 0)

    next_run = set_usage(inside, 70_001) + set_usage(through_app, 80_001, chat_too=True)
    later = set_usage(behind, 90_001)
    invoke(*ingest)
    invoke("--db", str(db), "build", "--quiet")
    assert report(db, "summary")[0]["output_tokens"] == before + next_run
    # a week later (the last whole read backdated), the run reads the table whole
    con = duckdb.connect(str(db))
    con.execute("UPDATE _warehouse.ingest_runs SET finished_at = finished_at - INTERVAL 8 DAY")
    con.close()
    invoke(*ingest)
    invoke("--db", str(db), "build", "--quiet")
    assert report(db, "summary")[0]["output_tokens"] == before + next_run + later


def test_a_first_copy_streams_each_table_through_one_insert(make_source, tmp_path,
                                                           monkeypatch):
    """Regression: a first copy of a rollback-journal source inserted batch by batch;
    DuckDB writes a row group to the file as it fills only within one INSERT, so every row
    of long text stayed in the run's memory and temporary files until the commit ("full"
    mode at 6M events ran out of memory). Each table now streams through one INSERT, and
    the copy is the same."""
    import pyarrow

    from warehouse.ingest import short_reads

    data = small()
    src = make_source(data, "sqlite")
    assert short_reads.in_rollback_mode(src.path)
    monkeypatch.setattr(short_reads, "FIRST_ROWS", 3)  # many ranges per table
    monkeypatch.setattr(short_reads, "MAX_ROWS", 5)
    inserts, run_over = [], short_reads._run_over

    def spied(con, sql, rows):
        if sql.startswith("INSERT INTO raw_"):
            inserts.append((sql.split()[2], type(rows)))
        return run_over(con, sql, rows)

    monkeypatch.setattr(short_reads, "_run_over", spied)
    db = tmp_path / "usage.duckdb"
    (tmp_path / "w.toml").write_text(f'[warehouse]\ndb = "{db}"\n[sources.campus]\n'
                                     f'url = "{src.url}"\ncontent = "full"\n')
    invoke("--config", str(tmp_path / "w.toml"), "ingest", "--quiet")
    tables = [table for table, _ in inserts]
    assert 'raw_openwebui."chat_message"' in tables and len(tables) == len(set(tables))
    assert {kind for _, kind in inserts} == {pyarrow.RecordBatchReader}
    con = duckdb.connect(str(db), read_only=True)
    stored = con.execute("SELECT count(*), sum(length(content)) FROM "
                         "raw_openwebui.chat_message").fetchone()
    con.close()
    messages = [m for c in data.chats for m in c.messages]
    assert stored == (len(messages), sum(len(json.dumps(m.content)) for m in messages))


def test_a_first_copy_reads_the_next_table_ahead_and_copies_the_same(
        make_source, tmp_path, monkeypatch):
    """While chat_message is copied, chat is read on a reader of its own (its overflow
    pages wait on the disk while the messages keep the CPU busy); its copy takes those
    rows, and every raw table equals a copy made without reading ahead. Not in "full"
    mode, where it saved nothing and cost 350 MB of peak RSS at 6M events."""
    from warehouse.ingest import short_reads

    src = make_source(small(), "sqlite")
    assert short_reads.in_rollback_mode(src.path)
    monkeypatch.setattr(short_reads, "FIRST_ROWS", 3)  # many ranges per table
    monkeypatch.setattr(short_reads, "MAX_ROWS", 5)
    monkeypatch.setattr(short_reads, "READ_AHEAD_BYTES", 1)  # reading ahead waits too
    taken, chunks = [], short_reads.ReadAhead.chunks

    def spied(self):
        taken.append(self.key[1])
        return chunks(self)

    monkeypatch.setattr(short_reads.ReadAhead, "chunks", spied)
    ahead = tmp_path / "ahead.duckdb"
    invoke("--db", str(ahead), "ingest", "--url", src.url, "--name", "campus", "--quiet")
    assert "chat" in taken and "chat_message" not in taken  # the first table is not
    taken.clear()  # "full" streams the text of every message: nothing read beside it
    invoke("--db", str(tmp_path / "full.duckdb"), "ingest", "--url", src.url, "--name",
           "campus", "--content", "full", "--quiet")
    assert taken == []
    monkeypatch.setattr(short_reads.ShortReads, "read_ahead", lambda self, *a: None)
    plain = tmp_path / "plain.duckdb"
    invoke("--db", str(plain), "ingest", "--url", src.url, "--name", "campus", "--quiet")
    con = duckdb.connect(str(ahead), read_only=True)
    con.execute(f"ATTACH '{plain}' AS plain (READ_ONLY)")
    tables = [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'ahead' "
        "AND schema_name = 'raw_openwebui'").fetchall()]
    assert "chat" in tables
    for name in tables:
        described = con.execute(f'SELECT * FROM raw_openwebui."{name}" LIMIT 0').description
        cols = ", ".join(f'"{d[0]}"' for d in described if d[0] != "_ingested_at")
        for one, other in (("ahead", "plain"), ("plain", "ahead")):
            assert con.execute(
                f'SELECT count(*) FROM (SELECT {cols} FROM {one}.raw_openwebui."{name}" '
                f'EXCEPT ALL SELECT {cols} FROM {other}.raw_openwebui."{name}")'
            ).fetchone() == (0,), name
    con.close()


def test_a_table_read_ahead_that_cannot_be_read_is_read_again_tolerantly(
        make_source, tmp_path):
    """A value the read ahead of chat cannot read (a created_at that is no number, a
    title that is no UTF-8) fails chat's copy as a read of its own would: the run starts
    again reading chat tolerantly, and every chat is copied."""
    import sqlite3

    data = small()
    src = make_source(data, "sqlite")
    conn = sqlite3.connect(src.path)
    with conn:
        conn.execute("UPDATE chat SET created_at = 'not a number', "
                     "title = CAST(x'ff6869' AS TEXT) WHERE id = ?", [data.chats[1].id])
    conn.close()
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus", "--quiet")
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT table_name FROM _warehouse.tolerant_reads").fetchall() == [
        ("chat",)]
    assert con.execute("SELECT count(*) FROM raw_openwebui.chat").fetchone() == (
        len(data.chats),)
    con.close()


def test_a_run_holds_no_batch_it_has_stored(make_source, tmp_path, monkeypatch):
    """Regression: rows read in short transactions were handed to DuckDB with register(),
    whose view (and the Arrow data under it) stayed in the run's transaction until the
    commit: a first ingest of 7.4M messages held 1.2 GB of batches already inserted."""
    import gc
    import weakref

    from warehouse.ingest import engine, short_reads

    src = make_source(small(), "sqlite")  # rollback-journal mode: read in short reads
    assert short_reads.in_rollback_mode(src.path)
    batches, alive_at_end = [], []
    fetch, log_runs = short_reads.ShortReads._fetch, engine._log_runs

    def kept_fetch(self, *args, **kwargs):
        rows = fetch(self, *args, **kwargs)
        batches.append(weakref.ref(rows))
        return rows

    def checked_log_runs(*args, **kwargs):  # inside the run's transaction, tables copied
        gc.collect()
        alive_at_end.append(sum(ref() is not None for ref in batches))
        return log_runs(*args, **kwargs)

    monkeypatch.setattr(short_reads.ShortReads, "_fetch", kept_fetch)
    monkeypatch.setattr(engine, "_log_runs", checked_log_runs)
    invoke("--db", str(tmp_path / "usage.duckdb"), "ingest", "--url", src.url, "--name",
           "campus", "--quiet")
    assert len(batches) > 5 and alive_at_end == [0]


_FREED_BLOCKS = """
import ctypes, sys
sys.path.insert(0, {root!r})
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def own_mapping(size):  # glibc marks a block it mapped apart (freed: unmapped at once)
    block = libc.malloc(size)
    mapped = bool(ctypes.c_size_t.from_address(block - 8).value & 2)
    libc.free(block)
    return mapped
def after_a_big_free():  # a freed 16 MB read raises glibc's threshold by default
    libc.free(libc.malloc(16 << 20))
    return own_mapping(4 << 20)
print(after_a_big_free())
from warehouse import db
db.connect({path!r}).close()
print(after_a_big_free())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_job_gives_the_memory_of_freed_reads_back(tmp_path):
    """Regression: a "full" content first copy of 1M realistic events peaked at 1.8 GB of
    RSS though DuckDB held under 0.8 GB: once a big block had been freed, glibc served
    the Arrow reads (MBs each, freed on another thread) from its heap and kept them when
    freed. A job fixes the threshold (warehouse/allocator.py): a read of 1 MB or more is
    mapped apart and leaves the process when freed."""
    import subprocess

    script = _FREED_BLOCKS.format(root=str(Path(__file__).parent.parent),
                                  path=str(tmp_path / "w.duckdb"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["False", "True"]  # glibc alone; in a job
