-- Active users per local day in the report's time zone: users active that day (dau),
-- in the trailing 7 days (wau) and the trailing --mau-days days (mau), and stickiness
-- dau / mau; per segment of --by (a user in several segments counts in each). facts
-- starts --mau-days - 1 days before --since, so the first day's windows are whole.
-- each hour's local day computed once (time zone arithmetic per fact row would dominate)
with hours as (
    select ts, cast(timezone($tz, ts) as date) as day
    from (select distinct ts from facts)
),

activity as (
    select distinct
        hours.day,
        {segment} as segment,
        facts.user_id
    from facts
    join hours on hours.ts = facts.ts
    {segment_join}
    where facts.user_id is not null
),

span as (
    select
        coalesce(cast(timezone($tz, $since::timestamptz) as date), min(day)) as first_day,
        coalesce(cast(timezone($tz, $until::timestamptz - interval 1 microsecond) as date),
            max(day)) as last_day
    from activity
),

days as (
    select unnest(generate_series(first_day, last_day, interval 1 day))::date as day
    from span
    where first_day is not null
),

grid as (
    select days.day, segments.segment
    from days
    cross join (select distinct segment from activity) as segments
),

counts as (
    select
        grid.day,
        grid.segment,
        count(distinct activity.user_id) filter (where activity.day = grid.day) as dau,
        count(distinct activity.user_id) filter (where activity.day > grid.day - 7) as wau,
        count(distinct activity.user_id) as mau
    from grid
    left join activity
        on activity.segment is not distinct from grid.segment
        and activity.day > grid.day - $mau_days
        and activity.day <= grid.day
    group by all
)

select
    strftime(day, '%Y-%m-%d') as date{segment_column},
    dau,
    wau,
    mau,
    round(dau / nullif(mau, 0), 4) as stickiness
from counts
order by date, segment
