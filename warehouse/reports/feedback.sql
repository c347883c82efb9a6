-- Open WebUI's model overview: per model, answers rated up (won) and down (lost) per day
-- in the report's time zone, days without ratings filled with zeros ('history' rows), and
-- the 10 most frequent tags of the chats that used the model in the window ('tag' rows).
-- Without --model, only models with ratings in the window are listed.
with ratings as (
    select
        model_id,
        cast(timezone($tz, created_at) as date) as day,
        count(*) filter (where rating = 1) as won,
        count(*) filter (where rating = -1) as lost
    from core.feedback
    where model_id is not null and created_at is not null
        and ($since is null or created_at >= $since)
        and ($until is null or created_at < $until)
        and ($source is null or source_name = $source)
        and ($model is null or model_id = $model)
        and ($user_id is null or user_id = $user_id)
        and ($group_id is null or (source_name, user_id) in (
            select (source_name, user_id) from core.group_members where group_id = $group_id))
        and ($include_deleted or not deleted_in_source)
    group by all
),

span as (
    select model_id,
        coalesce(cast(timezone($tz, $since::timestamptz) as date), min(day)) as first_day,
        coalesce(cast(timezone($tz, $until::timestamptz - interval 1 microsecond) as date),
            max(day)) as last_day
    -- --model's days are filled even when it has no ratings in the window
    from (select model_id, day from ratings
          union all
          select $model, null where $model is not null)
    group by model_id
),

days as (
    select model_id, unnest(generate_series(first_day, last_day, interval 1 day))::date as day
    from span
),

history as (
    select
        days.model_id,
        'history' as kind,
        strftime(days.day, '%Y-%m-%d') as date,
        coalesce(ratings.won, 0) as won,
        coalesce(ratings.lost, 0) as lost,
        null::varchar as tag,
        null::bigint as count
    from days
    left join ratings on ratings.model_id = days.model_id and ratings.day = days.day
),

-- (model_id, tag, count): the tags of the chats that used the rated models, or --model
-- rated or not (Open WebUI lists its tags): _feedback_tags*.sql (reports/catalog.py)
tag_counts as ({tag_counts}),

top_tags as (
    select model_id, 'tag' as kind, null::varchar as date, null::bigint as won,
        null::bigint as lost, tag, count
    from tag_counts
    qualify row_number() over (partition by model_id order by count desc, tag) <= 10
)

select * from history
union all
select * from top_tags
order by model_id, kind, date, count desc, tag
