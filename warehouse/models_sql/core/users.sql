-- One row per user account of every source (Open WebUI users, LiteLLM internal users and
-- the end users callers name, role 'end_user'), deleted accounts kept and flagged.
with openwebui_users as (
    select source_name, user_id, name, email, role, created_at, last_active_at, deleted_at
    from staging.stg_openwebui__user
),

litellm_users as (
    select source_name, user_id, name, email, role, created_at,
        null::timestamptz as last_active_at, deleted_at
    from staging.stg_litellm__user
),

end_users as (
    select source_name, end_user_id as user_id, alias as name, null::varchar as email,
        'end_user' as role, null::timestamptz as created_at,
        null::timestamptz as last_active_at, deleted_at
    from staging.stg_litellm__end_user
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
    from (
        select * from openwebui_users
        union all select * from litellm_users
        union all select * from end_users
    )
)

select * from final
