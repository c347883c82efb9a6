-- One row per LiteLLM internal user (the owners of keys), from
-- raw_litellm."LiteLLM_UserTable" (its password column is never copied).
with source as (
    select * from raw_litellm."LiteLLM_UserTable"
),

final as (
    select
        _source as source_name,
        user_id,
        nullif(user_alias, '') as name,
        nullif(user_email, '') as email,
        user_role as role,
        max_budget,
        spend as budget_spend,
        timezone('UTC', created_at) as created_at,
        _deleted_at as deleted_at
    from source
)

select * from final
