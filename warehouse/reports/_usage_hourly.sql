-- Usage rows for reports whose window and time zone fall on whole UTC hours. The ids'
-- keys (chat_key, user_key, model_key) are there when the warehouse was built with them
-- (the reports that count by them fall back to the ids on a file built before).
select
    hour as ts, source_name, channel, user_id, model_id,
    columns('^(chat_id|chat_key|user_key|model_key)$'), api_key_hash,
    team_id, tags, deleted_in_source, counted_elsewhere, day_aggregate, messages, failed,
    input_tokens, output_tokens, cost, cost_currency, repriced_cost, repriced_currency,
    unpriced, usage_messages, reported_messages
from marts.usage_hourly
