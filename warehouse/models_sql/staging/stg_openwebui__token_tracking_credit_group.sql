-- One row per (credit group, member) of the token-tracking plugin, with the group's daily
-- credits, from raw_openwebui.token_tracking_credit_group and its _user link table.
with groups as (
    select * from raw_openwebui.token_tracking_credit_group where _deleted_at is null
),

members as (
    select * from raw_openwebui.token_tracking_credit_group_user where _deleted_at is null
),

final as (
    select
        members._source as source_name,
        members.user_id,
        groups.id as credit_group_id,
        groups.name,
        groups.max_credit
    from members
    join groups
        on groups._source = members._source and groups.id = members.credit_group_id
)

select * from final
