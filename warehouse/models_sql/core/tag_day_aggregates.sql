-- One row per UTC day x LiteLLM source x tag x key x model from LiteLLM's daily tag
-- table, for the same days as core.usage_day_aggregates (spend logs not held). The
-- user is the key's owner, as LiteLLM's own tag analytics find it.
with daily as (
    select * exclude (entity_id), entity_id as tag
    from staging.stg_litellm__daily_spend
    where entity_kind = 'tag' and day is not null
),

missing_days as (
    select distinct source_name, day from core.usage_day_aggregates
),

keys as (
    select source_name, api_key_hash, user_id, team_id from core.api_keys
),

final as (
    select
        daily.source_name,
        daily.day,
        daily.tag,
        keys.user_id,
        daily.api_key_hash,
        keys.team_id,
        daily.model_id,
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
    where daily.tag is not null
)

select * from final
