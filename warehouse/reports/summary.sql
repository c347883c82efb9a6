-- Open WebUI's /analytics/summary: assistant messages with a model, distinct chats, models
-- and users (a NULL user counts as one more user, as Open WebUI's does), plus tokens.
select
    coalesce(sum(messages) filter (where model_id is not null), 0)::bigint as total_messages,
    count(distinct chat_id) as total_chats,
    count(distinct model_id) as total_models,
    count(distinct user_id) + (case when count(*) filter (where user_id is null) > 0
        then 1 else 0 end) as total_users,
    coalesce(sum(input_tokens), 0)::bigint as input_tokens,
    coalesce(sum(output_tokens), 0)::bigint as output_tokens,
    coalesce(sum(input_tokens), 0)::bigint + coalesce(sum(output_tokens), 0)::bigint
        as total_tokens
from facts
