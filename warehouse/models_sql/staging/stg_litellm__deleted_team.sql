-- One row per team deletion LiteLLM recorded (versions since 2025-12), from
-- raw_litellm."LiteLLM_DeletedTeamTable".
with source as (
    select * from raw_litellm."LiteLLM_DeletedTeamTable"
),

final as (
    select
        _source as source_name,
        team_id,
        nullif(team_alias, '') as team_alias,
        timezone('UTC', deleted_at) as deleted_at
    from source
)

select * from final
