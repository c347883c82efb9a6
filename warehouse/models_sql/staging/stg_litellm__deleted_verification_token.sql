-- One row per key deletion LiteLLM recorded (versions since 2025-12), from
-- raw_litellm."LiteLLM_DeletedVerificationToken": names of keys deleted before any ingest.
with source as (
    select * from raw_litellm."LiteLLM_DeletedVerificationToken"
),

final as (
    select
        _source as source_name,
        token as api_key_hash,
        nullif(key_alias, '') as key_alias,
        nullif(key_name, '') as key_name,
        nullif(user_id, '') as user_id,
        nullif(team_id, '') as team_id,
        timezone('UTC', created_at) as created_at,
        timezone('UTC', deleted_at) as deleted_at
    from source
)

select * from final
