-- Open WebUI's /analytics/users and LiteLLM's per-user analytics in one: per user,
-- responses (assistant messages and API requests, any model), successful and failed,
-- tokens, and the user agent of most requests; ranked by --metric, paged by --page.
-- Tokens of rows without a user stay zero, as Open WebUI's. The cost columns are the
-- costs report's --by user (joined after this query, which then ranks --metric spend).
with per_user as (
    select
        user_id,
        sum(messages)::bigint as count,
        (sum(messages) - sum(failed))::bigint as successful_requests,
        sum(failed)::bigint as failed_requests,
        coalesce(sum(input_tokens) filter (where user_id is not null), 0)::bigint
            as input_tokens,
        coalesce(sum(output_tokens) filter (where user_id is not null), 0)::bigint
            as output_tokens
    from facts
    group by user_id
),

agents as (
    -- LiteLLM tags a request 'User-Agent: curl' and 'User-Agent: curl/8.5.0': the most
    -- requests wins, and on a tie the more specific (longer) tag
    select user_id, trim(substr(tag, length('User-Agent:') + 1)) as user_agent
    from (
        select user_id, tag, sum(messages) as requests
        -- unnesting only the rows that have such a tag, of LiteLLM's requests (channel
        -- 'api': Open WebUI's chat tags are lower-case ids, never a user agent), so
        -- the tag lists of Open WebUI's rows are not read at all (a third of the report)
        from (select user_id, unnest(tags) as tag, messages from facts
              where channel = 'api'
                  and list_bool_or(list_transform(tags, t -> t like 'User-Agent:%')))
        where tag like 'User-Agent:%'
        group by all
    )
    qualify row_number() over (
        partition by user_id order by requests desc, length(tag) desc, tag) = 1
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
    per_user.input_tokens + per_user.output_tokens as total_tokens,
    per_user.successful_requests,
    per_user.failed_requests,
    agents.user_agent
from per_user
left join names on names.user_id = per_user.user_id
left join agents on agents.user_id is not distinct from per_user.user_id
order by
    case $metric
        when 'tokens' then per_user.input_tokens + per_user.output_tokens
        when 'successful' then per_user.successful_requests
        when 'messages' then per_user.count
    end desc,
    per_user.count desc,
    per_user.user_id
limit $limit offset $offset
