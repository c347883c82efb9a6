-- One row per direct group membership: group_member rows, plus the group.user_ids JSON
-- lists of versions before the group_member table (2025-11-17).
with member_rows as (
    select _source as source_name, group_id, user_id, _deleted_at as deleted_at
    from raw_openwebui.group_member
),

legacy_lists as (
    select
        _source as source_name,
        id as group_id,
        unnest(json_extract_string(user_ids::json, '$[*]')) as user_id,
        _deleted_at as deleted_at
    from raw_openwebui."group"
    where json_valid(user_ids) and json_type(user_ids::json) = 'ARRAY'
),

final as (
    select * from member_rows
    union
    select * from legacy_lists
)

select * from final
