"""LiteLLM proxy's PostgreSQL database (Prisma-managed, quoted CamelCase table names).

Schemas follow litellm-proxy-extras 0.4.x (schema.prisma and its migrations, applied in
folder order). Tables and columns that older versions lack are optional here and arrive
as NULL. Timestamps are UTC `timestamp(3)`; the daily tables' `date` is 'YYYY-MM-DD' (UTC).
"""

from __future__ import annotations

from warehouse.ingest.tables import SourceKind, TableSpec

# One row per request. LiteLLM writes them in batches after the request ends, dated by
# its start: a long streaming request lands well after rows that started later, so the
# re-read window is an hour, not five minutes. Message and response bodies (prompts!)
# and the caller's IP address are never copied.
SPEND_LOGS = TableSpec(
    name="LiteLLM_SpendLogs",
    key=("request_id",),
    cursor="startTime",
    cursor_kind="timestamp",
    overlap_seconds=3600,
    required=("request_id", "api_key", "spend", "prompt_tokens", "completion_tokens",
              "total_tokens", "startTime", "endTime", "model", "user", "request_tags"),
    skip_columns=("messages", "response", "proxy_server_request", "requester_ip_address",
                  "cache_key"),
    person_columns=("user", "end_user"),
    columns={
        "request_id": "VARCHAR", "call_type": "VARCHAR", "api_key": "VARCHAR",
        "spend": "DOUBLE", "total_tokens": "BIGINT", "prompt_tokens": "BIGINT",
        "completion_tokens": "BIGINT", "startTime": "TIMESTAMP", "endTime": "TIMESTAMP",
        "request_duration_ms": "BIGINT", "model": "VARCHAR", "model_group": "VARCHAR",
        "custom_llm_provider": "VARCHAR", "user": "VARCHAR", "metadata": "VARCHAR",
        "request_tags": "VARCHAR", "team_id": "VARCHAR", "end_user": "VARCHAR",
        "status": "VARCHAR", "session_id": "VARCHAR",
    },
)

_DAILY_COLUMNS = {
    "id": "VARCHAR", "date": "VARCHAR", "api_key": "VARCHAR", "model": "VARCHAR",
    "model_group": "VARCHAR", "custom_llm_provider": "VARCHAR", "prompt_tokens": "BIGINT",
    "completion_tokens": "BIGINT", "spend": "DOUBLE", "api_requests": "BIGINT",
    "successful_requests": "BIGINT", "failed_requests": "BIGINT",
    "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP",
}
_DAILY_REQUIRED = ("id", "date", "api_key", "model", "prompt_tokens", "completion_tokens",
                   "spend", "api_requests", "updated_at")


def _daily(name: str, entity: str, optional: bool) -> TableSpec:
    """A daily aggregate table: incremented in place by LiteLLM's batch writer, so rows
    change after they are first written and are read by `updated_at`."""
    return TableSpec(
        name=name, key=("id",), cursor="updated_at", cursor_kind="timestamp",
        optional=optional, required=_DAILY_REQUIRED + (entity,),
        columns={entity: "VARCHAR"} | _DAILY_COLUMNS,
        person_columns=("user_id",) if entity == "user_id" else (),
    )


DAILY_USER = _daily("LiteLLM_DailyUserSpend", "user_id", optional=False)
DAILY_TEAM = _daily("LiteLLM_DailyTeamSpend", "team_id", optional=True)
DAILY_TAG = _daily("LiteLLM_DailyTagSpend", "tag", optional=True)

KEYS = TableSpec(
    name="LiteLLM_VerificationToken",
    key=("token",),  # the hashed key: LiteLLM never stores the key itself
    required=("token", "key_alias", "user_id", "team_id"),
    person_refs=("user_id",),
    columns={
        "token": "VARCHAR", "key_name": "VARCHAR", "key_alias": "VARCHAR",
        "user_id": "VARCHAR", "team_id": "VARCHAR", "spend": "DOUBLE",
        "max_budget": "DOUBLE", "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP",
    },
)

DELETED_KEYS = TableSpec(
    name="LiteLLM_DeletedVerificationToken",
    key=("id",),
    optional=True,  # since 2025-12
    required=("token", "key_alias", "deleted_at"),
    person_refs=("user_id",),
    columns={
        "id": "VARCHAR", "token": "VARCHAR", "key_name": "VARCHAR", "key_alias": "VARCHAR",
        "user_id": "VARCHAR", "team_id": "VARCHAR", "spend": "DOUBLE",
        "created_at": "TIMESTAMP", "deleted_at": "TIMESTAMP",
    },
)

USERS = TableSpec(
    name="LiteLLM_UserTable",
    key=("user_id",),
    required=("user_id", "user_email"),
    person_columns=("user_id", "user_email"),
    skip_columns=("password",),
    columns={
        "user_id": "VARCHAR", "user_alias": "VARCHAR", "user_email": "VARCHAR",
        "user_role": "VARCHAR", "team_id": "VARCHAR", "spend": "DOUBLE",
        "max_budget": "DOUBLE", "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP",
    },
)

TEAMS = TableSpec(
    name="LiteLLM_TeamTable",
    key=("team_id",),
    required=("team_id", "team_alias"),
    columns={
        "team_id": "VARCHAR", "team_alias": "VARCHAR", "spend": "DOUBLE",
        "max_budget": "DOUBLE", "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP",
    },
)

DELETED_TEAMS = TableSpec(
    name="LiteLLM_DeletedTeamTable",
    key=("id",),
    optional=True,  # since 2025-12
    required=("team_id", "team_alias", "deleted_at"),
    columns={
        "id": "VARCHAR", "team_id": "VARCHAR", "team_alias": "VARCHAR", "spend": "DOUBLE",
        "deleted_at": "TIMESTAMP",
    },
)

END_USERS = TableSpec(
    name="LiteLLM_EndUserTable",
    key=("user_id",),
    optional=True,
    required=("user_id",),
    person_columns=("user_id",),
    columns={"user_id": "VARCHAR", "alias": "VARCHAR", "spend": "DOUBLE"},
)

KIND = SourceKind(
    name="litellm",
    tables=(SPEND_LOGS, DAILY_USER, DAILY_TEAM, DAILY_TAG, KEYS, DELETED_KEYS, USERS, TEAMS,
            DELETED_TEAMS, END_USERS),
    identifying_tables=("LiteLLM_SpendLogs", "LiteLLM_VerificationToken"),
    description="a LiteLLM proxy database",
    # litellm-proxy-extras' migrations: LiteLLM_DailyUserSpend.api_requests arrived in
    # 20250327180120; tests cover that schema, the one before the deleted-keys tables and
    # the newest.
    versions="LiteLLM proxy schemas from migration 20250327180120 (March 2025) to "
             "litellm-proxy-extras 0.4.110",
    dialects=("postgres",),
)
