-- One row per Open WebUI chat_message row (user, assistant and system turns), from
-- raw_openwebui.chat_message (Open WebUI >= 0.8). Timestamps to UTC, token keys unified.
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
        usage as usage_json,
        case when error is not null and error not in ('null', '{}', '""') then error end
            as error_json,
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
