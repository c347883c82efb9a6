-- One row per message inside chat.chat JSON (history.messages), only for sources whose
-- Open WebUI predates the chat_message table (< 0.8): there the JSON is the only record.
-- Row ids follow Open WebUI's own back-fill: '{chat_id}-{message_id}'.
with legacy_sources as (
    select source_name
    from _warehouse.source_tables
    where table_name = 'chat_message' and not present
),

chats as (
    select *
    from raw_openwebui.chat
    where _source in (select source_name from legacy_sources) and json_valid(chat)
),

messages as (
    select
        chats._source as source_name,
        chats.id as chat_id,
        chats.user_id,
        chats._deleted_at,
        entry.key as message_key,
        entry.value as message
    from chats, json_each(chats.chat, '$.history.messages') as entry
),

renamed as (
    select
        source_name,
        chat_id || '-' || message_key as message_row_id,
        chat_id,
        user_id,
        message ->> 'role' as role,
        message ->> 'model' as model_id,
        message ->> 'parentId' as parent_id,
        (message -> 'content')::varchar as content_json,
        _warehouse.content_text((message -> 'content')::varchar) as content_text,
        -- json_extract, not ->: inside a call sqlglot reads -> as a lambda
        coalesce(json_extract(message, '$.usage'), json_extract(message, '$.info.usage'))::varchar
            as usage_json,
        case when coalesce(message ->> 'error', 'false') not in ('false', 'null')
            then (message -> 'error')::varchar end as error_json,
        try_cast(message ->> 'timestamp' as double) as created_at_raw,
        _warehouse.epoch_to_ts(try_cast(message ->> 'timestamp' as double)) as created_at,
        _warehouse.epoch_to_ts(try_cast(message ->> 'timestamp' as double)) as updated_at,
        _deleted_at as deleted_at
    from messages
),

final as (
    select
        *,
        _warehouse.usage_tokens(usage_json, 'input_tokens', 'prompt_tokens') as input_tokens,
        _warehouse.usage_tokens(usage_json, 'output_tokens', 'completion_tokens') as output_tokens,
        _warehouse.usage_tokens(usage_json, 'prompt_tokens_details.cached_tokens',
            'input_tokens_details.cached_tokens') as cached_tokens
    from renamed
)

select * from final
