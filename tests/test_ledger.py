"""Open WebUI's append-only usage ledger (`usage_log`): chat, api and task rows give the
right UI / API / Both figures, a message the ledger records counts once, and a chat deleted
in Open WebUI before the first ingest still has its ledger usage."""

from __future__ import annotations

import random
import uuid
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.test_reports import invoke, report
from warehouse import sample

LEDGER_DDL = """
CREATE TABLE usage_log (
    id VARCHAR(64) PRIMARY KEY, user_id VARCHAR(64) NOT NULL, chat_id VARCHAR(64),
    message_id VARCHAR(64), model_id VARCHAR(255) NOT NULL, base_model_id VARCHAR(255),
    source VARCHAR(16) NOT NULL, status VARCHAR(16) NOT NULL, input_tokens INTEGER,
    output_tokens INTEGER, cached_tokens INTEGER, reasoning_tokens INTEGER,
    total_tokens INTEGER, cost {money}, currency VARCHAR(8), pricing TEXT,
    created_at BIGINT NOT NULL)
"""
MONEY = {"sqlite": "REAL", "postgres": "NUMERIC(18, 9)"}


def tokens_of(message: sample.Message) -> tuple[int | None, int | None]:
    usage = message.usage if isinstance(message.usage, dict) else {}
    return usage.get("input_tokens", usage.get("prompt_tokens")), usage.get(
        "output_tokens", usage.get("completion_tokens"))


def ledger_rows(data: sample.Dataset, rng: random.Random):
    """One chat row per assistant message (but the first few: older than the ledger), plus
    API calls without a chat and title-generation tasks."""
    rows = []
    replies = [(c, m) for c in data.chats for m in c.messages if m.role == "assistant"
               and m.model_id]
    for chat, m in replies[3:]:
        i, o = tokens_of(m)
        rows.append(dict(user_id=chat.user_id, chat_id=chat.id, message_id=m.id,
                         model_id=m.model_id, source="chat", status="completed",
                         input_tokens=i, output_tokens=o, created_at=m.created_at))
    users = [u.id for u in data.users]
    start = min(m.created_at for _, m in replies)
    for n in range(25):
        rows.append(dict(user_id=rng.choice(users), chat_id=None, message_id=None,
                         model_id="gpt-4o", source="api",
                         status="error" if n % 10 == 0 else "completed",
                         input_tokens=rng.randint(10, 5000), output_tokens=rng.randint(1, 900),
                         created_at=start + rng.randint(0, 3 * 86400)))
    for chat, m in rng.sample(replies, 12):
        rows.append(dict(user_id=chat.user_id, chat_id=chat.id, message_id=None,
                         model_id="task-model", source="task", status="completed",
                         input_tokens=rng.randint(100, 900), output_tokens=rng.randint(5, 30),
                         created_at=m.created_at + 2))
    for row in rows:
        row["id"] = str(uuid.UUID(int=rng.getrandbits(128)))
        row["cost"] = Decimal(rng.randint(0, 99999)) / Decimal(10_000_000)
        row["currency"] = "USD"
    return rows, replies[:3]


def write_ledger(src, rows) -> None:
    conn = src.connect()
    cur = conn.cursor()
    cur.execute(LEDGER_DDL.format(money=MONEY[src.dialect]))
    columns = ("id", "user_id", "chat_id", "message_id", "model_id", "source", "status",
               "input_tokens", "output_tokens", "cost", "currency", "created_at")
    cur.executemany(
        f"INSERT INTO usage_log ({', '.join(columns)}) VALUES "
        f"({', '.join([src.ph] * len(columns))})",
        [tuple(str(r[c]) if c == "cost" and src.dialect == "sqlite" else r[c]
               for c in columns) for r in rows])
    conn.commit()
    conn.close()


def totals(rows) -> tuple[int, int]:
    """(messages, tokens): tasks add tokens only."""
    messages = sum(1 for r in rows if r["source"] != "task")
    tokens = sum((r["input_tokens"] or 0) + (r["output_tokens"] or 0) for r in rows)
    return messages, tokens


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_ledger_gives_ui_api_and_both_figures(make_source, tmp_path, dialect):
    data = sample.generate(seed=11, users=6, days=4, chats_per_user=2)
    rng = random.Random(11)
    rows, unledgered = ledger_rows(data, rng)
    src = make_source(data, dialect)
    write_ledger(src, rows)
    # a chat deleted in Open WebUI before the warehouse ever saw it
    gone = next(r["chat_id"] for r in rows if r["source"] == "chat"
                and r["chat_id"] not in {c.id for c, _ in unledgered})
    src.execute("DELETE FROM chat_message WHERE chat_id = ?", (gone,))
    src.execute("DELETE FROM chat WHERE id = ?", (gone,))
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    invoke("--db", str(db), "build")

    # messages older than the ledger still count, from chat_message, once
    old = [dict(source="chat", input_tokens=tokens_of(m)[0], output_tokens=tokens_of(m)[1])
           for _, m in unledgered]
    ui = [r for r in rows if r["source"] == "chat"] + old
    api = [r for r in rows if r["source"] == "api"]
    task = [r for r in rows if r["source"] == "task"]
    for channel, mine in (("ui", ui), ("api", api), ("task", task), ("all", ui + api + task)):
        got = report(db, "summary", "--channel", channel)[0]
        assert (got["total_messages"], got["total_tokens"]) == totals(mine), channel
    users = {r["user_id"]: r for r in report(db, "users", "--channel", "api")}
    failed = sum(1 for r in api if r["status"] == "error")
    assert sum(u["failed_requests"] for u in users.values()) == failed

    deleted = report(db, "chats", "--model", next(
        r["model_id"] for r in rows if r["chat_id"] == gone and r["source"] == "chat"))
    assert gone in {c["chat_id"] for c in deleted}
    # the latest chats, a ledger-only one among them, are the whole list's head
    listed = report(db, "chats", "--limit", "100000")
    assert gone in {c["chat_id"] for c in listed}
    for n in range(1, len(listed)):
        assert report(db, "chats", "--limit", str(n)) == listed[:n], n
    gone_rows = [r for r in rows if r["chat_id"] == gone and r["source"] == "chat"]
    got = invoke("--db", str(db), "query", "--format", "csv",
                 f"select count(*) from core.usage_events where chat_id = '{gone}' "
                 "and channel = 'ui'")
    assert got.splitlines()[1] == str(len(gone_rows))

    billed = report(db, "costs", "--granularity", "all", "--cost", "as-billed")[0]
    assert billed["currency"] == "USD"
    assert Decimal(str(billed["billed_cost"])) == sum(r["cost"] for r in rows).quantize(
        Decimal("0.000001"), rounding=ROUND_HALF_UP)
