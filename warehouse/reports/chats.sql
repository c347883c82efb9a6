-- Open WebUI's model chat browser: chats with assistant messages (of --model, if given)
-- in the window, with owner, first user message (200 characters) and last update. A chat
-- known only from the usage ledger (deleted before it was copied, or temporary) is listed
-- without title, with its last response as its update and deleted_in_source = true.
with chat_ids as (
    select source_name, chat_id, min(user_id) as user_id, max(ts) as last_response
    from facts
    where model_id is not null and chat_id is not null
    group by source_name, chat_id
),

names as (
    select source_name, user_id, name, email from core.users
),

listed as (
    select
        chat_ids.source_name,
        chat_ids.chat_id,
        coalesce(chats.user_id, chat_ids.user_id) as user_id,
        chats.title,
        chats.first_message,
        coalesce(chats.updated_at, chat_ids.last_response) as updated_at,
        coalesce(chats.deleted_in_source, true) as deleted_in_source
    from chat_ids
    left join core.chats as chats
        on chats.source_name = chat_ids.source_name and chats.chat_id = chat_ids.chat_id
)

select
    listed.chat_id,
    listed.user_id,
    names.name as user_name,
    names.email as user_email,
    listed.title,
    listed.first_message,
    strftime(timezone($tz, listed.updated_at), '%Y-%m-%d %H:%M:%S') as updated_at,
    listed.deleted_in_source
from listed
left join names on names.source_name = listed.source_name and names.user_id = listed.user_id
order by listed.updated_at desc, listed.chat_id
limit $limit
