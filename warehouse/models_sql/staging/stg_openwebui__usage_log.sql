-- One row per completion in Open WebUI's append-only usage ledger (raw_openwebui.usage_log),
-- when the source has one. Channels: chat, temporary and channel rows are the UI; api
-- rows are API calls; task rows are background tasks (titles, tags, queries). Status
-- completed -> success, error -> failure, cancelled kept as is.
with source as (
    select * from raw_openwebui.usage_log
),

final as (
    select
        _source as source_name,
        id as ledger_id,
        user_id,
        nullif(chat_id, '') as chat_id,
        nullif(message_id, '') as message_id,
        -- the row id Open WebUI gives the same message in chat_message
        nullif(chat_id, '') || '-' || nullif(message_id, '') as message_row_id,
        model_id,
        base_model_id,
        lower(source) as ledger_source,
        case
            when lower(source) in ('chat', 'temporary', 'channel') then 'ui'
            when lower(source) = 'api' then 'api'
            when lower(source) = 'task' then 'task'
            else 'unknown'
        end as channel,
        case lower(status)
            when 'completed' then 'success'
            when 'error' then 'failure'
            when 'cancelled' then 'cancelled'
            else coalesce(lower(status), 'success')
        end as status,
        _warehouse.plausible_tokens(input_tokens) as input_tokens,
        _warehouse.plausible_tokens(output_tokens) as output_tokens,
        _warehouse.plausible_tokens(cached_tokens) as cached_tokens,
        _warehouse.plausible_tokens(reasoning_tokens) as reasoning_tokens,
        try_cast(cost as decimal(18, 9)) as cost,
        upper(nullif(currency, '')) as cost_currency,
        pricing as pricing_json,
        _warehouse.epoch_to_ts(created_at) as created_at,
        _deleted_at as deleted_at
    from source
)

select * from final
