-- Which price each model id takes, and when, from the admin's price file
-- (_warehouse.prices, loaded by `warehouse build`). A model takes its prices from the
-- most specific entry that names it: its exact id, else the longest matching pattern;
-- that entry's history (valid_from .. valid_until) decides the price at each moment.
-- Before that history starts the model is unpriced, never priced by a looser pattern.
with model_ids as (
    select model_id from core.source_responses where model_id is not null
    union
    select model_id from core.usage_day_aggregates where model_id is not null
),

prices as (
    select * from _warehouse.prices
),

matches as (
    select
        m.model_id,
        p.pattern,
        row_number() over (
            partition by m.model_id
            order by p.is_exact desc, length(p.pattern) desc, p.pattern
        ) as preference
    from model_ids as m
    join (select distinct pattern, is_exact from prices) as p
        on (p.is_exact and m.model_id = p.pattern)
        or (not p.is_exact and m.model_id glob p.pattern)
),

final as (
    select
        m.model_id,
        p.line as price_line,
        p.pattern,
        p.input_per_token,
        p.cached_per_token,
        p.output_per_token,
        p.currency,
        p.valid_from,
        p.valid_until
    from matches as m
    join prices as p on p.pattern = m.pattern
    where m.preference = 1
)

select * from final
