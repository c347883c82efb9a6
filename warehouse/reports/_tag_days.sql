-- LiteLLM's purged days (day_aggregate) from its daily tag table, shaped as usage rows:
-- what a --tag or --tag-like filter reads on those days, since marts.usage_hourly's day
-- rows carry no tags. A request under several of the chosen tags counts once per tag.
-- Keys as in _usage_hourly.sql.
select
    hour as ts, source_name, channel, user_id, model_id, null::varchar as chat_id,
    null::integer as chat_key, columns('^(api_key_hash|user_key|model_key)$'), team_id,
    [tag] as tags, deleted_in_source, counted_elsewhere,
    day_aggregate, messages, failed, input_tokens, output_tokens, cost, cost_currency,
    repriced_cost, repriced_currency, unpriced, messages as usage_messages,
    messages as reported_messages
from marts.tag_hourly
where day_aggregate
