-- models.sql's figures, grouped by the model's small integer key and the distinct users
-- and chats counted as bitstrings over theirs (1 to $user_keys and $chat_keys, the last
-- keys given): several times faster than hashing the ids (benchmarks/RESULTS.md).
select
    any_value(model_id) as model_id,
    sum(messages)::bigint as count,
    coalesce(bit_count(bitstring_agg(user_key, 1, $user_keys)), 0) as unique_users,
    coalesce(bit_count(bitstring_agg(chat_key, 1, $chat_keys)), 0) as unique_chats
from facts
where model_id is not null
group by model_key
order by count desc, model_id
limit $limit
