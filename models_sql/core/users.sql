-- One row per user account of every source, deleted accounts kept and flagged.
with users as (
    select * from staging.stg_openwebui__user
),

final as (
    select
        source_name,
        user_id,
        name,
        email,
        role,
        created_at,
        last_active_at,
        deleted_at is not null as deleted_in_source
    from users
)

select * from final
