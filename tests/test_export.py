"""`warehouse export --format parquet`: the raw and core layers as hive-partitioned Parquet
that DuckDB reads back with the same rows; a second export writes only the changed days."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from tests.test_errors import fail
from tests.test_reports import invoke
from tests.test_routing import config, owui_data, proxy_data
from warehouse import sample
from warehouse.cli import cli

DAY = 86400


def warehouse_tables(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE schema_name LIKE 'raw_%' OR schema_name = 'core'").fetchall()]
        return {n: con.execute(f'SELECT count(*) FROM "{n.split(".")[0]}".'
                               f'"{n.split(".")[1]}"').fetchone()[0] for n in names}
    finally:
        con.close()


def parquet_relation(folder: Path, table: str) -> str:
    schema, name = table.split(".")
    path = folder / schema / name
    if (path / "data.parquet").exists():
        return f"read_parquet('{path}/data.parquet')"
    return f"read_parquet('{path}/*/*.parquet', hive_partitioning = true)"


def differences(db: Path, folder: Path, table: str) -> int:
    """Rows in one and not the other (as multisets), columns matched by name."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{db}' AS wh (READ_ONLY)")
        con.execute("SET TimeZone = 'UTC'")
        schema, name = table.split(".")
        columns = ", ".join(f'"{c}"' for c, *_ in con.execute(
            f'DESCRIBE wh."{schema}"."{name}"').fetchall())
        ours = f'SELECT {columns} FROM wh."{schema}"."{name}"'
        theirs = f"SELECT {columns} FROM {parquet_relation(folder, table)}"
        return con.execute(f"SELECT (SELECT count(*) FROM ({ours} EXCEPT ALL {theirs})) "
                           f"+ (SELECT count(*) FROM ({theirs} EXCEPT ALL {ours}))"
                           ).fetchone()[0]
    finally:
        con.close()


def written(folder: Path) -> dict[str, int]:
    """Every Parquet file under the folder and its inode: a rewritten file gets a new one."""
    return {str(p.relative_to(folder)): p.stat().st_ino for p in folder.rglob("*.parquet")}


def day_folder(epoch: int) -> str:
    return duckdb.sql(f"SELECT strftime(to_timestamp({epoch}) AT TIME ZONE 'UTC', "
                      "'day=%Y-%m-%d')").fetchone()[0]


def run_and_export(cfg: str, out: Path) -> dict[str, int]:
    """The nightly pair: ingest and build, then export; the files afterwards."""
    invoke("--config", cfg, "run", "--quiet")
    invoke("--config", cfg, "export", "--output", str(out), "--quiet")
    return written(out)


def add_chat(path: Path, chat: sample.Chat) -> None:
    conn = sqlite3.connect(path)
    cur = conn.cursor()
    cur.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, "
                "meta) VALUES (?, ?, ?, ?, ?, ?, 0, '{}')",
                (chat.id, chat.user_id, chat.title, json.dumps(sample.chat_json(chat)),
                 chat.created_at, chat.updated_at))
    sample.insert_messages(cur, "?", [(chat, m) for m in chat.messages])
    conn.commit()
    conn.close()


@pytest.fixture
def exported(make_source, make_litellm, tmp_path):
    data = owui_data(days=12)
    proxy, _ = proxy_data(data)
    owui = make_source(data, "sqlite")
    litellm = make_litellm(proxy)
    db = config(tmp_path, owui.url, litellm.url, routed=False)
    cfg = str(tmp_path / "plain.toml")
    out = tmp_path / "parquet"
    text = invoke("--config", cfg, "export", "--format", "parquet", "--output", str(out))
    return data, owui, db, cfg, out, text


def test_every_table_reads_back_with_the_same_rows(exported):
    data, _, db, _, out, text = exported
    counts = warehouse_tables(db)
    assert counts["raw_openwebui.chat_message"] == sum(len(c.messages) for c in data.chats)
    assert counts["raw_litellm.LiteLLM_SpendLogs"] > 0 and counts["core.usage_events"] > 0
    for table, rows in counts.items():
        con = duckdb.connect()
        assert con.execute(f"SELECT count(*) FROM {parquet_relation(out, table)}"
                           ).fetchone()[0] == rows, table
        assert differences(db, out, table) == 0, table
    # partitioned by the UTC day of each event, hive style
    days = {p.name for p in (out / "raw_openwebui" / "chat_message").iterdir()}
    message_days = {day_folder(m.created_at) for c in data.chats for m in c.messages}
    assert days == message_days
    # the models' inputs and the bookkeeping go along, so another engine can build the
    # marts and restore can rebuild the warehouse; the build's own state does not
    assert (out / "_warehouse" / "prices" / "data.parquet").exists()
    assert (out / "_warehouse" / "watermarks" / "data.parquet").exists()
    assert not (out / "_warehouse" / "model_state").exists()
    con = duckdb.connect(str(db), read_only=True)
    bookkeeping = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = "
                              "'_warehouse' AND table_name NOT IN ('model_state', "
                              "'build_runs')").fetchone()[0]
    con.close()
    assert f"exported {len(counts) + bookkeeping} tables" in text


def test_a_second_export_writes_only_the_changed_days(exported):
    data, owui, db, cfg, out, _ = exported
    before = written(out)
    last = max(m.created_at for c in data.chats for m in c.messages)
    new_day = (last // DAY + 2) * DAY
    model = next(m.model_id for c in data.chats for m in c.messages if m.model_id)
    add_chat(owui.path, sample.Chat("late-chat", data.users[0].id, "late", [
        sample.Message("q", "user", "hello", new_day + 3600),
        sample.Message("a", "assistant", "hi", new_day + 3700, model_id=model,
                       usage={"prompt_tokens": 11, "completion_tokens": 22},
                       parent_id="q")]))
    after = run_and_export(cfg, out)
    day = day_folder(new_day)
    changed = {p for p in after if after[p] != before.get(p)}
    # of the dated tables only the new day; small tables are whole files, rewritten when
    # any row changed (here the ingest's bookkeeping: runs, watermarks, source tables; and
    # the new chat's key)
    assert changed and all(f"/{day}/" in p for p in changed if "/day=" in p), sorted(changed)
    assert {p for p in changed if "/day=" not in p} == {
        f"_warehouse/{t}/data.parquet"
        for t in ("source_tables", "run_log", "ingest_runs", "watermarks")} | {
        "core/chat_keys/data.parquet"}
    assert {p.split("/")[0] + "." + p.split("/")[1] for p in changed} >= {
        "raw_openwebui.chat", "raw_openwebui.chat_message", "core.usage_events",
        "core.chats", "core.source_responses"}
    for table in warehouse_tables(db):
        assert differences(db, out, table) == 0, table

    # Nothing new: nothing written.
    invoke("--config", cfg, "export", "--output", str(out), "--quiet")
    assert written(out) == after

    # A chat deleted in the source: its day is rewritten (the row is flagged, not lost).
    first = min(data.chats, key=lambda c: c.created_at)
    owui.execute("DELETE FROM chat WHERE id = ?", (first.id,))
    again = run_and_export(cfg, out)
    first_day = day_folder(first.created_at)
    rewritten = {p for p in again if again[p] != after.get(p)}
    assert any(p.startswith("raw_openwebui/chat/") for p in rewritten)
    assert all(f"/{first_day}/" in p for p in rewritten if "/day=" in p), sorted(rewritten)
    for table in warehouse_tables(db):
        assert differences(db, out, table) == 0, table


def test_bad_output_folders_are_refused_in_one_line(exported, tmp_path):
    _, _, _, cfg, out, _ = exported
    runner = CliRunner()

    def fails(*args, code=1) -> str:
        result = runner.invoke(cli, ["--config", cfg, "export", *args])
        assert result.exit_code == code and "Traceback" not in result.output, result.output
        if code == 1:
            assert len(result.output.strip().splitlines()) == 1, result.output
        return result.output

    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert "is a file" in fails("--output", str(a_file), code=2)  # a bad command line
    assert "does not exist" in fails("--output", str(tmp_path / "no" / "such"))
    other = tmp_path / "holiday-photos"
    other.mkdir()
    (other / "img.jpg").write_text("x")
    assert "not empty" in fails("--output", str(other))
    assert os.listdir(other) == ["img.jpg"]  # nothing written into it
    (out / "_manifest.json").write_text("{not json")
    message = fails("--output", str(out))
    assert "_manifest.json" in message and "--full" in message
    invoke("--config", cfg, "export", "--output", str(out), "--full", "--quiet")
    assert json.loads((out / "_manifest.json").read_text())["version"] == 1


def test_the_export_keeps_to_a_jobs_memory_budget(exported, monkeypatch):
    """Regression: the export read the warehouse with DuckDB's default budget (80% of
    RAM), not a job's: its partitioned writes held 1.6 GB at 6M events (1.0 GB in a
    job's). It takes WAREHOUSE_MEMORY_LIMIT as every job does, a bad one in one line."""
    _, _, _, cfg, out, _ = exported
    before = (out / "_manifest.json").read_text()
    monkeypatch.setenv("WAREHOUSE_MEMORY_LIMIT", "lots")
    for command in (["export", "--output", str(out), "--full"], ["run"]):
        message = fail("--config", cfg, *command)
        assert "WAREHOUSE_MEMORY_LIMIT 'lots' is not a memory size" in message, message
    assert (out / "_manifest.json").read_text() == before
    monkeypatch.setenv("WAREHOUSE_MEMORY_LIMIT", "300MB")
    invoke("--config", cfg, "export", "--output", str(out), "--full", "--quiet")
