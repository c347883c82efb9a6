-- The chats report's usual question, the latest chats, answered without grouping every
-- chat of the facts: the newest chats of core.chats are checked against the facts, and
-- a chat that core.chats does not date (ledger-only, or without updated_at) can only
-- rank among them if it has facts at or after the $limit-th checked chat's update.
-- Returns no rows when fewer than $limit of the newest chats have facts (a rarely used
-- --model, a narrow window): the caller then asks chats.sql. Same rows as chats.sql.
with candidates as (
    select source_name, chat_id, user_id, title, first_message, updated_at,
        deleted_in_source
    from core.chats
    where updated_at is not null
    order by updated_at desc, chat_id
    limit $limit * 4
),

seen as (
    select facts.source_name, facts.chat_id, min(facts.user_id) as user_id
    from facts
    join candidates as c on c.source_name = facts.source_name and c.chat_id = facts.chat_id
    where facts.model_id is not null
    group by facts.source_name, facts.chat_id
),

verified as (
    select c.source_name, c.chat_id, coalesce(c.user_id, seen.user_id) as user_id,
        c.title, c.first_message, c.updated_at, c.deleted_in_source
    from candidates as c
    join seen on seen.source_name = c.source_name and seen.chat_id = c.chat_id
),

threshold as (
    select min(updated_at) as since, count(*) as n
    from (select updated_at from verified order by updated_at desc, chat_id limit $limit)
),

recent as (
    select source_name, chat_id, max(ts) as last_response
    from facts
    where model_id is not null and chat_id is not null
        and ts >= (select since from threshold)
    group by source_name, chat_id
),

undated as (
    select recent.source_name, recent.chat_id, chats.user_id, chats.title,
        chats.first_message, recent.last_response as updated_at,
        coalesce(chats.deleted_in_source, true) as deleted_in_source
    from recent
    left join core.chats as chats
        on chats.source_name = recent.source_name and chats.chat_id = recent.chat_id
    where chats.updated_at is null
),

undated_owners as (
    select facts.source_name, facts.chat_id, min(facts.user_id) as user_id
    from facts
    join undated as u on u.source_name = facts.source_name and u.chat_id = facts.chat_id
    where facts.model_id is not null
    group by facts.source_name, facts.chat_id
),

listed as (
    select * from verified
    union all
    select u.source_name, u.chat_id, coalesce(u.user_id, o.user_id), u.title,
        u.first_message, u.updated_at, u.deleted_in_source
    from undated as u
    join undated_owners as o on o.source_name = u.source_name and o.chat_id = u.chat_id
),

names as (
    select source_name, user_id, name, email from core.users
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
where (select n from threshold) >= $limit
order by listed.updated_at desc, listed.chat_id
limit $limit
