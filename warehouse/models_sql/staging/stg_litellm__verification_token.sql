-- One row per LiteLLM virtual key, by its hash (LiteLLM never stores the key itself),
-- from raw_litellm."LiteLLM_VerificationToken"; keys deleted since they were copied stay,
-- flagged.
with source as (
    select * from raw_litellm."LiteLLM_VerificationToken"
),

final as (
    select
        _source as source_name,
        token as api_key_hash,
        nullif(key_alias, '') as key_alias,
        nullif(key_name, '') as key_name,
        nullif(user_id, '') as user_id,
        nullif(team_id, '') as team_id,
        max_budget,
        spend as budget_spend,
        timezone('UTC', created_at) as created_at,
        _deleted_at as deleted_at
    from source
)

select * from final
