-- The canonical fact: one row per LLM response of every source (core.source_responses),
-- with its cost at the admin's prices and the cross-source matches.
-- repriced_cost: the tokens at the price file's price in force when it happened
-- (core.model_prices); price_line is NULL for responses no price covers.
-- counted_elsewhere: a LiteLLM request that is also an Open WebUI response of a source
-- routed through it (core.routed_matches); totals across sources leave it out, reports of
-- its own source keep it. The Open WebUI side takes the proxy's cost when it has none.
-- chat_key, user_key, model_key: the ids' small integers (core.chat_keys and friends).
-- incremental: occurred_at
with responses as (
    select * from core.source_responses where _warehouse.in_build(occurred_at)
),

model_prices as (
    select * from core.model_prices
),

matches as (
    select * from core.routed_matches
),

chat_keys as (
    select * from core.chat_keys
),

user_keys as (
    select * from core.user_keys
),

model_keys as (
    select * from core.model_keys
),

final as (
    select
        r.* exclude (cost, cost_currency),
        coalesce(r.cost, routed.upstream_cost) as cost,
        case when r.cost is null and routed.upstream_cost is not null
            then routed.upstream_cost_currency else r.cost_currency end as cost_currency,
        routed.upstream_event_id as routed_via_event_id,
        upstream.routed_event_id is not null as counted_elsewhere,
        p.price_line,
        _warehouse.token_cost(
            r.input_tokens, r.cached_tokens, r.output_tokens,
            p.input_per_token, p.cached_per_token, p.output_per_token
        ) as repriced_cost,
        p.currency as repriced_currency,
        ck.chat_key,
        uk.user_key,
        mk.model_key
    from responses as r
    left join model_prices as p
        on p.model_id = r.model_id
        and r.occurred_at >= p.valid_from
        and (p.valid_until is null or r.occurred_at < p.valid_until)
    left join matches as routed on routed.routed_event_id = r.event_id
    left join matches as upstream on upstream.upstream_event_id = r.event_id
    left join chat_keys as ck on ck.chat_id = r.chat_id
    left join user_keys as uk on uk.user_id = r.user_id
    left join model_keys as mk on mk.model_id = r.model_id
)

select * from final
