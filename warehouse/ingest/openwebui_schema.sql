-- Open WebUI 0.12 tables read by usage-warehouse, as open_webui/models/*.py and its alembic
-- migrations create them (SQLAlchemy types: String -> VARCHAR, Text -> TEXT, JSON -> JSON,
-- BigInteger -> BIGINT, Boolean -> BOOLEAN). Valid in SQLite and PostgreSQL alike. Used by
-- `warehouse demo` and by the test fixtures.
CREATE TABLE "user" (
    id VARCHAR NOT NULL PRIMARY KEY,
    email VARCHAR,
    username VARCHAR(50),
    role VARCHAR,
    name VARCHAR NOT NULL,
    profile_image_url TEXT,
    profile_banner_image_url TEXT,
    bio TEXT,
    gender TEXT,
    date_of_birth DATE,
    timezone VARCHAR,
    presence_state VARCHAR,
    status_emoji VARCHAR,
    status_message TEXT,
    status_expires_at BIGINT,
    info JSON,
    variables JSON,
    settings JSON,
    oauth JSON,
    scim JSON,
    last_active_at BIGINT,
    updated_at BIGINT,
    created_at BIGINT
);
CREATE UNIQUE INDEX user_email_key ON "user" (email);

CREATE TABLE chat (
    id VARCHAR NOT NULL PRIMARY KEY,
    user_id VARCHAR,
    title TEXT,
    chat JSON,
    created_at BIGINT,
    updated_at BIGINT,
    share_id TEXT UNIQUE,
    archived BOOLEAN,
    pinned BOOLEAN,
    meta JSON DEFAULT '{}' NOT NULL,
    variables JSON,
    folder_id TEXT,
    tasks JSON,
    summary TEXT,
    current_message_id TEXT,
    last_read_at BIGINT,
    timer_at BIGINT
);
CREATE INDEX ix_chat_user_id ON chat (user_id);
CREATE INDEX ix_chat_created_at ON chat (created_at);
CREATE INDEX ix_chat_updated_at ON chat (updated_at);

CREATE TABLE chat_message (
    id TEXT NOT NULL PRIMARY KEY,
    chat_id TEXT NOT NULL REFERENCES chat (id) ON DELETE CASCADE,
    user_id TEXT,
    role TEXT NOT NULL,
    parent_id TEXT,
    content JSON,
    output JSON,
    model_id TEXT,
    files JSON,
    sources JSON,
    embeds JSON,
    meta JSON,
    done BOOLEAN,
    status_history JSON,
    error JSON,
    usage JSON,
    context_summary TEXT,
    created_at BIGINT,
    updated_at BIGINT
);
CREATE INDEX ix_chat_message_chat_id ON chat_message (chat_id);
CREATE INDEX ix_chat_message_user_id ON chat_message (user_id);
CREATE INDEX ix_chat_message_model_id ON chat_message (model_id);
CREATE INDEX ix_chat_message_created_at ON chat_message (created_at);
CREATE INDEX chat_message_model_created_idx ON chat_message (model_id, created_at);
CREATE INDEX chat_message_user_created_idx ON chat_message (user_id, created_at);

CREATE TABLE "group" (
    id TEXT NOT NULL PRIMARY KEY,
    parent_group_id TEXT REFERENCES "group" (id) ON DELETE SET NULL,
    user_id TEXT,
    name TEXT,
    description TEXT,
    data JSON,
    meta JSON,
    permissions JSON,
    created_at BIGINT,
    updated_at BIGINT
);
CREATE INDEX ix_group_parent_group_id ON "group" (parent_group_id);

CREATE TABLE group_member (
    id TEXT NOT NULL PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES "group" (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    created_at BIGINT,
    updated_at BIGINT,
    UNIQUE (group_id, user_id)
);

CREATE TABLE feedback (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT,
    version BIGINT,
    type TEXT,
    data JSON,
    meta JSON,
    snapshot JSON,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE tag (
    id VARCHAR NOT NULL,
    name VARCHAR,
    user_id VARCHAR NOT NULL,
    meta JSON,
    PRIMARY KEY (id, user_id)
);
CREATE INDEX ix_tag_name ON tag (name);
CREATE INDEX ix_tag_user_id ON tag (user_id);
