-- materialized: view
-- One row per chat message of every Open WebUI source (all roles): chat_message rows, or
-- the chat JSON's messages for versions without that table (both arrive as raw
-- chat_message rows). Shared-chat copies excluded.
with from_table as (
    select * from staging.stg_openwebui__chat_message
),

shared_copies as (
    select source_name, chat_id
    from staging.stg_openwebui__chat
    where is_shared_copy
),

final as (
    select * from from_table
)

select *
from final
where coalesce(user_id, '') not like 'shared-%'
    and not exists (
        select 1 from shared_copies as s
        where s.source_name = final.source_name and s.chat_id = final.chat_id
    )
