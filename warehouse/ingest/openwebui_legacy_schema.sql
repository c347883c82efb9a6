-- Open WebUI before 0.8 (no chat_message table: messages live only in chat.chat JSON) and
-- before the group_member migration of 2025-11-17 (membership as group.user_ids JSON).
-- Valid in SQLite and PostgreSQL alike.
CREATE TABLE "user" (
    id VARCHAR NOT NULL PRIMARY KEY,
    name VARCHAR,
    email VARCHAR,
    role VARCHAR,
    profile_image_url TEXT,
    api_key VARCHAR,
    settings JSON,
    info JSON,
    oauth_sub TEXT,
    last_active_at BIGINT,
    updated_at BIGINT,
    created_at BIGINT
);

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
    folder_id TEXT
);

CREATE TABLE "group" (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT,
    name TEXT,
    description TEXT,
    data JSON,
    meta JSON,
    permissions JSON,
    user_ids JSON,
    created_at BIGINT,
    updated_at BIGINT
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
