-- One row per UTC hour x source x channel x user x model x chat x key x team x tag list x
-- deleted flag: responses (messages or requests), failures, tokens, cost. Fine enough
-- that distinct users, chats and models stay exact over any window of whole hours in
-- any whole-hour time zone; reports read it instead of events. Days of LiteLLM whose
-- spend logs the warehouse does not hold in full (purged before they were copied) come
-- from its daily table instead of their events, at 00:00 UTC with day_aggregate = true.
with events as (
    select * from core.usage_events where not in_aggregated_day
),

event_hours as (
    select
        date_trunc('hour', occurred_at) as hour,
        source_name,
        channel,
        user_id,
        model_id,
        chat_id,
        api_key_hash,
        team_id,
        tags,
        deleted_in_source,
        false as day_aggregate,
        count(*) as messages,
        count(*) filter (where status = 'failure') as failed,
        sum(input_tokens)::bigint as input_tokens,
        sum(output_tokens)::bigint as output_tokens,
        sum(total_tokens)::bigint as total_tokens,
        sum(cost) as cost,
        count(*) filter (where usage_present) as usage_messages,
        count(*) filter (where usage_reported) as reported_messages
    from events
    group by all
),

aggregate_days as (
    select
        timezone('UTC', day::timestamp) as hour,
        source_name,
        'api' as channel,
        user_id,
        model_id,
        null::varchar as chat_id,
        api_key_hash,
        team_id,
        []::varchar[] as tags,
        deleted_in_source,
        true as day_aggregate,
        sum(requests)::bigint as messages,
        sum(failed_requests)::bigint as failed,
        sum(input_tokens)::bigint as input_tokens,
        sum(output_tokens)::bigint as output_tokens,
        sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0))::bigint as total_tokens,
        sum(cost) as cost,
        sum(requests)::bigint as usage_messages,
        sum(requests)::bigint as reported_messages
    from core.usage_day_aggregates
    group by all
),

final as (
    select * from event_hours
    union all by name
    select * from aggregate_days
)

select * from final
