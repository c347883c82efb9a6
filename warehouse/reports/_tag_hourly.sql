-- Tagged rows (one per response and tag) for windows on whole UTC hours; `tags` holds
-- the row's one tag so the shared tag filter applies unchanged.
select
    hour as ts, source_name, channel, tag, [tag] as tags, user_id, model_id,
    null::varchar as chat_id, api_key_hash, team_id, deleted_in_source, counted_elsewhere, day_aggregate,
    messages, failed, input_tokens, output_tokens, cost, cost_currency, repriced_cost,
    repriced_currency, unpriced
from marts.tag_hourly
