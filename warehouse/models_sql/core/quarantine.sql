-- materialized: view
-- What the warehouse could not take as the source gave it, one row per value or row:
-- set aside by ingest (values that do not fit their column, rows without a key, keys
-- repeated; ingest/quarantine.py) and values the build reads as unknown (usage that is
-- not JSON, token counts no response can have, times outside 2000-2100). A row still
-- counts where it can: a message without usable tokens is still a message. A view, so
-- builds never pay for it; `warehouse status` counts it by table and problem.
with set_aside as (
    select source_name, table_name, row_key, nullif(column_name, '') as column_name,
        problem, detail
    from _warehouse.ingest_quarantine
),

messages as (
    select _source as source_name, id as row_key, usage, created_at,
        case when json_valid(usage) then usage::json end as usage_json
    from raw_openwebui.chat_message
    where _deleted_at is null
),

message_problems as (
    select source_name, 'chat_message' as table_name, row_key, 'usage' as column_name,
        'usage is not valid JSON' as problem, left(usage, 40) as detail
    from messages
    where usage is not null and usage_json is null
    union all
    select source_name, 'chat_message', row_key, 'usage', 'implausible token count',
        left(usage, 40)
    from messages
    where (_warehouse.json_number(usage_json, 'input_tokens', 'prompt_tokens') is not null
            and _warehouse.usage_tokens(usage, 'input_tokens', 'prompt_tokens') is null)
        or (_warehouse.json_number(usage_json, 'output_tokens', 'completion_tokens')
                is not null
            and _warehouse.usage_tokens(usage, 'output_tokens', 'completion_tokens') is null)
    union all
    select source_name, 'chat_message', row_key, 'created_at', 'time out of range',
        created_at::varchar
    from messages
    where created_at is not null and _warehouse.epoch_to_ts(created_at) is null
),

ledger_problems as (
    select _source as source_name, 'usage_log' as table_name, id as row_key,
        'input_tokens, output_tokens' as column_name, 'implausible token count' as problem,
        concat_ws(', ', input_tokens, output_tokens) as detail
    from raw_openwebui.usage_log
    where _deleted_at is null
        and ((input_tokens is not null and _warehouse.plausible_tokens(input_tokens) is null)
            or (output_tokens is not null
                and _warehouse.plausible_tokens(output_tokens) is null))
    union all
    select _source, 'usage_log', id, 'created_at', 'time out of range', created_at::varchar
    from raw_openwebui.usage_log
    where _deleted_at is null and created_at is not null
        and _warehouse.epoch_to_ts(created_at) is null
),

request_problems as (
    select _source as source_name, 'LiteLLM_SpendLogs' as table_name, request_id as row_key,
        'prompt_tokens, completion_tokens' as column_name,
        'implausible token count' as problem,
        concat_ws(', ', prompt_tokens, completion_tokens) as detail
    from raw_litellm."LiteLLM_SpendLogs"
    where _deleted_at is null
        and ((prompt_tokens is not null and _warehouse.plausible_tokens(prompt_tokens) is null)
            or (completion_tokens is not null
                and _warehouse.plausible_tokens(completion_tokens) is null))
)

select * from set_aside
union all
select * from message_problems
union all
select * from ledger_problems
union all
select * from request_problems
