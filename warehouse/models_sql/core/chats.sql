-- One row per chat of every Open WebUI source with its first user message cut to 200
-- characters (the model chat browser's preview, placed by the ingest on that message:
-- empty in "none" content mode) and the models of its responses as a JSON array (from
-- core.usage_events, deleted ones included: Open WebUI's model chats browser asks "all
-- time" of them without reading every response; a text, which DuckDB stores once per
-- distinct array and searches as fast); deleted chats stay, flagged. Incremental by the
-- chat's creation day (a chat that changes or gets a response has its day rebuilt:
-- models_sql/changed_days.sql).
-- incremental: created_at
-- sorted: no (reports read chats whole or by id, never by a window of creation times)
with chats as (
    select * from staging.stg_openwebui__chat
    where not is_shared_copy and _warehouse.in_build(created_at)
),

first_messages as (
    select
        m.source_name,
        m.chat_id,
        arg_min(m.preview, m.created_at)
            filter (where m.role = 'user' and m.preview is not null) as first_message
    from core.messages as m
    semi join chats on chats.source_name = m.source_name and chats.chat_id = m.chat_id
    group by m.source_name, m.chat_id
),

chat_models as (
    select
        e.source_name,
        e.chat_id,
        to_json(list_sort(list(distinct e.model_id)))::varchar as models
    from core.usage_events as e
    semi join chats on chats.source_name = e.source_name and chats.chat_id = e.chat_id
    where e.model_id is not null
    group by e.source_name, e.chat_id
),

final as (
    select
        chats.source_name,
        chats.chat_id,
        chats.user_id,
        chats.title,
        first_messages.first_message,
        chats.created_at,
        chats.updated_at,
        chats.updated_at_raw,
        chats.archived,
        chats.tag_ids,
        chats.deleted_at is not null as deleted_in_source,
        coalesce(chat_models.models, '[]') as models
    from chats
    left join first_messages
        on first_messages.source_name = chats.source_name
        and first_messages.chat_id = chats.chat_id
    left join chat_models
        on chat_models.source_name = chats.source_name
        and chat_models.chat_id = chats.chat_id
)

select * from final
