-- Open WebUI's model chats browser asked for all time (its page's "All time": no
-- --since or --until, deleted chats included), from the models core.chats lists per
-- chat instead of every response: the same rows as compat_openwebui_chats.sql. Returns
-- no rows for any other question, or a page past the last chat (that file then answers).
-- {chat_order} is --order-by and --direction (reports/__init__.py, CHAT_ORDER).
with listed as not materialized (
    select source_name, chat_id, user_id, title, updated_at
    from core.chats
    where $since is null and $until is null and $include_deleted and $model is not null
        and ($source is null or source_name = $source)
        and {lists_model}
),

-- the owners' names are joined to every listed chat only to order by them
page as (
    select * from (
        select *, null::varchar as user_name
        from listed
        where $order_by <> 'user_name'
        order by {chat_order}
        limit $limit offset $offset
    )
    union all
    select * from (
        select listed.*, users.name as user_name
        from listed
        left join core.users as users
            on users.source_name = listed.source_name and users.user_id = listed.user_id
        where $order_by = 'user_name'
        order by {chat_order}
        limit $limit offset $offset
    )
)

select
    page.chat_id,
    page.user_id,
    users.name as user_name,
    page.title as first_message,
    epoch(page.updated_at)::bigint as updated_at,
    (select count(*) from listed) as total
from page
left join core.users as users
    on users.source_name = page.source_name and users.user_id = page.user_id
order by {chat_order}
