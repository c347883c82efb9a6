-- One row per Open WebUI chat (conversation), from raw_openwebui.chat. Tags are the tag
-- ids listed in chat.meta.tags. Shared-chat copies (user_id 'shared-...') are flagged.
with source as (
    select * from raw_openwebui.chat
),

final as (
    select
        _source as source_name,
        id as chat_id,
        user_id,
        title,
        _warehouse.epoch_to_ts(created_at) as created_at,
        _warehouse.epoch_to_ts(updated_at) as updated_at,
        updated_at as updated_at_raw,
        coalesce(archived, false) as archived,
        case
            when json_valid(meta) and json_type(meta::json, '$.tags') = 'ARRAY'
                then json_extract_string(meta::json, '$.tags[*]')
            else []::varchar[]
        end as tag_ids,
        coalesce(user_id like 'shared-%', false) as is_shared_copy,
        _deleted_at as deleted_at
    from source
)

select * from final
