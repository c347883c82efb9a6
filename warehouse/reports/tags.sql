-- Tags by frequency, with LiteLLM's tag summary figures: per tag, distinct users,
-- requests (successful, failed), tokens and spend in the window. Tags are LiteLLM's
-- request tags and Open WebUI's chat tags. A request counts under each of its tags, so
-- rows must not be added up.
select
    tag,
    count(distinct user_id) as unique_users,
    sum(messages)::bigint as total_requests,
    (sum(messages) - sum(failed))::bigint as successful_requests,
    sum(failed)::bigint as failed_requests,
    (coalesce(sum(input_tokens), 0) + coalesce(sum(output_tokens), 0))::bigint
        as total_tokens,
    coalesce(sum(cost), 0) as total_spend
from facts
group by tag
order by total_requests desc, tag
limit $limit
