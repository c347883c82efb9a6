-- One row per Open WebUI group, from raw_openwebui.group; parent_group_id exists only in
-- versions with sub-groups (NULL before).
with source as (
    select * from raw_openwebui."group"
),

final as (
    select
        _source as source_name,
        id as group_id,
        name,
        description,
        parent_group_id,
        _warehouse.epoch_to_ts(created_at) as created_at,
        _deleted_at as deleted_at
    from source
)

select * from final
