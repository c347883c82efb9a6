-- One row per UTC day x tag x key x model x provider of LiteLLM's daily aggregate, from
-- raw_litellm."LiteLLM_DailyTagSpend" (incremented in place by LiteLLM's batch writer).
with source as (
    select * from raw_litellm."LiteLLM_DailyTagSpend"
),

final as (
    select
        _source as source_name,
        id as row_id,
        nullif(tag, '') as tag,
        _warehouse.utc_day(date) as day,
        nullif(api_key, '') as api_key_hash,
        coalesce(nullif(model_group, ''), nullif(model, '')) as model_id,
        nullif(custom_llm_provider, '') as provider,
        _warehouse.plausible_tokens(prompt_tokens) as input_tokens,
        _warehouse.plausible_tokens(completion_tokens) as output_tokens,
        spend,
        api_requests as requests,
        -- versions before 2025-04 count requests only
        coalesce(successful_requests, api_requests - coalesce(failed_requests, 0))
            as successful_requests,
        coalesce(failed_requests, 0) as failed_requests,
        timezone('UTC', updated_at) as updated_at,
        _deleted_at as deleted_at
    from source
)

select * from final
