-- One row per UTC hour x source x channel x tag x user x model x key x team: requests,
-- failures, tokens, cost. A response counts once under each of its tags (LiteLLM tags a
-- request with a versioned User-Agent twice), so never sum across tags. Tags are
-- LiteLLM's request tags and Open WebUI's chat tags; purged LiteLLM days come from its
-- daily tag table at 00:00 UTC (day_aggregate = true). Tasks add tokens and cost, not
-- messages; costs as in marts.usage_hourly, and so are user_key and model_key.
-- incremental: hour
with tagged as (
    select *, unnest(tags) as tag
    from core.usage_events
    where not in_aggregated_day and _warehouse.in_build(occurred_at)
),

event_hours as (
    select
        date_trunc('hour', occurred_at) as hour,
        source_name,
        channel,
        tag,
        user_id,
        model_id,
        user_key,
        model_key,
        api_key_hash,
        team_id,
        deleted_in_source,
        false as day_aggregate,
        counted_elsewhere,
        cost_currency,
        repriced_currency,
        count(*) filter (where channel <> 'task') as messages,
        count(*) filter (where status = 'failure' and channel <> 'task') as failed,
        sum(input_tokens)::bigint as input_tokens,
        sum(output_tokens)::bigint as output_tokens,
        sum(total_tokens)::bigint as total_tokens,
        sum(cost)::decimal(18, 9) as cost,
        round(sum(repriced_cost), 9)::decimal(18, 9) as repriced_cost,
        count(*) filter (where price_line is null) as unpriced
    from tagged
    group by all
),

day_rows as (
    select timezone('UTC', day::timestamp) as hour, * from core.tag_day_aggregates
    where _warehouse.in_build(timezone('UTC', day::timestamp))
),

aggregate_days as (
    select
        d.hour,
        d.source_name,
        'api' as channel,
        d.tag,
        d.user_id,
        d.model_id,
        uk.user_key,
        mk.model_key,
        d.api_key_hash,
        d.team_id,
        d.deleted_in_source,
        true as day_aggregate,
        false as counted_elsewhere,
        'USD' as cost_currency,
        p.currency as repriced_currency,
        sum(d.requests)::bigint as messages,
        sum(d.failed_requests)::bigint as failed,
        sum(d.input_tokens)::bigint as input_tokens,
        sum(d.output_tokens)::bigint as output_tokens,
        sum(coalesce(d.input_tokens, 0) + coalesce(d.output_tokens, 0))::bigint
            as total_tokens,
        sum(d.cost)::decimal(18, 9) as cost,
        round(sum(_warehouse.token_cost(d.input_tokens, null, d.output_tokens,
            p.input_per_token, p.cached_per_token, p.output_per_token)), 9)::decimal(18, 9)
            as repriced_cost,
        coalesce(sum(d.requests) filter (where p.price_line is null), 0)::bigint
            as unpriced
    from day_rows as d
    left join core.model_prices as p
        on p.model_id = d.model_id
        and d.hour >= p.valid_from
        and (p.valid_until is null or d.hour < p.valid_until)
    left join core.user_keys as uk on uk.user_id = d.user_id
    left join core.model_keys as mk on mk.model_id = d.model_id
    group by all
),

final as (
    select * from event_hours
    union all by name
    select * from aggregate_days
)

select * from final
