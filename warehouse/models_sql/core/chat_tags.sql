-- One row per (chat, tag): the tag ids in chat.meta.tags with the owner's tag name.
with chat_tag_ids as (
    select source_name, chat_id, user_id, unnest(tag_ids) as tag_id
    from core.chats
),

tags as (
    select * from staging.stg_openwebui__tag
),

final as (
    select
        c.source_name,
        c.chat_id,
        c.tag_id,
        coalesce(tags.tag_name, c.tag_id) as tag_name
    from chat_tag_ids as c
    left join tags
        on tags.source_name = c.source_name
        and tags.tag_id = c.tag_id
        and tags.user_id = c.user_id
)

select * from final
