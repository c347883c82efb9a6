-- One row per LiteLLM end user (customer ids callers pass as `user`), from
-- raw_litellm."LiteLLM_EndUserTable".
with source as (
    select * from raw_litellm."LiteLLM_EndUserTable"
),

final as (
    select
        _source as source_name,
        user_id as end_user_id,
        nullif(alias, '') as alias,
        _deleted_at as deleted_at
    from source
)

select * from final
