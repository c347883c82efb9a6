-- One row per LLM call the openwebui-token-tracking plugin logged, from
-- raw_openwebui.token_tracking_usage_log. log_day is the plugin's own day: the date of
-- its naive local log_date (PostgreSQL sources: the UTC date, see README).
with source as (
    select * from raw_openwebui.token_tracking_usage_log
),

final as (
    select
        _source as source_name,
        log_date,
        cast(log_date as date) as log_day,
        user_id,
        provider,
        model_id,
        nullif(sponsored_allowance_id, '') as sponsored_allowance_id,
        prompt_tokens,
        response_tokens,
        _deleted_at as deleted_at
    from source
)

select * from final
