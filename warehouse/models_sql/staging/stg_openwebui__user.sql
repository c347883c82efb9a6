-- One row per Open WebUI user account, from raw_openwebui.user.
with source as (
    select * from raw_openwebui."user"
),

final as (
    select
        _source as source_name,
        id as user_id,
        name,
        email,
        role,
        _warehouse.epoch_to_ts(created_at) as created_at,
        _warehouse.epoch_to_ts(last_active_at) as last_active_at,
        _deleted_at as deleted_at
    from source
)

select * from final
