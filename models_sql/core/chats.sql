-- One row per chat of every Open WebUI source with its first user message (the model chat
-- browser's preview); deleted chats stay, flagged.
with chats as (
    select * from staging.stg_openwebui__chat where not is_shared_copy
),

first_messages as (
    select
        source_name,
        chat_id,
        arg_min(content_text, created_at) filter (where role = 'user') as first_message
    from core.messages
    group by source_name, chat_id
),

final as (
    select
        chats.source_name,
        chats.chat_id,
        chats.user_id,
        chats.title,
        left(first_messages.first_message, 200) as first_message,
        chats.created_at,
        chats.updated_at,
        chats.updated_at_raw,
        chats.archived,
        chats.tag_ids,
        chats.deleted_at is not null as deleted_in_source
    from chats
    left join first_messages
        on first_messages.source_name = chats.source_name
        and first_messages.chat_id = chats.chat_id
)

select * from final
