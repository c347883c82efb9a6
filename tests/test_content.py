"""Usage, not conversations: what each `content` mode keeps of the users' words.

A sentence planted in a long answer (and in every other text column Open WebUI has: the
answer's output, its files, its error, a later question, a feedback comment and the
feedback's chat snapshot) must be in no row of any table or view, and in no exported
file, unless the mode is "full". Every row is cast to text and searched: DuckDB and
Parquet compress strings, so a search of a file's bytes alone would prove nothing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from tests.test_reports import invoke, report
from warehouse import sample
from warehouse.cli import cli

SECRET = "The violet submarine hums at midnight"
OPENING = ("Please review the chapter of my thesis on glacier retreat in the Alps, "
           "especially the part on the measurements from 1990 onwards and the error bars "
           "we drew from the satellite data that the institute published last spring.")
TAIL = "ZEBRA-TAIL-MARKER"  # after the first 200 characters of the first question


def planted(make_source, dialect: str, legacy: bool = False):
    """A small install whose first chat opens with a 250-character question and whose
    texts hold SECRET everywhere Open WebUI keeps text."""
    data = sample.generate(seed=3, users=4, days=10, chats_per_user=3)
    chat = data.chats[0]
    chat.messages[0].content = (OPENING * 2)[:200] + TAIL + " and more words."
    answer = next(m for m in chat.messages if m.role == "assistant")
    answer.content = "Here is my review. " * 60 + SECRET + ". " + "More detail. " * 40
    for m in data.chats[1].messages[2:3]:
        m.content = f"A follow-up: {SECRET}?"
    data.feedback[0].chat_id = chat.id
    source = make_source(data, dialect, legacy=legacy)
    j = "?" if dialect == "sqlite" else "%s::json"
    p = "?" if dialect == "sqlite" else "%s"
    statements = [
        (f"UPDATE feedback SET data = {j}, snapshot = {j} WHERE id = {p}",
         (json.dumps({"rating": 1, "model_id": "gpt-4o", "comment": SECRET,
                      "reason": SECRET}), json.dumps({"chat": {"title": SECRET}}),
          data.feedback[0].id)),
    ]
    if not legacy:
        row_id = f"{chat.id}-{answer.id}"
        statements.append((
            f"UPDATE chat_message SET output = {j}, files = {j}, sources = {j}, error = {j} "
            f"WHERE id = {p}",
            (json.dumps([{"type": "text", "text": SECRET}]),
             json.dumps([{"name": SECRET + ".pdf"}, {"name": "b.pdf"}]),
             json.dumps([{"source": {"name": SECRET}}]),
             json.dumps({"content": "upstream said: " + SECRET}), row_id)))
    _execute(source, statements)
    return source, chat, answer


def _execute(source, statements) -> None:
    if source.dialect == "sqlite":
        conn = sqlite3.connect(source.path)
    else:
        import psycopg

        conn = psycopg.connect(source.url)
    with conn:
        for sql, params in statements:
            conn.execute(sql, params)
    conn.close()


def rows_holding(db: Path, needle: str) -> dict[str, int]:
    """Every table and view of the warehouse with rows whose text holds `needle`."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        relations = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
        found = {}
        for schema, name in relations:
            n = con.execute(f'SELECT count(*) FROM "{schema}"."{name}" AS t '
                            "WHERE t::VARCHAR LIKE ?", [f"%{needle}%"]).fetchone()[0]
            if n:
                found[f"{schema}.{name}"] = n
        return found
    finally:
        con.close()


def files_holding(folder: Path, needle: str) -> list[str]:
    """Every exported file holding `needle`: Parquet row by row, other files as text."""
    con = duckdb.connect()
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            hit = con.execute("SELECT count(*) FROM read_parquet(?) AS t WHERE t::VARCHAR "
                              "LIKE ?", [str(path), f"%{needle}%"]).fetchone()[0]
        else:
            hit = needle.encode() in path.read_bytes()
        if hit:
            found.append(str(path.relative_to(folder)))
    return found


def first_messages(db: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {c: (t, f) for c, t, f in con.execute(
            "SELECT chat_id, title, first_message FROM core.chats").fetchall()}
    finally:
        con.close()


def load(source, folder: Path, mode: str) -> Path:
    db = folder / f"usage-{mode}.duckdb"
    invoke("--db", str(db), "ingest", "--url", source.url, "--name", "campus", "--content",
           mode, "--quiet")
    invoke("--db", str(db), "build", "--quiet")
    invoke("--db", str(db), "export", "--output", str(folder / f"export-{mode}"), "--quiet")
    return db


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_each_mode_keeps_only_its_text(make_source, tmp_path, dialect):
    source, chat, _ = planted(make_source, dialect)
    opening = (OPENING * 2)[:200]
    figures = {}
    for mode in ("none", "preview", "full"):
        db = load(source, tmp_path, mode)
        held = rows_holding(db, SECRET)
        exported = files_holding(tmp_path / f"export-{mode}", SECRET)
        title, first = first_messages(db)[chat.id]
        if mode == "full":
            assert "raw_openwebui.chat_message" in held and exported
        else:
            assert held == {} and exported == [], mode
            assert rows_holding(db, TAIL) == {}
            assert files_holding(tmp_path / f"export-{mode}", TAIL) == []
        if mode == "none":
            assert (title, first) == (None, None)
            assert all(f is None and t is None for t, f in first_messages(db).values())
        else:  # exactly what the chats report showed before modes existed
            assert (title, first) == (chat.title, opening)
        figures[mode] = (report(db, "summary"), report(db, "models"),
                         report(db, "chats", "--model", chat.messages[1].model_id))
    # the figures do not depend on the mode; only the chats' titles and previews do
    assert figures["none"][:2] == figures["preview"][:2] == figures["full"][:2]
    assert figures["preview"][2] == figures["full"][2]
    assert [r["chat_id"] for r in figures["none"][2]] == [
        r["chat_id"] for r in figures["full"][2]]


def test_legacy_chats_become_message_rows_without_their_json(make_source, tmp_path):
    """Open WebUI < 0.8 keeps messages only in chat.chat: the ingest turns them into
    rows, so the JSON (every word of every chat) is kept in "full" mode only."""
    source, chat, _ = planted(make_source, "sqlite", legacy=True)
    modern, _, _ = planted(make_source, "sqlite")
    db = load(source, tmp_path, "preview")
    assert rows_holding(db, SECRET) == {}
    assert first_messages(db)[chat.id] == (chat.title, (OPENING * 2)[:200])
    (tmp_path / "modern").mkdir()
    want = load(modern, tmp_path / "modern", "preview")
    assert report(db, "summary") == report(want, "summary")
    assert report(db, "models") == report(want, "models")
    full = load(source, tmp_path, "full")
    assert "raw_openwebui.chat" in rows_holding(full, SECRET)
    assert report(full, "summary") == report(db, "summary")


def test_a_warehouse_that_kept_everything_shrinks_and_keeps_its_history(
        make_source, tmp_path):
    """Upgrading (or switching to a mode that keeps less) drops the stored text, the
    history the source has deleted included, rewrites the file and every export."""
    source, chat, _ = planted(make_source, "sqlite")
    db = tmp_path / "usage.duckdb"
    (tmp_path / "warehouse.toml").write_text(
        f'[warehouse]\ndb = "{db}"\n[sources.campus]\nurl = "{source.url}"\n'
        'content = "full"\n')
    config = ["--config", str(tmp_path / "warehouse.toml")]
    invoke(*config, "run", "--quiet")
    invoke(*config, "export", "--output", str(tmp_path / "export"), "--quiet")
    assert rows_holding(db, SECRET) and files_holding(tmp_path / "export", SECRET)
    before = (report(db, "summary"), report(db, "models"))
    conn = sqlite3.connect(source.path)  # the chat with the secret is deleted upstream
    with conn:
        conn.execute("DELETE FROM chat_message WHERE chat_id = ?", [chat.id])
        conn.execute("DELETE FROM chat WHERE id = ?", [chat.id])
    conn.close()
    (tmp_path / "warehouse.toml").write_text(
        f'[warehouse]\ndb = "{db}"\n[sources.campus]\nurl = "{source.url}"\n')
    invoke(*config, "run", "--quiet")
    assert rows_holding(db, SECRET) == {}
    assert files_holding(tmp_path / "export", SECRET) == []
    assert SECRET.encode() not in db.read_bytes()  # rewritten: no freed page keeps it
    assert [p.name for p in tmp_path.glob("usage.duckdb.snapshot-*")] == [
        p.name for p in tmp_path.glob("usage.duckdb.snapshot-*")
        if SECRET.encode() not in p.read_bytes()]
    # the deleted chat is still there, with its preview, and the figures are the same
    assert first_messages(db)[chat.id] == (chat.title, (OPENING * 2)[:200])
    assert (report(db, "summary"), report(db, "models")) == before


def test_an_unknown_mode_is_refused_with_the_known_ones(tmp_path):
    (tmp_path / "warehouse.toml").write_text(
        '[sources.campus]\nurl = "sqlite:///webui.db"\ncontent = "previews"\n')
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "warehouse.toml"),
                                      "status"])
    assert result.exit_code != 0
    assert "content" in result.output and '"preview"' in result.output


EDITED = "EDITED-FIRST-QUESTION-MARKER"


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_first_copy_keeps_the_preview_of_each_chats_first_question_only(
        make_source, tmp_path, journal, monkeypatch):
    """A first copy cuts the previews of every root user message in its own pass
    (content.with_first_previews), then keeps each chat's first one: an edited first
    question (a later root) leaves no row holding it and no page of the file (the job
    rewrites it); a first question that is no root, or is a list of parts, still gets its
    preview, and only the one that is no root is looked up by key; the previews equal
    those "full" mode takes from the stored text."""
    from warehouse.ingest.sources import AttachedSource

    looked_up, by_key = [], AttachedSource.rows_by_key

    def spied(self, con, table, select, column, values, *args, **kwargs):
        looked_up.extend(values)
        return by_key(self, con, table, select, column, values, *args, **kwargs)

    monkeypatch.setattr(AttachedSource, "rows_by_key", spied)
    source, chat, _ = planted(make_source, "sqlite")
    data_chats = sample.generate(seed=3, users=4, days=10, chats_per_user=3).chats
    listed, unrooted = data_chats[1], data_chats[2]
    parts = "Compare these two tables for me, please. " * 8
    first_of = {c.id: f"{c.id}-{c.messages[0].id}" for c in (chat, listed, unrooted)}
    conn = sqlite3.connect(source.path)
    with conn:
        conn.execute(f"PRAGMA journal_mode = {journal}")
        conn.execute(
            "INSERT INTO chat_message (id, chat_id, user_id, role, parent_id, content, "
            "done, created_at, updated_at) SELECT id || '-edit', chat_id, user_id, role, "
            "NULL, ?, done, created_at + 5, created_at + 5 FROM chat_message WHERE id = ?",
            [json.dumps(EDITED + " " + OPENING), first_of[chat.id]])
        conn.execute("UPDATE chat_message SET content = ? WHERE id = ?",
                     [json.dumps([{"type": "text", "text": parts},
                                  {"type": "image_url", "image_url": {"url": "x"}}]),
                      first_of[listed.id]])
        conn.execute("UPDATE chat_message SET parent_id = 'a-system-message' WHERE id = ?",
                     [first_of[unrooted.id]])
    conn.close()
    previews = {}
    for mode in ("preview", "full"):
        (tmp_path / mode).mkdir()
        previews[mode] = first_messages(load(source, tmp_path / mode, mode))
        if mode == "preview":
            assert looked_up == [first_of[unrooted.id]]
    db = tmp_path / "preview" / "usage-preview.duckdb"
    assert previews["preview"] == previews["full"]
    assert previews["preview"][chat.id] == (chat.title, (OPENING * 2)[:200])
    assert previews["preview"][listed.id][1] == parts[:200]
    assert previews["preview"][unrooted.id][1] == unrooted.messages[0].content[:200]
    assert rows_holding(db, EDITED) == {}
    assert EDITED.encode() not in db.read_bytes()  # rewritten: no freed page keeps it
    assert rows_holding(tmp_path / "full" / "usage-full.duckdb", EDITED)
