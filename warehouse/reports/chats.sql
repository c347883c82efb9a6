-- Open WebUI's model chat browser: chats with assistant messages (of --model, if given)
-- in the window, with owner, first user message (200 characters) and last update.
with chat_ids as (
    select source_name, chat_id
    from facts
    where model_id is not null
    group by source_name, chat_id
),

names as (
    select source_name, user_id, name from core.users
)

select
    chats.chat_id,
    chats.user_id,
    names.name as user_name,
    chats.title,
    chats.first_message,
    strftime(timezone($tz, chats.updated_at), '%Y-%m-%d %H:%M:%S') as updated_at,
    chats.deleted_in_source
from chat_ids
join core.chats as chats
    on chats.source_name = chat_ids.source_name and chats.chat_id = chat_ids.chat_id
left join names on names.source_name = chats.source_name and names.user_id = chats.user_id
order by chats.updated_at desc, chats.chat_id
limit $limit
