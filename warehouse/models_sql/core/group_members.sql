-- One row per (group, user) where the user belongs to the group directly or through one of
-- its sub-groups (via_group_id), as Open WebUI's group filter counts them. Current
-- membership only: memberships and groups deleted in the source are left out.
with recursive live_groups as (
    select source_name, group_id, parent_group_id
    from staging.stg_openwebui__group
    where deleted_at is null
),

-- UNION ALL with a depth bound rather than UNION (which stops at a cycle by itself):
-- portable to engines whose recursion takes only UNION ALL (Spark). A parent cycle in
-- the source repeats rows up to the bound; the grouping below removes the repeats.
descendants(source_name, group_id, via_group_id, depth) as (
    select source_name, group_id, group_id, 0 from live_groups
    union all
    select d.source_name, d.group_id, child.group_id, d.depth + 1
    from descendants as d
    join live_groups as child
        on child.source_name = d.source_name and child.parent_group_id = d.via_group_id
    where d.depth < 32
),

members as (
    select distinct source_name, group_id, user_id
    from staging.stg_openwebui__group_member
    where deleted_at is null
),

final as (
    select
        d.source_name,
        d.group_id,
        m.user_id,
        min(d.via_group_id) as via_group_id
    from descendants as d
    join members as m on m.source_name = d.source_name and m.group_id = d.via_group_id
    group by all
)

select * from final
