-- openwebui-token-tracking 0.1.10's tables, as its alembic migrations create them
-- (openwebui_token_tracking/migrations/alembic/versions/*.py): String(255) -> VARCHAR(255),
-- Integer -> INTEGER. {uuid} is UUID in PostgreSQL and CHAR(32) in SQLite, {timestamptz}
-- TIMESTAMP WITH TIME ZONE and DATETIME (SQLAlchemy's renderings). No primary key on the
-- usage log or the link tables, as the migrations leave them.
CREATE TABLE token_tracking_usage_log (
    log_date {timestamptz},
    user_id VARCHAR(255),
    provider VARCHAR(255),
    model_id VARCHAR(255),
    prompt_tokens INTEGER,
    response_tokens INTEGER
);
CREATE TABLE token_tracking_model_pricing (
    id VARCHAR(255) NOT NULL PRIMARY KEY,
    provider VARCHAR(255),
    name VARCHAR(255),
    input_cost_credits INTEGER,
    per_input_tokens INTEGER,
    output_cost_credits INTEGER,
    per_output_tokens INTEGER
);
CREATE TABLE token_tracking_credit_group (
    id {uuid} NOT NULL PRIMARY KEY,
    name VARCHAR(255),
    max_credit INTEGER,
    description VARCHAR(255)
);
CREATE TABLE token_tracking_credit_group_user (
    credit_group_id {uuid} REFERENCES token_tracking_credit_group (id),
    user_id VARCHAR(255) REFERENCES "user" (id)
);
CREATE UNIQUE INDEX idx_token_tracking_credit_group_name_lower
    ON token_tracking_credit_group (lower(name));
CREATE TABLE token_tracking_base_settings (
    setting_key VARCHAR(255) NOT NULL PRIMARY KEY,
    setting_value VARCHAR(255),
    description VARCHAR(255)
);
CREATE TABLE token_tracking_sponsored_allowance (
    id {uuid} NOT NULL PRIMARY KEY,
    creation_date {timestamptz} DEFAULT CURRENT_TIMESTAMP NOT NULL,
    name VARCHAR(255),
    sponsor_id VARCHAR(255),
    total_credit_limit INTEGER NOT NULL,
    daily_credit_limit INTEGER
);
CREATE TABLE token_tracking_sponsored_allowance_base_models (
    sponsored_allowance_id {uuid} REFERENCES token_tracking_sponsored_allowance (id),
    base_model_id VARCHAR(255) REFERENCES token_tracking_model_pricing (id)
);
ALTER TABLE token_tracking_usage_log ADD COLUMN sponsored_allowance_id {uuid}
    REFERENCES token_tracking_sponsored_allowance (id);
