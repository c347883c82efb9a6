-- Open WebUI's model chats browser (/analytics/models/{model}/chats), as its code fills
-- it: the chats of its chat table with a response of --model in the window (chats known
-- only from the usage ledger are not listed, chats deleted since are, unless
-- --exclude-deleted), the title as first_message, updated_at in epoch seconds, ordered by
-- --order-by and --direction with ties by chat id, NULLs sorting as in SQLite (lowest):
-- {chat_order} (reports/__init__.py, CHAT_ORDER); paged by --offset and --limit; total
-- counts every matching chat.
with chat_ids as (
    select distinct source_name, chat_id
    from facts
    where model_id is not null and chat_id is not null
),

listed as (
    select
        chats.chat_id,
        chats.user_id,
        users.name as user_name,
        chats.title,
        chats.updated_at
    from chat_ids
    join core.chats as chats
        on chats.source_name = chat_ids.source_name and chats.chat_id = chat_ids.chat_id
    left join core.users as users
        on users.source_name = chats.source_name and users.user_id = chats.user_id
)

select
    chat_id,
    user_id,
    user_name,
    title as first_message,
    epoch(updated_at)::bigint as updated_at,
    count(*) over () as total
from listed
order by {chat_order}
limit $limit offset $offset
