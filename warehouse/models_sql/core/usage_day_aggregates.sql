-- One row per UTC day x LiteLLM source x user x key x model x provider from LiteLLM's
-- daily user table, only for days whose spend logs the warehouse does not hold (purged
-- by LiteLLM's retention before they were copied, or never written): marts count these
-- days from here. A day is held when its copied successful requests (purged later or
-- not) reach the daily table's count; failures are compared out, as versions before
-- 2025-05 did not log them.
with daily as (
    select * exclude (entity_id), entity_id as user_id
    from staging.stg_litellm__daily_spend
    where entity_kind = 'user' and day is not null
),

daily_counts as (
    select source_name, day, sum(successful_requests) as successful_requests
    from daily
    group by all
),

held_counts as (
    select source_name, cast(timezone('UTC', started_at) as date) as day,
        count(*) filter (where status = 'success') as successful_requests
    from staging.stg_litellm__spend_logs
    group by all
),

missing_days as (
    select daily_counts.source_name, daily_counts.day
    from daily_counts
    left join held_counts
        on held_counts.source_name = daily_counts.source_name
        and held_counts.day = daily_counts.day
    where coalesce(held_counts.successful_requests, 0) < daily_counts.successful_requests
),

keys as (
    select source_name, api_key_hash, user_id, team_id from core.api_keys
),

final as (
    select
        daily.source_name,
        daily.day,
        coalesce(daily.user_id, keys.user_id) as user_id,
        daily.api_key_hash,
        keys.team_id,
        daily.model_id,
        daily.provider,
        daily.requests,
        daily.successful_requests,
        daily.failed_requests,
        daily.input_tokens,
        daily.output_tokens,
        daily.spend::decimal(18, 9) as cost,
        daily.deleted_at is not null as deleted_in_source
    from daily
    join missing_days
        on missing_days.source_name = daily.source_name and missing_days.day = daily.day
    left join keys
        on keys.source_name = daily.source_name and keys.api_key_hash = daily.api_key_hash
)

select * from final
