-- One row per Open WebUI message (user, assistant and system turns), from
-- raw_openwebui.chat_message: the chat_message table (Open WebUI >= 0.8), or for older
-- versions the messages of each chat's JSON, turned into rows by the ingest with the
-- ids Open WebUI's own back-fill gives them ('{chat_id}-{message_id}'). Timestamps to
-- UTC, token keys unified. The text itself is kept only in "full" content mode
-- (content_json, content_text); content_length, error_recorded, files_count and
-- sources_count are computed by the source whatever the mode, and `preview` is set on
-- each chat's first user message unless the mode is "none".
with source as (
    select * from raw_openwebui.chat_message
),

renamed as (
    select
        _source as source_name,
        id as message_row_id,
        chat_id,
        user_id,
        role,
        model_id,
        parent_id,
        content as content_json,
        _warehouse.content_text(content) as content_text,
        content_length,
        preview,
        usage as usage_json,
        coalesce(error_recorded, false) as error_recorded,
        files_count,
        sources_count,
        created_at as created_at_raw,
        _warehouse.epoch_to_ts(created_at) as created_at,
        _warehouse.epoch_to_ts(updated_at) as updated_at,
        _deleted_at as deleted_at
    from source
),

final as (
    select
        *,
        _warehouse.usage_tokens(usage_json, 'input_tokens', 'prompt_tokens') as input_tokens,
        _warehouse.usage_tokens(usage_json, 'output_tokens', 'completion_tokens') as output_tokens,
        -- part of input_tokens served from the provider's prompt cache (OpenAI's key first)
        _warehouse.usage_tokens(usage_json, 'prompt_tokens_details.cached_tokens',
            'input_tokens_details.cached_tokens') as cached_tokens
    from renamed
)

select * from final
