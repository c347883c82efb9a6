-- The token-tracking plugin's credit figures (its TokenTracker's rules): 'daily' rows per
-- plugin day x user x allowance: credits used (models with a price, summed, then
-- truncated), the day's allowance (base + the user's credit groups, or the sponsored
-- allowance's daily limit) and what remains; 'sponsored_total' rows per sponsored
-- allowance: its total limit and what remains of it (the plugin counts only usage up to
-- the allowance's creation day: reproduced as coded).
with usage as (
    select *
    from core.credit_usage
    where ($since is null or day >= cast(timezone($tz, $since::timestamptz) as date))
        and ($until is null or day < cast(timezone($tz, $until::timestamptz) as date))
        and ($source is null or source_name = $source)
        and ($user_id is null or user_id = $user_id)
        and ($group_id is null or (source_name, user_id) in (
            select (source_name, user_id) from core.group_members where group_id = $group_id))
),

daily as (
    select
        source_name, day, user_id, sponsored_allowance_id,
        trunc(coalesce(sum(credits), 0))::bigint as credits_used
    from usage
    group by all
),

group_credits as (
    select source_name, user_id, sum(max_credit) as credits
    from staging.stg_openwebui__token_tracking_credit_group
    group by all
),

allowances as (
    select * from staging.stg_openwebui__token_tracking_sponsored_allowance
),

names as (
    select source_name, user_id, name, email from core.users
),

daily_rows as (
    select
        'daily' as kind,
        strftime(daily.day, '%Y-%m-%d') as date,
        daily.user_id,
        names.name,
        names.email,
        allowances.name as allowance,
        daily.credits_used,
        case
            when daily.sponsored_allowance_id is null
                then settings.base_credit_allowance + coalesce(group_credits.credits, 0)
            else allowances.daily_credit_limit
        end::bigint as allowance_credits
    from daily
    left join staging.stg_openwebui__token_tracking_settings as settings
        on settings.source_name = daily.source_name
    left join group_credits
        on group_credits.source_name = daily.source_name
        and group_credits.user_id = daily.user_id
    left join allowances
        on allowances.source_name = daily.source_name
        and allowances.sponsored_allowance_id = daily.sponsored_allowance_id
    left join names on names.source_name = daily.source_name and names.user_id = daily.user_id
),

sponsored_used as (
    select allowances.source_name, allowances.sponsored_allowance_id,
        coalesce(sum(credits.credits), 0) as credits
    from allowances
    left join core.credit_usage as credits
        on credits.source_name = allowances.source_name
        and credits.sponsored_allowance_id = allowances.sponsored_allowance_id
        and cast(credits.day as timestamp) <= allowances.creation_date
    group by all
),

sponsored_rows as (
    select
        'sponsored_total' as kind,
        null as date,
        null as user_id,
        null as name,
        null as email,
        allowances.name as allowance,
        -- remaining = int(total_credit_limit - used), as the plugin truncates it
        (allowances.total_credit_limit
            - trunc(allowances.total_credit_limit - used.credits))::bigint as credits_used,
        allowances.total_credit_limit::bigint as allowance_credits
    from allowances
    join sponsored_used as used
        on used.source_name = allowances.source_name
        and used.sponsored_allowance_id = allowances.sponsored_allowance_id
    where ($source is null or allowances.source_name = $source)
)

select *, allowance_credits - credits_used as remaining
from (select * from daily_rows union all select * from sponsored_rows)
order by kind, date, user_id, allowance
