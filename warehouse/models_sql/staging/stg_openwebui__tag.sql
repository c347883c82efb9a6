-- One row per Open WebUI tag (per user: tag ids repeat across users), from raw_openwebui.tag.
with source as (
    select * from raw_openwebui.tag
),

final as (
    select _source as source_name, id as tag_id, user_id, name as tag_name
    from source
)

select * from final
