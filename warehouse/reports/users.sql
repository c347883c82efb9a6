-- Open WebUI's /analytics/users: per user, assistant messages (any model) and tokens;
-- ranked by messages or tokens. Tokens of rows without a user stay zero, as upstream.
with per_user as (
    select
        user_id,
        sum(messages)::bigint as count,
        coalesce(sum(input_tokens) filter (where user_id is not null), 0)::bigint
            as input_tokens,
        coalesce(sum(output_tokens) filter (where user_id is not null), 0)::bigint
            as output_tokens
    from facts
    group by user_id
),

names as (
    select user_id, any_value(name order by source_name) as name,
        any_value(email order by source_name) as email
    from core.users
    group by user_id
)

select
    per_user.user_id,
    names.name,
    names.email,
    per_user.count,
    per_user.input_tokens,
    per_user.output_tokens,
    per_user.input_tokens + per_user.output_tokens as total_tokens
from per_user
left join names on names.user_id = per_user.user_id
order by
    case when $metric = 'tokens' then per_user.input_tokens + per_user.output_tokens
        else per_user.count end desc,
    per_user.count desc,
    per_user.user_id
limit $limit
