-- LiteLLM's tag DAU / WAU / MAU (/tag/dau, /tag/wau, /tag/mau) on the copied tables:
-- users are owners of keys LiteLLM still has, found through its daily tag table; all
-- periods end on $end_date = UTC today + 1 day, as LiteLLM's do. dau: each date of the
-- 8 dates up to it; wau: 7 buckets of 7 days; mau: 7 buckets of 30 days (labels as
-- LiteLLM's: 'Week 1 (Oct 06)', 'Month 7 (Nov)'). --tag / --tag-like filter tags.
with tag_users as (
    select tags.tag, tags.date, try_cast(tags.date as date) as day, keys.user_id
    from raw_litellm."LiteLLM_DailyTagSpend" as tags
    join raw_litellm."LiteLLM_VerificationToken" as keys
        on keys._source = tags._source and keys.token = tags.api_key
    where tags._deleted_at is null
        and keys._deleted_at is null
        and keys.user_id is not null
        and ($source is null or tags._source = $source)
        and ($tags is null or list_contains($tags, tags.tag))
        and ($tags is not null or $tag_like is null or tags.tag ilike '%' || $tag_like || '%')
),

bounds as (
    select
        $end_date::date as end_day,
        strftime($end_date::date, '%Y-%m-%d') as end_text
),

dau as (
    select
        'dau' as metric, tag, date, null::varchar as period_start,
        null::varchar as period_end, count(distinct user_id) as active_users
    from tag_users, bounds
    where date >= strftime(end_day - 7, '%Y-%m-%d') and date <= end_text
    group by tag, date
),

buckets as (
    select 'wau' as metric, 7 as days, 7 as bucket_count
    union all
    select 'mau', 30, 7
),

bucketed as (
    select
        buckets.metric, buckets.days, buckets.bucket_count, tag_users.tag,
        tag_users.user_id, bounds.end_day,
        (bounds.end_day - tag_users.day) // buckets.days as bucket_offset
    from tag_users, bounds, buckets
    where tag_users.date >= strftime(
            bounds.end_day - (buckets.days * buckets.bucket_count - 1)::integer, '%Y-%m-%d')
        and tag_users.date <= bounds.end_text
),

periods as (
    select
        metric,
        tag,
        case metric when 'wau' then 'Week ' else 'Month ' end
            || (bucket_count - bucket_offset)::varchar || ' ('
            || case metric
                when 'wau' then strftime(end_day - (bucket_offset * days + days - 1)::integer,
                    '%b %d')
                else strftime(end_day - (bucket_offset * days + days - 1)::integer, '%b')
            end || ')' as date,
        strftime(end_day - (bucket_offset * days + days - 1)::integer, '%Y-%m-%d') as period_start,
        strftime(end_day - (bucket_offset * days)::integer, '%Y-%m-%d') as period_end,
        count(distinct user_id) as active_users
    from bucketed
    where bucket_offset < bucket_count
    group by all
)

select * from (select * from dau union all select * from periods)
order by metric, coalesce(period_start, date), active_users desc, tag
