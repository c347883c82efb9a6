-- One row per LiteLLM request (spend log), from raw_litellm."LiteLLM_SpendLogs": UTC
-- timestamps, implausible token counts as NULL, request_tags as a list, '' as NULL.
-- "user" is the key's owner, end_user the customer the caller named (SOURCES.md).
with source as (
    select * from raw_litellm."LiteLLM_SpendLogs"
),

final as (
    select
        _source as source_name,
        request_id,
        call_type,
        nullif(api_key, '') as api_key_hash,
        nullif("user", '') as key_user_id,
        nullif(end_user, '') as end_user_id,
        nullif(team_id, '') as team_id,
        coalesce(nullif(model_group, ''), nullif(model, '')) as model_id,
        nullif(model, '') as deployment_model,
        nullif(custom_llm_provider, '') as provider,
        timezone('UTC', "startTime") as started_at,
        timezone('UTC', "endTime") as ended_at,
        coalesce(request_duration_ms,
            date_diff('millisecond', "startTime", "endTime")) as latency_ms,
        _warehouse.plausible_tokens(prompt_tokens) as input_tokens,
        _warehouse.plausible_tokens(completion_tokens) as output_tokens,
        spend,
        _warehouse.json_string_list(request_tags) as tags,
        -- versions before 2025-05 log successes only and have no status column
        case when lower(status) = 'failure' then 'failure' else 'success' end as status,
        session_id,
        _deleted_at as deleted_at
    from source
)

select * from final
