-- Usage rows for windows or time zones off whole UTC hours: every event, plus LiteLLM's
-- purged days (at 00:00 UTC, as in marts.usage_hourly). Tasks are not messages. Keys as
-- in _usage_hourly.sql.
select
    occurred_at as ts, source_name, channel, user_id, model_id,
    columns('^(chat_id|chat_key|user_key|model_key)$'), api_key_hash,
    team_id, tags, deleted_in_source, counted_elsewhere, false as day_aggregate,
    (channel <> 'task')::int as messages,
    (status = 'failure' and channel <> 'task')::int as failed, input_tokens, output_tokens,
    cost, cost_currency, repriced_cost, repriced_currency, (price_line is null)::int
    as unpriced, (usage_present and channel <> 'task')::int as usage_messages,
    (usage_reported and channel <> 'task')::int as reported_messages
from core.usage_events
where not in_aggregated_day
union all by name
select
    hour as ts, source_name, channel, user_id, model_id,
    columns('^(chat_id|chat_key|user_key|model_key)$'), api_key_hash,
    team_id, tags, deleted_in_source, counted_elsewhere, day_aggregate, messages, failed,
    input_tokens, output_tokens, cost, cost_currency, repriced_cost, repriced_currency,
    unpriced, usage_messages, reported_messages
from marts.usage_hourly
where day_aggregate
