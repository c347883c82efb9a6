-- LiteLLM's per-user analytics (/tag/user-agent/per-user-analytics) on the copied tables:
-- its daily tag rows of the 30 days up to $end_date (UTC today + 1 day, or --as-of + 1)
-- that it still has, per owner of a key it still has: requests, tokens, spend, the
-- user's email and the first tag seen as user_agent (by date, then tag); ranked by
-- successful requests (ties by user id), paged by --page and --page-size; total_count
-- counts every user. --tag picks exact tags; --tag-like a part of one, case-sensitive
-- as LiteLLM's 'contains' here (its other endpoints use ILIKE).
with tag_rows as (
    select tags.*, keys.user_id
    from raw_litellm."LiteLLM_DailyTagSpend" as tags
    join raw_litellm."LiteLLM_VerificationToken" as keys
        on keys._source = tags._source and keys.token = tags.api_key
    where tags._deleted_at is null
        and keys._deleted_at is null
        and keys.user_id is not null
        and ($source is null or tags._source = $source)
        and tags.date >= strftime($end_date::date - 30, '%Y-%m-%d')
        and tags.date <= strftime($end_date::date, '%Y-%m-%d')
        and ($tags is null or list_contains($tags, tags.tag))
        and ($tags is not null or $tag_like is null or contains(tags.tag, $tag_like))
),

emails as (
    select user_id, any_value(user_email order by _source) as user_email
    from raw_litellm."LiteLLM_UserTable"
    where _deleted_at is null
    group by user_id
),

per_user as (
    select
        user_id,
        arg_min(tag, (date, tag)) as user_agent,
        coalesce(sum(successful_requests), 0)::bigint as successful_requests,
        coalesce(sum(failed_requests), 0)::bigint as failed_requests,
        coalesce(sum(api_requests), 0)::bigint as total_requests,
        coalesce(sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)), 0)::bigint
            as total_tokens,
        coalesce(sum(spend), 0)::double as spend
    from tag_rows
    group by user_id
)

select
    per_user.user_id,
    emails.user_email,
    per_user.user_agent,
    per_user.successful_requests,
    per_user.failed_requests,
    per_user.total_requests,
    per_user.total_tokens,
    per_user.spend,
    count(*) over () as total_count
from per_user
left join emails on emails.user_id = per_user.user_id
order by per_user.successful_requests desc, per_user.user_id
limit $limit offset $offset
