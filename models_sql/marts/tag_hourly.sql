-- One row per UTC hour x source x channel x tag x user x model x key x team: requests,
-- failures, tokens, cost. A response counts once under each of its tags (LiteLLM tags a
-- request with a versioned User-Agent twice), so never sum across tags. Tags are
-- LiteLLM's request tags and Open WebUI's chat tags; purged LiteLLM days come from its
-- daily tag table at 00:00 UTC (day_aggregate = true).
with tagged as (
    select *, unnest(tags) as tag
    from core.usage_events
    where not in_aggregated_day
),

event_hours as (
    select
        date_trunc('hour', occurred_at) as hour,
        source_name,
        channel,
        tag,
        user_id,
        model_id,
        api_key_hash,
        team_id,
        deleted_in_source,
        false as day_aggregate,
        count(*) as messages,
        count(*) filter (where status = 'failure') as failed,
        sum(input_tokens)::bigint as input_tokens,
        sum(output_tokens)::bigint as output_tokens,
        sum(total_tokens)::bigint as total_tokens,
        sum(cost) as cost
    from tagged
    group by all
),

aggregate_days as (
    select
        timezone('UTC', day::timestamp) as hour,
        source_name,
        'api' as channel,
        tag,
        user_id,
        model_id,
        api_key_hash,
        team_id,
        deleted_in_source,
        true as day_aggregate,
        sum(requests)::bigint as messages,
        sum(failed_requests)::bigint as failed,
        sum(input_tokens)::bigint as input_tokens,
        sum(output_tokens)::bigint as output_tokens,
        sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0))::bigint as total_tokens,
        sum(cost) as cost
    from core.tag_day_aggregates
    group by all
),

final as (
    select * from event_hours
    union all by name
    select * from aggregate_days
)

select * from final
