-- One row per group of every source, with its parent (sub-groups) where the version has one.
with groups as (
    select * from staging.stg_openwebui__group
),

final as (
    select
        source_name,
        group_id,
        name,
        description,
        parent_group_id,
        created_at,
        deleted_at is not null as deleted_in_source
    from groups
)

select * from final
