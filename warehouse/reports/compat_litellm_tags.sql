-- LiteLLM's tag summary (/tag/summary) on the copied tables, for figures equal to what
-- LiteLLM shows: per tag of its daily tag table, dates from --since to the day before
-- --until (LiteLLM's end date is inclusive), distinct owners of keys that LiteLLM still
-- has (usage of deleted keys loses its user there), requests, tokens and spend.
-- --tag picks exact tags, --tag-like a part of one (ILIKE, as LiteLLM's tag_filter).
-- daily_rows: the tag's rows in that table, which orders LiteLLM's /tag/distinct.
with tag_rows as (
    select *
    from raw_litellm."LiteLLM_DailyTagSpend"
    where _deleted_at is null
        and ($source is null or _source = $source)
        and ($since is null or date >= strftime($since::timestamptz, '%Y-%m-%d'))
        and ($until is null
            or date <= strftime($until::timestamptz - interval 1 day, '%Y-%m-%d'))
        and ($tags is null or list_contains($tags, tag))
        and ($tags is not null or $tag_like is null or tag ilike '%' || $tag_like || '%')
),

live_keys as (
    select _source, token, user_id
    from raw_litellm."LiteLLM_VerificationToken"
    where _deleted_at is null
)

select
    tag_rows.tag,
    count(distinct live_keys.user_id) as unique_users,
    sum(tag_rows.api_requests)::bigint as total_requests,
    sum(tag_rows.successful_requests)::bigint as successful_requests,
    sum(tag_rows.failed_requests)::bigint as failed_requests,
    sum(tag_rows.prompt_tokens + tag_rows.completion_tokens)::bigint as total_tokens,
    sum(tag_rows.spend) as total_spend,
    count(*) as daily_rows
from tag_rows
left join live_keys
    on live_keys._source = tag_rows._source and live_keys.token = tag_rows.api_key
group by tag_rows.tag
order by total_requests desc, tag_rows.tag
