-- Models whose responses no price in the price file covers (in the window): how many,
-- when first and last seen. Their repriced cost is missing, never zero: add a [[price]].
select
    source_name,
    model_id,
    sum(unpriced)::bigint as unpriced_responses,
    strftime(min(ts) filter (where unpriced > 0), '%Y-%m-%d %H:%M') as first_seen,
    strftime(max(ts) filter (where unpriced > 0), '%Y-%m-%d %H:%M') as last_seen
from facts
group by all
having sum(unpriced) > 0
order by unpriced_responses desc, source_name, model_id nulls first
limit $limit
