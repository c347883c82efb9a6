-- One row per UTC day x source x user x model: messages and tokens (for notebooks; the
-- reports read usage_hourly to honour any time zone).
-- incremental: day
with hourly as (
    select * from marts.usage_hourly where _warehouse.in_build(hour)
),

final as (
    select
        cast(hour as date) as day,
        source_name,
        user_id,
        model_id,
        sum(messages)::bigint as messages,
        count(distinct chat_id) as chats,
        sum(input_tokens)::bigint as input_tokens,
        sum(output_tokens)::bigint as output_tokens,
        sum(total_tokens)::bigint as total_tokens
    from hourly
    group by all
)

select * from final
