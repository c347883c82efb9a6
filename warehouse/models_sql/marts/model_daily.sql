-- One row per UTC day x source x model: messages, distinct users and chats that day, tokens.
-- incremental: day
with hourly as (
    select * from marts.usage_hourly where _warehouse.in_build(hour)
),

final as (
    select
        cast(hour as date) as day,
        source_name,
        model_id,
        sum(messages)::bigint as messages,
        count(distinct user_id) as unique_users,
        count(distinct chat_id) as unique_chats,
        sum(input_tokens)::bigint as input_tokens,
        sum(output_tokens)::bigint as output_tokens,
        sum(total_tokens)::bigint as total_tokens
    from hourly
    group by all
)

select * from final
