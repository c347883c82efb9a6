-- Open WebUI's /analytics/models: per model, assistant messages, distinct users and chats.
select
    model_id,
    sum(messages)::bigint as count,
    count(distinct user_id) as unique_users,
    count(distinct chat_id) as unique_chats
from facts
where model_id is not null
group by model_id
order by count desc, model_id
limit $limit
