-- summary.sql's figures, the distinct chats, models and users counted by the ids' small
-- integer keys (core.chat_keys and friends): chats as a bitstring, 1 to $chat_keys (the
-- last key given), several times faster than hashing the ids (benchmarks/RESULTS.md).
select
    coalesce(sum(messages) filter (where model_id is not null), 0)::bigint as total_messages,
    coalesce(bit_count(bitstring_agg(chat_key, 1, $chat_keys)), 0) as total_chats,
    count(distinct model_key) as total_models,
    count(distinct user_key) + (case when count(*) filter (where user_id is null) > 0
        then 1 else 0 end) as total_users,
    coalesce(sum(input_tokens), 0)::bigint as input_tokens,
    coalesce(sum(output_tokens), 0)::bigint as output_tokens,
    coalesce(sum(input_tokens), 0)::bigint + coalesce(sum(output_tokens), 0)::bigint
        as total_tokens
from facts
