-- Cohort retention: users grouped by the first --granularity period (local, in the
-- report's time zone) they were ever active in; for each later period, how many of the
-- cohort were active and their share. Cohorts starting in the window are shown; facts
-- holds all history up to --until, so "first" means first ever.
-- each hour's period computed once (time zone arithmetic per fact row would dominate)
with hours as (
    select ts, date_trunc($granularity, timezone($tz, ts))::date as period
    from (select distinct ts from facts)
),

activity as (
    select distinct facts.user_id, hours.period
    from facts
    join hours on hours.ts = facts.ts
    where facts.user_id is not null
),

firsts as (
    select user_id, min(period) as cohort
    from activity
    group by user_id
),

cohorts as (
    select cohort, count(*) as cohort_size
    from firsts
    where $since is null
        or cohort >= date_trunc($granularity, timezone($tz, $since::timestamptz))::date
    group by cohort
),

returns as (
    select firsts.cohort, activity.period, count(*) as active_users
    from firsts
    join activity on activity.user_id = firsts.user_id
    group by all
)

select
    strftime(cohorts.cohort, '%Y-%m-%d') as cohort,
    cohorts.cohort_size,
    datediff($granularity, cohorts.cohort, returns.period) as period,
    returns.active_users,
    round(returns.active_users / cohorts.cohort_size, 4) as retention
from cohorts
join returns on returns.cohort = cohorts.cohort
order by cohort, period
