-- The canonical fact: one row per LLM response. Today: every Open WebUI assistant message
-- (chat_message or legacy chat JSON), kept after the chat is deleted in the source.
with responses as (
    select * from core.messages where role = 'assistant'
),

chats as (
    select source_name, chat_id, created_at, tag_ids from staging.stg_openwebui__chat
),

final as (
    select
        'openwebui:' || r.source_name || ':' || r.message_row_id as event_id,
        'openwebui' as source_kind,
        r.source_name,
        'ui' as channel,
        -- a message with an unusable timestamp is dated by its chat
        coalesce(r.created_at, c.created_at) as occurred_at,
        r.created_at is null as occurred_at_estimated,
        r.user_id,
        r.chat_id,
        r.message_row_id as message_id,
        r.model_id,
        null::varchar as provider,
        null::varchar as api_key_hash,
        null::varchar as team_id,
        coalesce(c.tag_ids, []::varchar[]) as tags,
        r.input_tokens,
        r.output_tokens,
        case
            when r.input_tokens is not null or r.output_tokens is not null
                then coalesce(r.input_tokens, 0) + coalesce(r.output_tokens, 0)
        end as total_tokens,
        null::decimal(18, 6) as cost,
        null::varchar as cost_currency,
        null::decimal(18, 4) as credits,
        case when r.error_json is null then 'success' else 'failure' end as status,
        null::bigint as latency_ms,
        r.deleted_at is not null as deleted_in_source,
        -- Open WebUI counts a message as having usage when the column is not SQL NULL,
        -- JSON null included; usage_reported says whether token figures really exist.
        r.usage_json is not null as usage_present,
        r.input_tokens is not null or r.output_tokens is not null as usage_reported
    from responses as r
    left join chats as c on c.source_name = r.source_name and c.chat_id = r.chat_id
)

select * from final
