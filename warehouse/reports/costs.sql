-- Chargeback: per --by segment (user, model, group with its sub-groups, channel, tag,
-- source) and period (--granularity in --tz, or all): responses, tokens, the sources'
-- own cost (as billed) and the price file's (repriced), in one currency: --currency (else
-- the price file's own currency) converts at the file's rate in force on each UTC day;
-- without either the costs must share one currency. unpriced_responses counts responses no price covers. A user in
-- several groups (or a response with several tags) is charged to each of them.
with hours as (
    -- each distinct time's period and UTC day computed once: time zone arithmetic per
    -- fact row, or grouping by hour first, would dominate on millions of rows
    select facts.ts, {period} as period, cast(timezone('UTC', facts.ts) as date) as day
    from (select distinct ts from facts) as facts
),

charged as (
    select
        hours.period,
        hours.day,
        {segment} as segment,
        facts.cost_currency,
        facts.repriced_currency,
        sum(facts.messages) as messages,
        sum(facts.input_tokens) as input_tokens,
        sum(facts.output_tokens) as output_tokens,
        sum(facts.unpriced) as unpriced,
        sum(facts.cost) as cost,
        sum(facts.repriced_cost) as repriced_cost
    from facts
    join hours on hours.ts = facts.ts
    {segment_join}
    group by all
),

-- per UTC day: a rate holds for a whole day
daily as (
    select period, segment, day, cost_currency,
        repriced_currency, sum(cost) as cost, sum(repriced_cost) as repriced_cost
    from charged
    group by all
),

amounts as (
    select period, segment, day, 'as-billed' as kind, cost_currency as currency,
        cost as amount
    from daily
    where cost is not null and $cost_mode in ('as-billed', 'both')
    union all
    select period, segment, day, 'repriced', repriced_currency, repriced_cost
    from daily
    where repriced_cost is not null and $cost_mode in ('repriced', 'both')
),

converted as (
    select
        a.period,
        a.segment,
        a.kind,
        case
            when $currency is null or a.currency = $currency then a.amount::decimal(38, 12)
            when r.rate is null then error('no rate from ' || a.currency || ' to '
                || $currency || ' in force on ' || strftime(a.day, '%Y-%m-%d')
                || ' in the price file (add a [[rate]] with from = "' || a.currency
                || '", to = "' || $currency || '")')
            else a.amount::decimal(38, 12) * r.rate
        end as amount,
        coalesce($currency, a.currency) as currency
    from amounts as a
    left join _warehouse.rates as r
        on $currency is not null
        and r.from_currency = a.currency
        and r.to_currency = $currency
        and a.day >= r.valid_from
        and (r.valid_until is null or a.day < r.valid_until)
),

currencies as (
    select
        string_agg(distinct currency, ', ' order by currency) as names,
        count(distinct currency) as n
    from converted
),

totals as (
    select
        c.period,
        c.segment,
        sum(c.amount) filter (where c.kind = 'as-billed') as billed_cost,
        sum(c.amount) filter (where c.kind = 'repriced') as repriced_cost
    from converted as c, currencies
    where case when currencies.n > 1 then error('costs are in ' || currencies.names
        || ': pass --currency, or set currency = "..." in the price file (rates come '
        || 'from its [[rate]] entries)')
        else true end
    group by all
),

usage as (
    select
        period,
        segment,
        sum(messages)::bigint as messages,
        coalesce(sum(input_tokens), 0)::bigint as input_tokens,
        coalesce(sum(output_tokens), 0)::bigint as output_tokens,
        sum(unpriced)::bigint as unpriced_responses
    from charged
    group by all
)

select
    {period_column}
    {segment_column}
    (select coalesce($currency, min(currency)) from converted) as currency,
    usage.messages,
    usage.input_tokens,
    usage.output_tokens,
    {cost_columns}
    usage.unpriced_responses
from usage
left join totals
    on totals.period is not distinct from usage.period
    and totals.segment is not distinct from usage.segment
order by usage.period nulls first, coalesce(totals.repriced_cost, totals.billed_cost) desc
    nulls last, usage.segment
limit $limit
