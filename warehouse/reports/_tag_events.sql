-- Tagged rows for windows or time zones off whole UTC hours: every event under each of
-- its tags, plus LiteLLM's purged days from marts.tag_hourly.
select
    occurred_at as ts, source_name, channel, tag, [tag] as tags, user_id, model_id,
    null::varchar as chat_id, api_key_hash, team_id, deleted_in_source, counted_elsewhere,
    false as day_aggregate, (channel <> 'task')::int as messages,
    (status = 'failure' and channel <> 'task')::int as failed, input_tokens,
    output_tokens, cost, cost_currency, repriced_cost, repriced_currency,
    (price_line is null)::int as unpriced
from (select *, unnest(tags) as tag from core.usage_events where not in_aggregated_day)
union all by name
select
    hour as ts, source_name, channel, tag, [tag] as tags, user_id, model_id,
    null::varchar as chat_id, api_key_hash, team_id, deleted_in_source, counted_elsewhere, day_aggregate,
    messages, failed, input_tokens, output_tokens, cost, cost_currency, repriced_cost,
    repriced_currency, unpriced
from marts.tag_hourly
where day_aggregate
