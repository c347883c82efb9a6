-- Every LLM response as its source records it (core.usage_events adds prices and the
-- cross-source matches): kept after it is deleted in the source:
-- every Open WebUI assistant message (chat_message or legacy chat JSON), every row of
-- Open WebUI's usage ledger, and every LiteLLM request (spend log). A message that the
-- ledger also records (same source, chat and message id) is one response: the ledger's
-- row stands for it (it has status, cached tokens and the cost snapshot) and the
-- message's row is left out. Days whose spend logs the warehouse does not hold in full
-- are counted from core.usage_day_aggregates instead: the events it does hold for such
-- a day have in_aggregated_day = true, and marts leave them out.
-- Incremental by UTC day of occurred_at: a build rebuilds only the days that changed.
-- incremental: occurred_at
with ledger as (
    select * from staging.stg_openwebui__usage_log
),

-- two plain filters rather than one with OR: DuckDB then keeps the rows to the rebuilt
-- days before it decodes their usage JSON
assistant_messages as (
    select * from core.messages
    where role = 'assistant' and created_at is not null and _warehouse.in_build(created_at)
    union all
    -- undated: dated by their chat below, whatever days are rebuilt
    select * from core.messages where role = 'assistant' and created_at is null
),

responses as (
    select *
    from assistant_messages as m
    where not exists (
        select 1 from ledger as l
        where l.source_name = m.source_name and l.message_row_id = m.message_row_id
    )
),

chats as (
    select source_name, chat_id, created_at, tag_ids from staging.stg_openwebui__chat
),

openwebui_events as (
    select
        'openwebui:' || r.source_name || ':' || r.message_row_id as event_id,
        'openwebui' as source_kind,
        r.source_name,
        'ui' as channel,
        -- a message with an unusable timestamp is dated by its chat
        coalesce(r.created_at, c.created_at) as occurred_at,
        r.created_at is null as occurred_at_estimated,
        r.user_id,
        null::varchar as end_user_id,
        r.chat_id,
        r.message_row_id as message_id,
        r.model_id,
        null::varchar as provider,
        null::varchar as api_key_hash,
        null::varchar as team_id,
        coalesce(c.tag_ids, []::varchar[]) as tags,
        r.input_tokens,
        r.output_tokens,
        r.cached_tokens,
        null::bigint as reasoning_tokens,
        null::decimal(18, 9) as cost,
        null::varchar as cost_currency,
        null::decimal(18, 4) as credits,
        case when r.error_recorded then 'failure' else 'success' end as status,
        null::bigint as latency_ms,
        r.deleted_at is not null as deleted_in_source,
        -- Open WebUI counts a message as having usage when the column is not SQL NULL,
        -- JSON null included; usage_reported says whether token figures really exist.
        r.usage_json is not null as usage_present,
        false as in_aggregated_day
    from responses as r
    left join chats as c on c.source_name = r.source_name and c.chat_id = r.chat_id
),

ledger_events as (
    select
        'openwebui:' || l.source_name || ':ledger:' || l.ledger_id as event_id,
        'openwebui' as source_kind,
        l.source_name,
        l.channel,
        l.created_at as occurred_at,
        false as occurred_at_estimated,
        l.user_id,
        null::varchar as end_user_id,
        l.chat_id,
        coalesce(l.message_row_id, l.ledger_id) as message_id,
        l.model_id,
        null::varchar as provider,
        null::varchar as api_key_hash,
        null::varchar as team_id,
        coalesce(c.tag_ids, []::varchar[]) as tags,
        l.input_tokens,
        l.output_tokens,
        l.cached_tokens,
        l.reasoning_tokens,
        l.cost,
        l.cost_currency,
        null::decimal(18, 4) as credits,
        l.status,
        null::bigint as latency_ms,
        l.deleted_at is not null as deleted_in_source,
        l.input_tokens is not null or l.output_tokens is not null as usage_present,
        false as in_aggregated_day
    from ledger as l
    left join chats as c on c.source_name = l.source_name and c.chat_id = l.chat_id
    where _warehouse.in_build(l.created_at)
),

requests as (
    select * from staging.stg_litellm__spend_logs where _warehouse.in_build(started_at)
),

api_keys as (
    select source_name, api_key_hash, user_id, team_id from core.api_keys
),

aggregated_days as (
    select distinct source_name, day from core.usage_day_aggregates
),

litellm_events as (
    select
        'litellm:' || r.source_name || ':' || r.request_id as event_id,
        'litellm' as source_kind,
        r.source_name,
        'api' as channel,
        r.started_at as occurred_at,
        false as occurred_at_estimated,
        -- the key's owner, as LiteLLM attributes spend; else the end user named
        coalesce(r.key_user_id, k.user_id, r.end_user_id) as user_id,
        r.end_user_id,
        null::varchar as chat_id,
        r.request_id as message_id,
        r.model_id,
        r.provider,
        r.api_key_hash,
        coalesce(r.team_id, k.team_id) as team_id,
        r.tags,
        r.input_tokens,
        r.output_tokens,
        null::bigint as cached_tokens,
        null::bigint as reasoning_tokens,
        r.spend::decimal(18, 9) as cost,
        'USD' as cost_currency,
        null::decimal(18, 4) as credits,
        r.status,
        r.latency_ms,
        r.deleted_at is not null as deleted_in_source,
        true as usage_present,
        d.day is not null as in_aggregated_day
    from requests as r
    left join api_keys as k
        on k.source_name = r.source_name and k.api_key_hash = r.api_key_hash
    left join aggregated_days as d
        on d.source_name = r.source_name
        and d.day = cast(timezone('UTC', r.started_at) as date)
),

unioned as (
    select * from openwebui_events
    union all by name
    select * from ledger_events
    union all by name
    select * from litellm_events
),

final as (
    select
        *,
        case
            when input_tokens is not null or output_tokens is not null
                then coalesce(input_tokens, 0) + coalesce(output_tokens, 0)
        end as total_tokens,
        input_tokens is not null or output_tokens is not null as usage_reported
    from unioned
    where _warehouse.in_build(occurred_at)
)

select * from final
