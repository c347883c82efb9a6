-- Open WebUI's /analytics/daily, flattened: one row per time bucket (in the report's time
-- zone) and model, with message count and tokens; buckets without usage appear with zeros.
with bucketed as (
    select
        date_trunc($granularity, timezone($tz, ts)) as bucket,
        model_id,
        sum(messages)::bigint as count,
        coalesce(sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)), 0)::bigint
            as total_tokens
    from facts
    where model_id is not null and ts is not null
    group by all
),

span as (
    select
        coalesce(date_trunc($granularity, timezone($tz, $since::timestamptz)), min(bucket))
            as first_bucket,
        coalesce(date_trunc($granularity,
            timezone($tz, $until::timestamptz - interval 1 microsecond)), max(bucket))
            as last_bucket
    from bucketed
),

buckets as (
    select unnest(generate_series(first_bucket, last_bucket,
        ('1 ' || $granularity)::interval)) as bucket
    from span
    where first_bucket is not null
),

models as (
    select distinct model_id from bucketed
    union all
    select null where not exists (select 1 from bucketed)
),

final as (
    select
        strftime(buckets.bucket,
            case when $granularity = 'hour' then '%Y-%m-%d %H:00' else '%Y-%m-%d' end)
            as date,
        models.model_id,
        coalesce(bucketed.count, 0) as count,
        coalesce(bucketed.total_tokens, 0) as total_tokens
    from buckets
    cross join models
    left join bucketed
        on bucketed.bucket = buckets.bucket
        and bucketed.model_id is not distinct from models.model_id
)

select * from final
order by date, model_id
