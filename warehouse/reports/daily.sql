-- Open WebUI's /analytics/daily, flattened: one row per time bucket (in the report's time
-- zone, $step long, aligned to local midnight) and model, with message count and tokens;
-- buckets without usage appear with zeros. With --compare, the rows of the previous
-- period of the same length (facts start that much earlier) are moved forward by its
-- length ($shift microseconds), as Open WebUI does, and counted beside each bucket.
with shifted as (
    select
        coalesce($compare and ts < $since, false) as previous,
        case when coalesce($compare and ts < $since, false)
            then ts + to_microseconds($shift) else ts end as ts,
        model_id, messages, input_tokens, output_tokens
    from facts
    where model_id is not null and ts is not null
),

-- First per $grain seconds of UTC time (plain arithmetic; a whole hour when the zone's
-- offsets are, so every local bucket is made of whole grains), then each grain into its
-- local bucket: the zone conversion, slow per row, runs once per grain.
grains as (
    select
        time_bucket(to_seconds($grain), make_timestamp(epoch_us(ts))) as grain,
        model_id,
        sum(messages) filter (where not previous) as count,
        sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0))
            filter (where not previous) as total_tokens,
        sum(messages) filter (where previous) as previous_count,
        sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0))
            filter (where previous) as previous_total_tokens
    from shifted
    group by all
),

bucketed as (
    select
        time_bucket($step::interval, timezone($tz, timezone('UTC', grain))) as bucket,
        model_id,
        sum(count)::bigint as count,
        coalesce(sum(total_tokens), 0)::bigint as total_tokens,
        sum(previous_count)::bigint as previous_count,
        coalesce(sum(previous_total_tokens), 0)::bigint as previous_total_tokens
    from grains
    group by all
),

span as (
    select
        coalesce(time_bucket($step::interval, timezone($tz, $since::timestamptz)),
            min(bucket)) as first_bucket,
        coalesce(time_bucket($step::interval,
            timezone($tz, $until::timestamptz - interval 1 microsecond)), max(bucket))
            as last_bucket
    from bucketed
),

buckets as (
    select unnest(generate_series(first_bucket, last_bucket, $step::interval)) as bucket
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
        strftime(buckets.bucket, $label) as date,
        models.model_id,
        coalesce(bucketed.count, 0) as count,
        coalesce(bucketed.total_tokens, 0) as total_tokens,
        coalesce(bucketed.previous_count, 0) as previous_count,
        coalesce(bucketed.previous_total_tokens, 0) as previous_total_tokens
    from buckets
    cross join models
    left join bucketed
        on bucketed.bucket = buckets.bucket
        and bucketed.model_id is not distinct from models.model_id
)

select * from final
order by date, model_id
