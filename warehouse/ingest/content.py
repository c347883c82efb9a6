"""What the warehouse keeps of the users' words: each source's `content` mode.

- "preview" (the default) keeps chat titles and, per chat, the first user message cut to
  200 characters: the text the reports show. Every other text (prompts, answers, error
  messages, feedback comments, the chat JSON) is replaced by facts the source computes
  in its own query (ingest/tables.py, Derived: a message's length, whether an error was
  recorded, how many files it carried), so those bytes never leave the source.
- "none" keeps no text at all: titles and previews are empty, every report still works.
- "full" keeps every column the source has (LiteLLM's prompts excepted), for installs
  that analyse the text itself.

A warehouse remembers the mode each source was copied in (_warehouse.content_modes). The
first run in a mode that keeps less (an upgrade from a version that kept everything
included) settles what is already stored: facts computed from the stored text, then the
text dropped, history the source no longer has included; the job then publishes a
rewritten file (`needs_rewrite`), so no freed page still holds the text.

Messages of Open WebUI versions without chat_message live only in the chat JSON: each
copy turns them into raw chat_message rows (`extract_history`), so that JSON is never
kept outside "full" mode either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from warehouse import db
from warehouse.ingest.short_reads import sql_literal
from warehouse.ingest.tables import PREVIEW_COLUMN, TableSpec

MODES = ("none", "preview", "full")
DEFAULT_MODE = "preview"
PREVIEW_CHARS = 200
MODES_TABLE = "_warehouse.content_modes"
# Open WebUI writes epoch seconds; legacy rows hold milliseconds (values above this)
_MS_THRESHOLD = 10_000_000_000


def keeps(mode: str, least: str) -> bool:
    return MODES.index(mode) >= MODES.index(least)


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Read:
    """How one table is read in one mode: `source` is what the source's own query
    selects (name -> SQL in its dialect), `source_types` how that is typed, `stage` the
    DuckDB select list over it and `types` the staged columns' types."""

    source: dict[str, str]
    source_types: dict[str, str]
    stage: str
    types: dict[str, str]

    @property
    def computed(self) -> bool:
        """Whether the source must run a query of ours (facts), not a plain table scan."""
        return any(expr != quoted(name) for name, expr in self.source.items())


def plan(spec: TableSpec, columns: dict[str, str], mode: str, dialect: str,
         dropped: tuple[str, ...]) -> Read:
    """The read of `spec` from a source table with `columns`; `dropped` are columns
    stored as NULL whatever the mode (a payload another table holds)."""
    if mode == "full":
        copied = dict(columns)
    else:
        copied = {c: t for c, t in columns.items() if c in spec.columns}
    source, source_types, stage, types = {}, {}, [], {}
    for name, dtype in copied.items():
        target = "VARCHAR" if dtype.upper() in ("JSON", "JSONB") else dtype
        types[name] = target
        kept = name not in dropped and (
            name == spec.history_in  # read for its messages, nulled after
            or keeps(mode, spec.text_columns.get(name, "none")))
        if not kept:
            stage.append(f"NULL::{target} AS {quoted(name)}")
            continue
        source[name], source_types[name] = quoted(name), dtype
        value = f"CAST({quoted(name)} AS {target})"
        if name in spec.kept_keys and mode != "full":
            value = _reduced(value, spec.kept_keys[name])
        stage.append(f"{value} AS {quoted(name)}")
    for fact in spec.derived:
        if fact.column not in columns:
            continue  # an older version without the column: NULL in raw
        json_typed = columns[fact.column].upper() in ("JSON", "JSONB")
        if dialect == "postgres" and fact.json and not json_typed:
            expr = "NULL"
        else:
            template = fact.sqlite if dialect == "sqlite" else fact.postgres
            expr = template.replace("{c}", quoted(fact.column))
        source[fact.name], source_types[fact.name] = expr, fact.dtype
        stage.append(f"CAST({quoted(fact.name)} AS {fact.dtype}) AS {quoted(fact.name)}")
        types[fact.name] = fact.dtype
    return Read(source, source_types, ", ".join(stage), types)


def _reduced(value: str, keys: tuple[str, ...]) -> str:
    """A JSON object text cut down to `keys` (absent keys as null), else NULL."""
    pairs = ", ".join(f"'{k}', ({value})::json -> '{k}'" for k in keys)
    return (f"CASE WHEN json_valid({value}) AND json_type(({value})::json) = 'OBJECT' "
            f"THEN json_object({pairs})::VARCHAR END")


def text_of(content: str) -> str:
    """DuckDB SQL: the text of a message's JSON-encoded content, a string or the first
    text block of a list (as Open WebUI shows it; models_sql/macros.sql content_text)."""
    return (f"CASE WHEN json_valid({content}) THEN CASE json_type(({content})::json) "
            f"WHEN 'VARCHAR' THEN json_extract_string(({content})::json, '$') "
            f"WHEN 'ARRAY' THEN json_extract_string(({content})::json, '$[0].text') "
            f"ELSE {content} END ELSE {content} END")


def sqlite_text_of(content: str) -> str:
    """text_of in SQLite's json1: the same text, computed where the message lies."""
    return (f"CASE WHEN json_valid({content}) THEN CASE json_type({content}) "
            f"WHEN 'text' THEN json_extract({content}, '$') "
            f"WHEN 'array' THEN json_extract({content}, '$[0].text') "
            f"ELSE {content} END ELSE {content} END")


def with_first_previews(read: Read, spec: TableSpec, columns: dict[str, str],
                        dialect: str, mode: str) -> Read:
    """`read` taking, on a first copy from SQLite in "preview" mode, the preview of each
    row that may be its chat's first user message (spec.preview_roots), cut to
    PREVIEW_CHARS in the source's own query: the copy passes over every message anyway,
    where looking each chat's first message up afterwards is a random read per chat
    (720,000 at 6M events, 14 s of a 64 s first copy). fill_previews then keeps the
    previews of the first messages only. As hex, as _texts_by_key reads them: a text
    that is not UTF-8 becomes NULL rather than failing the copy."""
    roots = spec.preview_roots
    if (dialect != "sqlite" or mode != "preview" or not spec.preview_of or not roots
            or any(c not in columns for c in (spec.preview_of, *roots))):
        return read
    condition = " AND ".join(f"{quoted(c)} IS NULL" if v is None else
                             f"{quoted(c)} = {sql_literal(v)}" for c, v in roots.items())
    text = sqlite_text_of(quoted(spec.preview_of))
    cut = f"substr({text}, 1, {PREVIEW_CHARS})"
    source = read.source | {PREVIEW_COLUMN: f"CASE WHEN {condition} THEN hex({cut}) END"}
    return Read(source, read.source_types | {PREVIEW_COLUMN: "VARCHAR"},
                f"{read.stage}, try(decode(unhex({quoted(PREVIEW_COLUMN)}))) AS "
                f"{quoted(PREVIEW_COLUMN)}", read.types | {PREVIEW_COLUMN: "VARCHAR"})


def _order(created_at: str, key: str) -> str:
    """The order in which a chat's messages were written, NULL times last."""
    seconds = (f"CASE WHEN {created_at} > {_MS_THRESHOLD} THEN {created_at} // 1000 "
               f"ELSE {created_at} END")
    return f"(coalesce({seconds}, 9223372036854775807), {key})"


# --- previews: the first user message of each chat, cut to PREVIEW_CHARS -------------

def fill_previews(con, raw: str, source_name: str, fetch: Callable[[list], str] | None,
                  chats: str | None = None) -> int:
    """Keep the preview on the first user message of each chat and on no other row.

    `chats` is a relation of the chat ids to look at (default: the chats whose rows this
    transaction wrote). A first message lacking its preview takes it from the stored
    content ("full" mode) or from `fetch(ids)`, a relation of (id, content) the source
    reads by key: only first user messages (and, on a first copy, other roots' previews
    it then takes away) ever leave the source. Returns how many previews were taken
    away: text that a freed page of the file may still hold."""
    chats = chats or (f"(SELECT DISTINCT chat_id FROM {raw} WHERE _source = $s "
                      "AND _ingested_at = now())")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _first AS SELECT chat_id, "
        f"arg_min(id, {_order('created_at', 'id')}) AS id FROM {raw} "
        f"WHERE _source = $s AND role = 'user' AND content_length IS NOT NULL "
        f"AND chat_id IN (SELECT chat_id FROM {chats}) GROUP BY chat_id", {"s": source_name})
    taken = _count(con.execute(
        f"UPDATE {raw} SET {PREVIEW_COLUMN} = NULL WHERE _source = $s "
        f"AND {PREVIEW_COLUMN} IS NOT NULL AND chat_id IN (SELECT chat_id FROM _first) "
        f"AND id NOT IN (SELECT id FROM _first)", {"s": source_name}))
    preview = f"left({text_of('c.content')}, {PREVIEW_CHARS})"
    con.execute(
        f"UPDATE {raw} AS r SET {PREVIEW_COLUMN} = {preview} FROM (SELECT id, content "
        f"FROM {raw} WHERE _source = $s AND content IS NOT NULL AND {PREVIEW_COLUMN} IS NULL "
        f"AND id IN (SELECT id FROM _first)) AS c WHERE r._source = $s AND r.id = c.id",
        {"s": source_name})
    if fetch is not None:
        ids = [i for (i,) in con.execute(
            f"SELECT id FROM {raw} WHERE _source = $s AND {PREVIEW_COLUMN} IS NULL "
            f"AND _deleted_at IS NULL AND id IN (SELECT id FROM _first)",
            {"s": source_name}).fetchall()]
        if ids:
            con.execute(
                f"UPDATE {raw} AS r SET {PREVIEW_COLUMN} = {preview} FROM "
                f"(SELECT id, CAST(content AS VARCHAR) AS content FROM {fetch(ids)}) AS c "
                "WHERE r._source = $s AND r.id = c.id AND c.content IS NOT NULL",
                {"s": source_name})
    con.execute("DROP TABLE _first")
    return taken


def messages_table(kind) -> str | None:
    """The raw table of a source kind's messages (the one whose rows hold previews);
    None for a kind without one (LiteLLM)."""
    names = [t.name for t in kind.tables if t.preview_of]
    return f"raw_{kind.name}.{quoted(names[0])}" if names else None


def _count(cursor) -> int:
    row = cursor.fetchone()
    return int(row[0]) if row else 0


# --- messages kept only in the chat JSON (Open WebUI before 0.8) ----------------------

def extract_history(con, chats: str, history_in: str, mode: str, into: str) -> None:
    """Write the messages of the chat JSON of `chats` (a relation of chat rows with
    _source) as `into` (a temporary table shaped like raw chat_message): ids as Open
    WebUI's own back-fill made them ('{chat_id}-{message id}'), usage from `usage` or
    `info.usage`, the first user message's preview; the content only in "full"."""
    content = "(e.value -> 'content')::VARCHAR"
    kept = "m.content_kept" if mode == "full" else "NULL::VARCHAR"
    preview = (f"left({text_of('r.content_kept')}, {PREVIEW_CHARS})" if mode != "none"
               else "NULL::VARCHAR")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        WITH messages AS (
            SELECT c._source, c.id || '-' || e.key AS id, c.id AS chat_id, c.user_id,
                e.value ->> 'role' AS role, e.value ->> 'parentId' AS parent_id,
                e.value ->> 'model' AS model_id, {content} AS content_kept,
                coalesce(json_extract(e.value, '$.usage'),
                         json_extract(e.value, '$.info.usage'))::VARCHAR AS usage,
                coalesce(e.value ->> 'error', 'false') NOT IN ('false', 'null')
                    AS error_recorded,
                floor(try_cast(e.value ->> 'timestamp' AS DOUBLE))::BIGINT AS created_at,
                c._ingested_at, c._deleted_at
            FROM (SELECT * FROM {chats} WHERE json_valid({quoted(history_in)})) AS c,
                json_each(c.{quoted(history_in)}, '$.history.messages') AS e
        ),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY _source, chat_id
                ORDER BY {_order('created_at', 'id')}) AS n
            FROM messages WHERE role = 'user' AND content_kept IS NOT NULL
        )
        SELECT m.* EXCLUDE (content_kept), {kept} AS content,
            length(m.content_kept) AS content_length, m.created_at AS updated_at,
            CASE WHEN r.n = 1 THEN {preview} END AS {PREVIEW_COLUMN}
        FROM messages AS m
        LEFT JOIN ranked AS r ON r._source = m._source AND r.id = m.id
    """)


def replace_history(con, raw_messages: str, source_name: str, rows: str) -> None:
    """Put the extracted `rows` in place of the stored messages of their chats."""
    con.execute(f"DELETE FROM {raw_messages} WHERE _source = ? AND chat_id IN "
                f"(SELECT DISTINCT chat_id FROM {rows})", [source_name])
    con.execute(f"INSERT INTO {raw_messages} BY NAME SELECT * FROM {rows}")


def flag_history(con, raw_chats: str, raw_messages: str, source_name: str) -> None:
    """Messages of chats gone from the source are flagged with them."""
    con.execute(
        f"UPDATE {raw_messages} AS m SET _deleted_at = c._deleted_at FROM {raw_chats} AS c "
        "WHERE m._source = $s AND c._source = $s AND m.chat_id = c.id "
        "AND m._deleted_at IS NULL AND c._deleted_at IS NOT NULL", {"s": source_name})


# --- the mode each source was copied in, and settling a change ------------------------

def ensure_table(con) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {MODES_TABLE} (source_name VARCHAR PRIMARY "
                "KEY, mode VARCHAR, since TIMESTAMPTZ)")


# What a source copied before modes existed was kept whole, without the facts: it is
# settled once whatever the mode.
BEFORE_MODES = "before modes"


def recorded(con) -> dict[str, str]:
    """The mode each source was last copied in (BEFORE_MODES: copied by a version that
    kept everything and recorded no mode). Reads, so a reader's connection can ask."""
    tables = {t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = '_warehouse' "
        "AND database_name = current_database()").fetchall()}
    modes = dict(con.execute(f"SELECT source_name, mode FROM {MODES_TABLE}").fetchall()
                 ) if "content_modes" in tables else {}
    if "source_tables" in tables:
        for (name,) in con.execute(
                "SELECT DISTINCT source_name FROM _warehouse.source_tables WHERE present"
        ).fetchall():
            modes.setdefault(name, BEFORE_MODES)
    return modes


def record(con, source_name: str, mode: str) -> None:
    ensure_table(con)
    con.execute(f"INSERT INTO {MODES_TABLE} VALUES (?, ?, now()) ON CONFLICT (source_name) "
                "DO UPDATE SET mode = excluded.mode, since = excluded.since "
                f"WHERE {MODES_TABLE}.mode <> excluded.mode", [source_name, mode])


def needs_rewrite(path: Path, sources) -> bool:
    """Whether the job must publish a rewritten file: a source now keeps less text than
    the published warehouse holds of it."""
    from warehouse import db

    if not Path(path).exists():
        return False
    try:
        con = db.connect_reader(path)
    except Exception:  # noqa: BLE001 - the job itself says what is wrong with the file
        return False
    try:
        modes = recorded(con)
    finally:
        con.close()
    # a source copied before modes kept everything: "full"
    return any(s.name in modes and not keeps(s.content, modes[s.name].replace(
        BEFORE_MODES, "full")) for s in sources)


def settle(con, source_name: str, kind, mode: str) -> None:
    """Bring what is stored of `source_name` (copied in another mode) to `mode`: facts
    computed from stored text where they are missing, legacy chat JSON turned into
    message rows, previews placed, then every text the mode does not keep dropped."""
    messages = messages_table(kind)
    for spec in kind.tables:
        raw = f"raw_{kind.name}.{quoted(spec.name)}"
        stored = db.columns_of(con, raw)
        for fact in spec.derived:
            if fact.column not in stored:
                continue  # never copied (a column only "full" mode copies)
            con.execute(
                f"UPDATE {raw} SET {quoted(fact.name)} = "
                f"{fact.duckdb.replace('{c}', quoted(fact.column))} WHERE _source = ? "
                f"AND {quoted(fact.name)} IS NULL AND {quoted(fact.column)} IS NOT NULL",
                [source_name])
        if spec.history_in and _legacy(con, source_name, messages):
            extract_history(con, f"(SELECT * FROM {raw} WHERE _source = "
                                 f"{sql_literal(source_name)} AND "
                                 f"{quoted(spec.history_in)} IS NOT NULL)",
                            spec.history_in, mode, "_history")
            replace_history(con, messages, source_name, "_history")
            con.execute("DROP TABLE _history")
        if spec.preview_of and mode != "none":
            fill_previews(con, raw, source_name, None,
                          chats=f"(SELECT DISTINCT chat_id FROM {raw} WHERE _source = $s)")
        if mode == "full":
            continue
        dropped = [c for c, least in spec.text_columns.items() if not keeps(mode, least)]
        if spec.preview_of and mode == "none":
            dropped.append(PREVIEW_COLUMN)
        for column in dropped:
            con.execute(f"UPDATE {raw} SET {quoted(column)} = NULL WHERE _source = ? "
                        f"AND {quoted(column)} IS NOT NULL", [source_name])
        for column, keys in spec.kept_keys.items():
            con.execute(f"UPDATE {raw} SET {quoted(column)} = "
                        f"{_reduced(quoted(column), keys)} WHERE _source = ? "
                        f"AND {quoted(column)} IS NOT NULL", [source_name])
        _empty_undeclared(con, raw, spec, source_name)


def _legacy(con, source_name: str, messages: str) -> bool:
    """Whether the source was last seen without its message table (Open WebUI < 0.8)."""
    table = messages.split(".", 1)[1].strip('"')
    row = con.execute("SELECT present FROM _warehouse.source_tables WHERE source_name = ? "
                      "AND table_name = ?", [source_name, table]).fetchone()
    return row is not None and not row[0]




def _empty_undeclared(con, raw: str, spec: TableSpec, source_name: str) -> None:
    """Columns only "full" mode copies are emptied for this source. They stay in the
    table (DuckDB cannot drop a column a transaction has written to; an empty column
    takes no room)."""
    declared = set(spec.raw_columns) | {"_source", "_ingested_at", "_deleted_at"}
    for column in db.columns_of(con, raw):
        if column not in declared:
            con.execute(f"UPDATE {raw} SET {quoted(column)} = NULL WHERE _source = ? "
                        f"AND {quoted(column)} IS NOT NULL", [source_name])
