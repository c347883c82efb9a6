-- One row per UTC hour x source x channel x user x model x chat x deleted flag: message
-- and token counts. Fine enough that distinct users, chats and models stay exact over any
-- window of whole hours in any whole-hour time zone; reports read it instead of events.
with events as (
    select * from core.usage_events
),

final as (
    select
        date_trunc('hour', occurred_at) as hour,
        source_name,
        channel,
        user_id,
        model_id,
        chat_id,
        deleted_in_source,
        count(*) as messages,
        sum(input_tokens)::bigint as input_tokens,
        sum(output_tokens)::bigint as output_tokens,
        sum(total_tokens)::bigint as total_tokens,
        count(*) filter (where usage_present) as usage_messages,
        count(*) filter (where usage_reported) as reported_messages
    from events
    group by all
)

select * from final
