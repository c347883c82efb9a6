-- Not a model: the UTC days an incremental build rebuilds (warehouse/models.py), read
-- before any model changes. The variable build_since is when the last build started;
-- rows copied, changed or flagged deleted in the source since then carry a later
-- _ingested_at or _deleted_at (ingest leaves rows that did not change alone).
-- A day changed when: an event of it was copied, changed or deleted in the source; a
-- new ledger row now stands for a message of it; a chat of its events changed (tags,
-- the time of undated messages); a chat created on it got a response (core.chats lists
-- its models); an API key of its requests changed (owner, team); LiteLLM's daily tables
-- changed for it. Routed sources add each changed day's neighbours: a pair of records
-- can straddle midnight.
with changed_chats as (
    select _source as source_name, id as chat_id, created_at
    from raw_openwebui.chat
    where _ingested_at > getvariable('build_since') or _deleted_at > getvariable('build_since')
),

changed_keys as (
    select _source as source_name, token as api_key_hash
    from raw_litellm."LiteLLM_VerificationToken"
    where _ingested_at > getvariable('build_since') or _deleted_at > getvariable('build_since')
    union all
    select _source, token
    from raw_litellm."LiteLLM_DeletedVerificationToken"
    where _ingested_at > getvariable('build_since') or _deleted_at > getvariable('build_since')
),

changed_messages as (
    select *
    from raw_openwebui.chat_message
    where _ingested_at > getvariable('build_since') or _deleted_at > getvariable('build_since')
),

changed_ledger as (
    select *
    from raw_openwebui.usage_log
    where _ingested_at > getvariable('build_since') or _deleted_at > getvariable('build_since')
),

daily as (
    select _ingested_at, _deleted_at, date from raw_litellm."LiteLLM_DailyUserSpend"
    union all
    select _ingested_at, _deleted_at, date from raw_litellm."LiteLLM_DailyTeamSpend"
    union all
    select _ingested_at, _deleted_at, date from raw_litellm."LiteLLM_DailyTagSpend"
),

instants as (
    select _warehouse.epoch_to_ts(created_at) as ts
    from raw_openwebui.chat_message
    where _ingested_at > getvariable('build_since') or _deleted_at > getvariable('build_since')
    union all
    select _warehouse.epoch_to_ts(created_at) from changed_ledger
    union all
    select _warehouse.epoch_to_ts(m.created_at)
    from changed_ledger as l
    join raw_openwebui.chat_message as m
        on m._source = l._source and m.id = l.chat_id || '-' || l.message_id
    union all
    select timezone('UTC', "startTime")
    from raw_litellm."LiteLLM_SpendLogs"
    where _ingested_at > getvariable('build_since') or _deleted_at > getvariable('build_since')
    union all
    select timezone('UTC', _warehouse.utc_day(date)::timestamp)
    from daily
    where _ingested_at > getvariable('build_since') or _deleted_at > getvariable('build_since')
    union all
    select _warehouse.epoch_to_ts(created_at) from changed_chats
    union all
    select _warehouse.epoch_to_ts(c.created_at)
    from raw_openwebui.chat as c
    semi join (
        select _source, chat_id from changed_messages
        union all
        select _source, chat_id from changed_ledger
    ) as r on r._source = c._source and r.chat_id = c.id
    union all
    select m.created_at
    from core.messages as m
    join changed_chats as c on c.source_name = m.source_name and c.chat_id = m.chat_id
    union all
    select r.occurred_at
    from core.source_responses as r
    join changed_chats as c on c.source_name = r.source_name and c.chat_id = r.chat_id
    union all
    select r.occurred_at
    from core.source_responses as r
    join changed_keys as k
        on k.source_name = r.source_name and k.api_key_hash = r.api_key_hash
),

days as (
    select distinct _warehouse.build_day(ts) as day from instants
),

reach as (
    select case when exists (select 1 from _warehouse.routes) then [-1, 0, 1] else [0] end
        as offsets
)

select distinct day + unnest(offsets) as day
from days, reach
order by day
