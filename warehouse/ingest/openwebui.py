"""Open WebUI's database (SQLite webui.db or PostgreSQL): the tables we copy and why.

Schemas follow open-webui 0.12 (open_webui/models/*.py) and its alembic history: tables
and columns that older versions lack are optional here and arrive as NULL.
"""

from __future__ import annotations

from warehouse.ingest.tables import Derived, SourceKind, TableSpec


def _json_count(name: str, column: str) -> Derived:
    """How many entries a JSON list column holds (attached files, cited sources)."""
    return Derived(
        name, column, "BIGINT",
        sqlite="CASE WHEN json_valid({c}) AND json_type({c}) = 'array' "
               "THEN json_array_length({c}) END",
        postgres="CASE WHEN json_typeof({c}::json) = 'array' "
                 "THEN json_array_length({c}::json) END",
        duckdb="CASE WHEN json_valid({c}) AND json_type({c}::json) = 'ARRAY' "
               "THEN json_array_length({c}::json) END",
        json=True)


# What a message's text tells the reports without the text: its length, whether an
# error was recorded (its JSON may quote the provider's message), attachments, sources.
MESSAGE_FACTS = (
    Derived("content_length", "content", "BIGINT", sqlite="length({c})",
            postgres="length({c}::text)", duckdb="length({c})"),
    Derived("error_recorded", "error", "BOOLEAN",
            sqlite="({c} IS NOT NULL AND {c} NOT IN ('null', '{}', '\"\"'))",
            postgres="({c} IS NOT NULL AND {c}::text NOT IN ('null', '{}', '\"\"'))",
            duckdb="coalesce({c} NOT IN ('null', '{}', '\"\"'), false)"),
    _json_count("files_count", "files"),
    _json_count("sources_count", "sources"),
)

# Read by created_at, which Open WebUI indexes: updated_at is not indexed and is the last
# column, so finding changed rows by it reads every row's whole record (long text
# included) every night. A message is written while its answer streams (usage lands at
# the end): the look-back of a day re-reads those. Open WebUI writes a message together
# with its chat (Chats.upsert_message_to_chat_by_id_and_message_id sets chat.updated_at,
# which is indexed), so the messages of chats written since the last run are read too:
# an edited question, usage written later. A row changed behind the app's back is read
# by the weekly reconciliation, a read of the whole table's facts.
CHAT_MESSAGE = TableSpec(
    name="chat_message",
    key=("id",),
    cursor="created_at",
    cursor_kind="epoch",
    overlap_seconds=86_400,
    reconcile_days=7,
    changed_with=("chat", "chat_id"),
    optional=True,  # since 0.8.0; before that messages live only in chat.chat JSON
    required=("id", "chat_id", "role", "model_id", "usage", "created_at"),
    person_columns=("user_id",),
    chat_column="chat_id",
    columns={
        "id": "VARCHAR", "chat_id": "VARCHAR", "user_id": "VARCHAR", "role": "VARCHAR",
        "parent_id": "VARCHAR", "content": "VARCHAR", "model_id": "VARCHAR", "meta": "VARCHAR",
        "done": "BOOLEAN", "error": "VARCHAR", "usage": "VARCHAR", "created_at": "BIGINT",
        "updated_at": "BIGINT",
    },
    # meta holds the message's follow-ups and attachments' names: kept in "full" only
    text_columns={"content": "full", "error": "full", "meta": "full"},
    derived=MESSAGE_FACTS,
    preview_of="content",
    # a chat's first user message is a root of its message tree (an edited first question
    # is another root: the earliest is the first)
    preview_roots={"role": "user", "parent_id": None},
)

CHAT = TableSpec(
    name="chat",
    key=("id",),
    cursor="updated_at",
    cursor_kind="epoch",
    required=("id", "user_id", "chat", "created_at", "updated_at"),
    person_columns=("user_id",),
    columns={
        "id": "VARCHAR", "user_id": "VARCHAR", "title": "VARCHAR", "chat": "VARCHAR",
        "created_at": "BIGINT", "updated_at": "BIGINT", "share_id": "VARCHAR",
        "archived": "BOOLEAN", "meta": "VARCHAR",
    },
    # The whole conversation JSON duplicates chat_message; copy it only for databases
    # that have no chat_message table (the JSON is then the only record of messages),
    # and there only in "full" mode: its messages become raw chat_message rows.
    heavy_columns=("chat",),
    heavy_unless_table="chat_message",
    text_columns={"title": "preview", "chat": "full"},
    history_in="chat",
)

USER = TableSpec(
    name="user",
    key=("id",),
    required=("id", "name", "email"),
    person_columns=("id", "email"),
    columns={
        "id": "VARCHAR", "name": "VARCHAR", "email": "VARCHAR", "role": "VARCHAR",
        "last_active_at": "BIGINT", "created_at": "BIGINT", "updated_at": "BIGINT",
    },
)

GROUP = TableSpec(
    name="group",
    key=("id",),
    optional=True,
    required=("id", "name"),
    person_lists=("user_ids",),
    columns={
        "id": "VARCHAR", "name": "VARCHAR", "description": "VARCHAR",
        # parent_group_id: sub-groups, recent versions only; user_ids: membership JSON list
        # of versions before the group_member table (2025-11-17).
        "parent_group_id": "VARCHAR", "user_ids": "VARCHAR",
        "created_at": "BIGINT", "updated_at": "BIGINT",
    },
)

GROUP_MEMBER = TableSpec(
    name="group_member",
    key=("id",),
    optional=True,
    required=("group_id", "user_id"),
    person_columns=("user_id",),
    columns={
        "id": "VARCHAR", "group_id": "VARCHAR", "user_id": "VARCHAR", "created_at": "BIGINT",
    },
)

FEEDBACK = TableSpec(
    name="feedback",
    key=("id",),
    cursor="updated_at",
    cursor_kind="epoch",
    optional=True,
    required=("id", "data", "created_at"),
    person_columns=("user_id",),
    columns={
        "id": "VARCHAR", "user_id": "VARCHAR", "type": "VARCHAR", "data": "VARCHAR",
        "meta": "VARCHAR", "created_at": "BIGINT", "updated_at": "BIGINT",
    },
    # data also holds the user's comment and reason (their words); snapshot, never
    # copied, the whole chat
    kept_keys={"data": ("model_id", "rating")},
)

TAG = TableSpec(
    name="tag",
    key=("id", "user_id"),
    optional=True,
    required=("id", "name", "user_id"),
    person_columns=("user_id",),
    columns={"id": "VARCHAR", "name": "VARCHAR", "user_id": "VARCHAR", "meta": "VARCHAR"},
)

# The openwebui-token-tracking plugin (0.1.x) writes its tables into this database. Its
# migrations give the usage log no primary key, so a row is keyed by all its columns.
# log_date is the plugin's datetime.now(): the server's local wall clock.
TOKEN_USAGE_LOG = TableSpec(
    name="token_tracking_usage_log",
    key=("log_date", "user_id", "provider", "model_id", "sponsored_allowance_id",
         "prompt_tokens", "response_tokens"),
    cursor="log_date",
    cursor_kind="timestamp",
    optional=True,
    required=("log_date", "user_id", "provider", "model_id", "prompt_tokens",
              "response_tokens"),
    person_columns=("user_id",),
    columns={
        "log_date": "TIMESTAMP", "user_id": "VARCHAR", "provider": "VARCHAR",
        "model_id": "VARCHAR", "sponsored_allowance_id": "VARCHAR",
        "prompt_tokens": "BIGINT", "response_tokens": "BIGINT",
    },
)

MODEL_PRICING = TableSpec(
    name="token_tracking_model_pricing",
    key=("id", "provider"),
    optional=True,
    required=("id", "input_cost_credits", "per_input_tokens", "output_cost_credits",
              "per_output_tokens"),
    columns={
        "id": "VARCHAR", "provider": "VARCHAR", "name": "VARCHAR",
        "input_cost_credits": "BIGINT", "per_input_tokens": "BIGINT",
        "output_cost_credits": "BIGINT", "per_output_tokens": "BIGINT",
    },
)

CREDIT_GROUP = TableSpec(
    name="token_tracking_credit_group",
    key=("id",),
    optional=True,
    required=("id", "name", "max_credit"),
    columns={"id": "VARCHAR", "name": "VARCHAR", "max_credit": "BIGINT",
             "description": "VARCHAR"},
)

CREDIT_GROUP_USER = TableSpec(
    name="token_tracking_credit_group_user",
    key=("credit_group_id", "user_id"),
    optional=True,
    required=("credit_group_id", "user_id"),
    person_columns=("user_id",),
    columns={"credit_group_id": "VARCHAR", "user_id": "VARCHAR"},
)

BASE_SETTINGS = TableSpec(
    name="token_tracking_base_settings",
    key=("setting_key",),
    optional=True,
    required=("setting_key", "setting_value"),
    columns={"setting_key": "VARCHAR", "setting_value": "VARCHAR", "description": "VARCHAR"},
)

SPONSORED_ALLOWANCE = TableSpec(
    name="token_tracking_sponsored_allowance",
    key=("id",),
    optional=True,
    required=("id", "name", "creation_date", "total_credit_limit", "daily_credit_limit"),
    person_refs=("sponsor_id",),
    columns={
        "id": "VARCHAR", "creation_date": "TIMESTAMP", "name": "VARCHAR",
        "sponsor_id": "VARCHAR", "total_credit_limit": "BIGINT",
        "daily_credit_limit": "BIGINT",
    },
)

# The append-only usage ledger (Open WebUI #21675 and builds that carry it): one row per
# completion, no foreign keys, so it outlives deleted chats. Columns vary by version; only
# the ones every variant has are required.
USAGE_LEDGER = TableSpec(
    name="usage_log",
    key=("id",),
    cursor="created_at",
    cursor_kind="epoch",
    optional=True,
    required=("id", "user_id", "model_id", "created_at"),
    person_columns=("user_id",),
    chat_column="chat_id",
    columns={
        "id": "VARCHAR", "user_id": "VARCHAR", "chat_id": "VARCHAR", "message_id": "VARCHAR",
        "model_id": "VARCHAR", "base_model_id": "VARCHAR", "source": "VARCHAR",
        "status": "VARCHAR", "input_tokens": "BIGINT", "output_tokens": "BIGINT",
        "cached_tokens": "BIGINT", "reasoning_tokens": "BIGINT", "total_tokens": "BIGINT",
        # text, so a REAL or NUMERIC snapshot reaches DECIMAL without float drift
        "cost": "VARCHAR", "currency": "VARCHAR", "pricing": "VARCHAR", "created_at": "BIGINT",
    },
)

KIND = SourceKind(
    name="openwebui",
    tables=(CHAT_MESSAGE, CHAT, USER, GROUP, GROUP_MEMBER, FEEDBACK, TAG, TOKEN_USAGE_LOG,
            MODEL_PRICING, CREDIT_GROUP, CREDIT_GROUP_USER, BASE_SETTINGS,
            SPONSORED_ALLOWANCE, USAGE_LEDGER),
    identifying_tables=("chat", "user"),
    description="an Open WebUI database (webui.db or its PostgreSQL DATABASE_URL)",
    # tests cover 0.12 (openwebui_schema.sql) and the 0.5-0.7 layout without chat_message
    # and group_member (openwebui_legacy_schema.sql)
    versions="Open WebUI 0.5 to 0.12, openwebui-token-tracking 0.1",
)
