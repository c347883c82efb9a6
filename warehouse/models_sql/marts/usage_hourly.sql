-- One row per UTC hour x source x channel x user x model x chat x key x team x tag list x
-- deleted flag: responses (messages or requests), failures, tokens, cost. Fine enough
-- that distinct users, chats and models stay exact over any window of whole hours in
-- any whole-hour time zone; reports read it instead of events. Days of LiteLLM whose
-- spend logs the warehouse does not hold in full (purged before they were copied) come
-- from its daily table instead of their events, at 00:00 UTC with day_aggregate = true.
-- Background tasks (channel 'task') are not messages: they add tokens and cost only.
-- cost is the source's own figure (as billed, in cost_currency); repriced_cost prices
-- the tokens with the price file (in repriced_currency); unpriced counts responses that
-- no price covers. Both costs are 64-bit decimals (9 places, up to a billion units per
-- row; repriced_cost is each row's exact sum rounded half up to a billionth), which
-- reports add up many times faster than 128-bit ones. counted_elsewhere rows are
-- LiteLLM requests that a routed Open WebUI source also holds (see core.usage_events).
-- chat_key, user_key, model_key stand for the ids where reports count distinct ones.
-- incremental: hour
with events as (
    select * from core.usage_events
    where not in_aggregated_day and _warehouse.in_build(occurred_at)
),

event_hours as (
    select
        date_trunc('hour', occurred_at) as hour,
        source_name,
        channel,
        user_id,
        model_id,
        chat_id,
        chat_key,
        user_key,
        model_key,
        api_key_hash,
        team_id,
        tags,
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
        count(*) filter (where price_line is null) as unpriced,
        count(*) filter (where usage_present and channel <> 'task') as usage_messages,
        count(*) filter (where usage_reported and channel <> 'task') as reported_messages
    from events
    group by all
),

day_rows as (
    select timezone('UTC', day::timestamp) as hour, * from core.usage_day_aggregates
    where _warehouse.in_build(timezone('UTC', day::timestamp))
),

-- a purged day is priced at the prices in force at its start (00:00 UTC)
aggregate_days as (
    select
        d.hour,
        d.source_name,
        'api' as channel,
        d.user_id,
        d.model_id,
        null::varchar as chat_id,
        null::integer as chat_key,
        uk.user_key,
        mk.model_key,
        d.api_key_hash,
        d.team_id,
        []::varchar[] as tags,
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
            as unpriced,
        sum(d.requests)::bigint as usage_messages,
        sum(d.requests)::bigint as reported_messages
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
