-- One row per UTC day x entity x key x model x provider of LiteLLM's three daily
-- aggregates (incremented in place by its batch writer): entity_kind 'user' from
-- raw_litellm."LiteLLM_DailyUserSpend", 'team' from "LiteLLM_DailyTeamSpend", 'tag' from
-- "LiteLLM_DailyTagSpend". A request is in one user row and one team row, and in one tag
-- row per tag.
with user_rows as (
    select 'user' as entity_kind, user_id as entity_id, *
    from raw_litellm."LiteLLM_DailyUserSpend"
),

team_rows as (
    select 'team' as entity_kind, team_id as entity_id, *
    from raw_litellm."LiteLLM_DailyTeamSpend"
),

tag_rows as (
    select 'tag' as entity_kind, tag as entity_id, *
    from raw_litellm."LiteLLM_DailyTagSpend"
),

source as (
    select * exclude (user_id) from user_rows
    union all by name
    select * exclude (team_id) from team_rows
    union all by name
    select * exclude (tag) from tag_rows
),

final as (
    select
        _source as source_name,
        entity_kind,
        nullif(entity_id, '') as entity_id,
        id as row_id,
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
