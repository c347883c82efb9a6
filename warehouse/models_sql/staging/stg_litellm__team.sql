-- One row per LiteLLM team, from raw_litellm."LiteLLM_TeamTable"; teams deleted since
-- they were copied stay, flagged.
with source as (
    select * from raw_litellm."LiteLLM_TeamTable"
),

final as (
    select
        _source as source_name,
        team_id,
        nullif(team_alias, '') as team_alias,
        max_budget,
        spend as budget_spend,
        timezone('UTC', created_at) as created_at,
        _deleted_at as deleted_at
    from source
)

select * from final
