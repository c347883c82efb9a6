"""Realistic source databases at a stated size, written by DuckDB (no Python row loops).

One "event" is one LLM response. Of N events:
- 60% are Open WebUI assistant messages (chat_message holds twice as many rows: each reply
  follows a user message; chats of 10 messages), with usage JSON in both key styles;
- 10% are rows of Open WebUI's usage ledger (`usage_log`): API calls and background tasks;
- 30% are LiteLLM spend logs (PostgreSQL), with the daily user/team/tag tables LiteLLM keeps
  beside them.
2,000 Open WebUI users in 20 groups, 8 models, 200 LiteLLM keys of 10 teams. Events are
spread evenly over the 365 days before `end`; `add` writes further events after `end`
(starting on a fresh UTC day, as a nightly job's new data would).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from tests import litellm_source
from tests.test_ledger import LEDGER_DDL, MONEY
from warehouse import sample
from warehouse.db import load_extension

DAY = 86_400
SPAN_DAYS = 365
USERS, GROUPS, KEYS, TEAMS = 2_000, 20, 200, 10
MODELS = 8


@dataclass(frozen=True)
class Layout:
    """Where events of a generated database lie in time: `per_second` events a second
    from `start`, so event i happens at start + i / per_second."""

    events: int
    start: int  # epoch seconds, 00:00 UTC

    @property
    def end(self) -> int:
        return self.start + SPAN_DAYS * DAY

    def at(self, i: str) -> str:
        """SQL for the epoch second of event number i (an SQL expression)."""
        return f"({self.start} + ({i}) * {SPAN_DAYS * DAY} // {self.events})"


def layout(events: int, now: datetime | None = None) -> Layout:
    """A year of events ending at 00:00 UTC five days ago (room for a 1% increment)."""
    now = now or datetime.now(UTC)
    end = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=5)
    return Layout(events, int(end.timestamp()) - SPAN_DAYS * DAY)


def split(events: int) -> dict[str, int]:
    replies = events * 6 // 10
    ledger = events // 10
    return {"replies": replies, "ledger": ledger, "spend_logs": events - replies - ledger}


# ---------------------------------------------------------------- Open WebUI

def create_openwebui(url: str, dialect: str) -> None:
    """Open WebUI's schema, its users and groups, plus the usage ledger table."""
    data = sample.Dataset()
    if dialect == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        sample.write(conn, data)
    else:
        import psycopg

        conn = psycopg.connect(url)
        sample.write(conn, data, paramstyle="format")
    conn.execute(LEDGER_DDL.format(money=MONEY[dialect]))
    conn.execute("CREATE INDEX ix_usage_log_created_at ON usage_log (created_at)")
    conn.commit()
    conn.close()
    with _attached(url, dialect) as con:
        con.execute(f"""
            INSERT INTO src."user" (id, name, email, role, created_at, updated_at,
                                    last_active_at)
            SELECT 'u' || i, 'User ' || i, 'user' || i || '@example.org', 'user',
                   1700000000, 1700000000, 1700000000 FROM range({USERS}) t(i)""")
        con.execute(f"""
            INSERT INTO src."group" (id, user_id, name, description, created_at, updated_at)
            SELECT 'g' || i, 'admin', 'Group ' || i, '', 1700000000, 1700000000
            FROM range({GROUPS}) t(i)""")
        con.execute(f"""
            INSERT INTO src.group_member (id, group_id, user_id, created_at, updated_at)
            SELECT 'gm' || i, 'g' || (i % {GROUPS}), 'u' || i, 1700000000, 1700000000
            FROM range({USERS}) t(i)""")


def fill_openwebui(url: str, dialect: str, lay: Layout, first: int, count: int,
                   text: str = "empty") -> None:
    """Events number first .. first+count-1 of the Open WebUI share (replies + ledger);
    `text` "empty" (12-byte messages) or "realistic" (see _realistic_chats)."""
    parts = split(count)
    share = split(lay.events)
    with _attached(url, dialect) as con:
        _chats(con, lay, first * 6 // 10, parts["replies"], share["replies"], text)
        _ledger(con, lay, first // 10, parts["ledger"], share["ledger"])


def _chats(con, lay: Layout, first_reply: int, replies: int, all_replies: int,
           text: str = "empty") -> None:
    lo, hi = first_reply // 5, (first_reply + replies) // 5  # 5 replies per chat
    # Chats follow each other; a chat's 10 messages lie before the next chat begins (a
    # minute apart at most), so the generated stream is in time order as Open WebUI
    # writes it, and an increment is dated after all that came before.
    chats = max(all_replies // 5, 1)
    at = Layout(chats, lay.start).at("c")
    gap = max(1, min(60, SPAN_DAYS * DAY // chats // 10))
    if text == "realistic":
        for start in range(lo, hi, CHAT_BATCH):
            _realistic_chats(con, at, gap, start, min(hi, start + CHAT_BATCH))
        return
    con.execute(f"""
        INSERT INTO src.chat (id, user_id, title, chat, created_at, updated_at, archived, meta)
        SELECT 'c' || c, 'u' || (c * 7 % {USERS}), 'chat ' || c, '{{}}', {at}, {at} + 600,
               false, '{{"tags": ["topic-' || (c % 12) || '"]}}'
        FROM range({lo}, {hi}) t(c)""")
    con.execute(f"""
        INSERT INTO src.chat_message (id, chat_id, user_id, role, parent_id, content, model_id,
                                      done, usage, created_at, updated_at)
        SELECT 'c' || c || '-m' || k, 'c' || c, 'u' || (c * 7 % {USERS}),
               CASE WHEN k % 2 = 0 THEN 'user' ELSE 'assistant' END,
               CASE WHEN k > 0 THEN 'c' || c || '-m' || (k - 1) END, '"a question"',
               CASE WHEN k % 2 = 1 THEN 'model-' || ((c + k) % {MODELS}) END, true,
               {USAGE}, {at} + k * {gap}, {at} + k * {gap}
        FROM range({lo}, {hi}) t(c), range(10) m(k)""")


# token usage of message k of chat c (users' messages carry none), both key styles
USAGE = """CASE WHEN k % 2 = 0 THEN NULL
                    WHEN c % 2 = 0 THEN '{"prompt_tokens": ' || (c * 13 % 3000 + 20) ||
                        ', "completion_tokens": ' || ((c + k) * 37 % 1500 + 5) || '}'
                    ELSE '{"input_tokens": ' || (c * 13 % 3000 + 20) ||
                        ', "output_tokens": ' || ((c + k) * 37 % 1500 + 5) || '}' END"""

# Realistic text ("realistic"): questions log-normal around 270 characters (mean ~400),
# answers around 1,200 (mean ~1,450), words drawn from a fixed vocabulary; 5% of
# questions attach a file, 10% of answers cite three sources with 300-character
# snippets; chat.chat holds the history map and the current branch's message list, as
# Open WebUI 0.12 writes it (so every message's text is in it twice).
CHAT_BATCH = 50_000
QUESTION_CHARS = "least(8000, greatest(20, exp(5.6 + 0.9 * z)))::INTEGER"
ANSWER_CHARS = "least(16000, greatest(40, exp(7.1 + 0.6 * z)))::INTEGER"
_WORDS = ("the model data result method student paper course answer question value "
          "analysis function python table error figure energy cell protein climate "
          "market policy law history theory proof example network learning training "
          "sample test report review draft chapter section summary source reference "
          "experiment measure rate growth system design code library version request "
          "because however therefore which would could should about between during "
          "under over after before while where when also only more most very much").split()
POOL_CHARS = 60_000


def _pool() -> str:
    """A fixed text of vocabulary words (a linear congruential walk: no randomness)."""
    words, x, size = [], 7, 0
    while size < POOL_CHARS:
        x = (x * 1_103_515_245 + 12_345) % 2**31
        words.append(_WORDS[x % len(_WORDS)])
        size += len(words[-1]) + 1
    return " ".join(words)[:POOL_CHARS]


def _uniform(salt: int) -> str:
    return f"(((hash(c, k, {salt}) % 1000000) + 0.5) / 1e6)"


def _realistic_chats(con, at: str, gap: int, lo: int, hi: int) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE pool AS SELECT ?::VARCHAR AS p", [_pool()])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen AS
        WITH sized AS (
            SELECT c, k, CASE WHEN k % 2 = 0 THEN {QUESTION_CHARS} ELSE {ANSWER_CHARS} END AS n
            FROM (SELECT c, k, sqrt(-2 * ln({_uniform(1)})) * cos(2 * pi() * {_uniform(2)})
                      AS z FROM range({lo}, {hi}) t(c), range(10) m(k))
        )
        SELECT c, k, 'c' || c || '-m' || k AS id, 'c' || c AS chat_id,
               'u' || (c * 7 % {USERS}) AS user_id,
               CASE WHEN k % 2 = 0 THEN 'user' ELSE 'assistant' END AS role,
               CASE WHEN k > 0 THEN 'c' || c || '-m' || (k - 1) END AS parent_id,
               substr(pool.p, 1 + (hash(c, k, 3) % ({POOL_CHARS} - n))::INTEGER, n) AS text,
               CASE WHEN k % 2 = 1 THEN 'model-' || ((c + k) % {MODELS}) END AS model_id,
               {USAGE} AS usage, {at} + k * {gap} AS ts,
               CASE WHEN k % 2 = 0 AND hash(c, k, 4) % 20 = 0 THEN
                   '[{{"type": "file", "file": {{"id": "f' || c || '-' || k ||
                   '", "filename": "notes-' || c || '.pdf", "size": ' ||
                   (hash(c, k, 5) % 900000 + 1000) || '}}}}]' END AS files,
               CASE WHEN k % 2 = 1 AND hash(c, k, 6) % 10 = 0 THEN
                   to_json([{{'source': {{'name': 'doc-' || c || '-' || s || '.pdf'}},
                              'document': [substr(pool.p, 1 + (hash(c, k, s) % 50000)::INTEGER,
                                                  300)]}} FOR s IN range(3)])::VARCHAR
               END AS sources
        FROM sized, pool""")
    # chats first: PostgreSQL holds chat_message to its foreign key
    con.execute("""
        INSERT INTO src.chat (id, user_id, title, chat, created_at, updated_at, archived, meta)
        SELECT chat_id, any_value(user_id), title, json_object(
                   'id', chat_id, 'title', title,
                   'history', json_object('messages', json_group_object(id, message),
                                          'currentId', chat_id || '-m9'),
                   'messages', to_json(list(message ORDER BY k)),
                   'tags', [], 'timestamp', min(ts) * 1000)::VARCHAR,
               min(ts), max(ts), false,
               '{"tags": ["topic-' || (any_value(c) % 12) || '"]}'
        FROM (SELECT *, left(first(text) OVER (PARTITION BY c ORDER BY k), 40) AS title,
                     json_object('id', id, 'parentId', parent_id, 'role', role,
                                 'content', text, 'model', model_id, 'timestamp', ts,
                                 'usage', usage::JSON) AS message
              FROM gen)
        GROUP BY chat_id, title ORDER BY min(c)""")
    con.execute("""
        INSERT INTO src.chat_message (id, chat_id, user_id, role, parent_id, content,
            model_id, files, sources, done, usage, created_at, updated_at)
        SELECT id, chat_id, user_id, role, parent_id, to_json(text)::VARCHAR, model_id, files,
               sources, true, usage, ts, ts FROM gen ORDER BY c, k""")
    con.execute("DROP TABLE gen")


def _ledger(con, lay: Layout, first: int, count: int, total: int) -> None:
    at = Layout(max(total, 1), lay.start).at("i")
    con.execute(f"""
        INSERT INTO src.usage_log (id, user_id, chat_id, message_id, model_id, source, status,
                                   input_tokens, output_tokens, total_tokens, cost, currency,
                                   created_at)
        SELECT 'l' || i, 'u' || (i * 11 % {USERS}), NULL, NULL, 'model-' || (i % {MODELS}),
               CASE WHEN i % 10 < 7 THEN 'api' ELSE 'task' END,
               CASE WHEN i % 50 = 0 THEN 'error' ELSE 'completed' END,
               i * 17 % 2000 + 10, i * 29 % 800 + 1, i * 17 % 2000 + 10 + i * 29 % 800 + 1,
               (i * 17 % 2000 + 10) * 0.000002 + (i * 29 % 800 + 1) * 0.000008, 'USD', {at}
        FROM range({first}, {first + count}) t(i)""")


# ---------------------------------------------------------------- LiteLLM

def create_litellm(url: str) -> None:
    """LiteLLM's schema (its own migrations), keys, users and teams."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        litellm_source.apply_migrations(conn)
        conn.execute(f"""
            INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, admins, members, models,
                                             updated_at)
            SELECT 'team-' || i, 'Team ' || i, '{{}}', '{{}}', '{{}}', now()
            FROM generate_series(0, {TEAMS - 1}) i""")
        conn.execute(f"""
            INSERT INTO "LiteLLM_UserTable" (user_id, user_email, models, created_at,
                                             updated_at)
            SELECT 'llm-u' || i, 'llm-user' || i || '@example.org', '{{}}', now(), now()
            FROM generate_series(0, {KEYS - 1}) i""")
        conn.execute(f"""
            INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, user_id,
                                                     team_id, models, created_at, updated_at)
            SELECT md5('key' || i) || md5('key2' || i), 'sk-...' || i, 'key-' || i,
                   'llm-u' || i, 'team-' || (i % {TEAMS}), '{{}}', now(), now()
            FROM generate_series(0, {KEYS - 1}) i""")


def fill_litellm(url: str, lay: Layout, first: int, count: int) -> None:
    """Spend logs number first .. first+count-1 of the LiteLLM share, and the daily rows
    of their days (the days are new: LiteLLM's daily rows for them did not exist)."""
    share = split(lay.events)["spend_logs"]
    lo, hi = first * 3 // 10, (first + count) * 3 // 10
    at = Layout(max(share, 1), lay.start).at("i")
    with _attached(url, "postgres") as con:
        con.execute(f"""
            INSERT INTO src."LiteLLM_SpendLogs" (request_id, call_type, api_key, spend,
                total_tokens, prompt_tokens, completion_tokens, "startTime", "endTime",
                model, model_group, custom_llm_provider, "user", metadata, request_tags,
                team_id, end_user, status, messages, response)
            SELECT 'req-' || i, 'acompletion', md5('key' || k) || md5('key2' || k),
                   p * 0.0000025 + o * 0.00001, p + o, p, o,
                   make_timestamp(({at}) * 1000000), make_timestamp(({at}) * 1000000 + 2500000),
                   'gpt-' || (i % 4), 'gpt-' || (i % 4), 'openai', 'llm-u' || k,
                   '{{"status": "success"}}', '["User-Agent: curl", "proj-' || (i % 5) || '"]',
                   'team-' || (k % {TEAMS}), CASE WHEN i % 3 = 0 THEN 'cust-' || (i % 40) END,
                   CASE WHEN i % 40 = 0 THEN 'failure' ELSE 'success' END, '{{}}', '{{}}'
            FROM (SELECT i, i * 7 % {KEYS} AS k, i * 17 % 3000 + 10 AS p,
                         CASE WHEN i % 40 = 0 THEN 0 ELSE i * 31 % 1200 + 1 END AS o
                  FROM range({lo}, {hi}) t(i))""")
    import psycopg

    start = datetime.fromtimestamp(lay.start + (lo * SPAN_DAYS * DAY) // max(share, 1), UTC)
    with psycopg.connect(url, autocommit=True) as conn:
        for table, entity in (("LiteLLM_DailyUserSpend", "user_id"),
                              ("LiteLLM_DailyTeamSpend", "team_id"),
                              ("LiteLLM_DailyTagSpend", "tag")):
            source = ('(SELECT s.*, jsonb_array_elements_text(s.request_tags) AS tag '
                      'FROM "LiteLLM_SpendLogs" s)' if entity == "tag"
                      else '(SELECT s.*, s."user" AS user_id FROM "LiteLLM_SpendLogs" s)')
            conn.execute(f"""
                INSERT INTO "{table}" (id, {entity}, date, api_key, model, model_group,
                    custom_llm_provider, prompt_tokens, completion_tokens, spend,
                    api_requests, successful_requests, failed_requests, updated_at)
                SELECT md5(concat_ws('|', {entity}, day, api_key, model)), {entity}, day,
                       api_key, model, max(model_group), 'openai', sum(prompt_tokens),
                       sum(completion_tokens), sum(spend), count(*),
                       count(*) FILTER (WHERE status = 'success'),
                       count(*) FILTER (WHERE status <> 'success'),
                       -- LiteLLM last updates a day's row as the day ends
                       least(now(), day::date + 1)
                FROM (SELECT *, to_char("startTime", 'YYYY-MM-DD') AS day FROM {source} x
                      WHERE "startTime" >= %s) d
                GROUP BY {entity}, day, api_key, model""", [start.replace(tzinfo=None)])


# ---------------------------------------------------------------- both

def generate(openwebui_url: str, dialect: str, litellm_url: str, events: int,
             text: str = "empty") -> Layout:
    lay = layout(events)
    create_openwebui(openwebui_url, dialect)
    _without_sqlite_indexes(openwebui_url, dialect, lambda: fill_openwebui(
        openwebui_url, dialect, lay, 0, events, text))
    create_litellm(litellm_url)
    fill_litellm(litellm_url, lay, 0, events)
    _analyze(openwebui_url, dialect, litellm_url)
    return lay


def add(openwebui_url: str, dialect: str, litellm_url: str, lay: Layout, count: int,
        text: str = "empty") -> None:
    """`count` more events after the generated ones (the next 1% of the same stream)."""
    fill_openwebui(openwebui_url, dialect, lay, lay.events, count, text)
    fill_litellm(litellm_url, lay, lay.events, count)


def _without_sqlite_indexes(url: str, dialect: str, fill) -> None:
    """SQLite builds indexes far faster once than row by row: drop chat_message's, bulk
    insert, recreate them (the database ends as Open WebUI's schema leaves it)."""
    if dialect != "sqlite":
        fill()
        return
    path = url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    indexes = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND "
                           "tbl_name IN ('chat_message', 'chat', 'usage_log') "
                           "AND sql IS NOT NULL").fetchall()
    for (sql,) in indexes:
        conn.execute("DROP INDEX " + sql.split()[2])
    conn.commit()
    conn.close()
    fill()
    conn = sqlite3.connect(path)
    for (sql,) in indexes:
        conn.execute(sql)
    conn.commit()
    conn.close()


def _analyze(openwebui_url: str, dialect: str, litellm_url: str) -> None:
    import psycopg

    if dialect == "sqlite":
        conn = sqlite3.connect(openwebui_url.removeprefix("sqlite:///"))
        conn.execute("ANALYZE")
        conn.close()
    for url in ([openwebui_url] if dialect == "postgres" else []) + [litellm_url]:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")


class _attached:
    """A DuckDB connection with the source attached (writable) as `src`."""

    def __init__(self, url: str, dialect: str):
        self.url, self.dialect = url, dialect

    def __enter__(self):
        self.con = duckdb.connect()
        load_extension(self.con, self.dialect)
        target = self.url.removeprefix("sqlite:///") if self.dialect == "sqlite" else self.url
        self.con.execute(f"ATTACH '{target}' AS src (TYPE {self.dialect})")
        return self.con

    def __exit__(self, *exc):
        self.con.close()
