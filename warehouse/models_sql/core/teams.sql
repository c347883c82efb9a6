-- One row per LiteLLM team of every source, live or deleted (from our earlier copy or
-- LiteLLM's deleted-teams table), so spend stays under the team's alias.
with live as (
    select * from staging.stg_litellm__team
),

deletions as (
    select *
    from staging.stg_litellm__deleted_team
    qualify row_number() over (partition by source_name, team_id order by deleted_at desc) = 1
),

final as (
    select
        coalesce(live.source_name, deletions.source_name) as source_name,
        coalesce(live.team_id, deletions.team_id) as team_id,
        coalesce(live.team_alias, deletions.team_alias) as team_alias,
        live.max_budget,
        live.team_id is null or live.deleted_at is not null as deleted_in_source
    from live
    full join deletions
        on deletions.source_name = live.source_name and deletions.team_id = live.team_id
)

select * from final
