"""Open WebUI's database (SQLite webui.db or PostgreSQL): the tables we copy and why.

Schemas follow open-webui 0.12 (open_webui/models/*.py) and its alembic history: tables
and columns that older versions lack are optional here and arrive as NULL.
"""

from __future__ import annotations

from ingest.tables import SourceKind, TableSpec

CHAT_MESSAGE = TableSpec(
    name="chat_message",
    key=("id",),
    cursor="updated_at",
    cursor_kind="epoch",
    optional=True,  # since 0.8.0; before that messages live only in chat.chat JSON
    required=("id", "chat_id", "role", "model_id", "usage", "created_at"),
    columns={
        "id": "VARCHAR", "chat_id": "VARCHAR", "user_id": "VARCHAR", "role": "VARCHAR",
        "parent_id": "VARCHAR", "content": "VARCHAR", "model_id": "VARCHAR", "meta": "VARCHAR",
        "done": "BOOLEAN", "error": "VARCHAR", "usage": "VARCHAR", "created_at": "BIGINT",
        "updated_at": "BIGINT",
    },
)

CHAT = TableSpec(
    name="chat",
    key=("id",),
    cursor="updated_at",
    cursor_kind="epoch",
    required=("id", "user_id", "chat", "created_at", "updated_at"),
    columns={
        "id": "VARCHAR", "user_id": "VARCHAR", "title": "VARCHAR", "chat": "VARCHAR",
        "created_at": "BIGINT", "updated_at": "BIGINT", "share_id": "VARCHAR",
        "archived": "BOOLEAN", "meta": "VARCHAR",
    },
    # The whole conversation JSON duplicates chat_message; copy it only for databases
    # that have no chat_message table (the JSON is then the only record of messages).
    heavy_columns=("chat",),
    heavy_unless_table="chat_message",
)

USER = TableSpec(
    name="user",
    key=("id",),
    required=("id", "name", "email"),
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
    columns={
        "id": "VARCHAR", "user_id": "VARCHAR", "type": "VARCHAR", "data": "VARCHAR",
        "meta": "VARCHAR", "created_at": "BIGINT", "updated_at": "BIGINT",
    },
)

TAG = TableSpec(
    name="tag",
    key=("id", "user_id"),
    optional=True,
    required=("id", "name", "user_id"),
    columns={"id": "VARCHAR", "name": "VARCHAR", "user_id": "VARCHAR", "meta": "VARCHAR"},
)

KIND = SourceKind(
    name="openwebui",
    tables=(CHAT_MESSAGE, CHAT, USER, GROUP, GROUP_MEMBER, FEEDBACK, TAG),
    identifying_tables=("chat", "user"),
    description="an Open WebUI database (webui.db or its PostgreSQL DATABASE_URL)",
)
