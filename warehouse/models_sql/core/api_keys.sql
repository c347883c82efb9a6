-- One row per LiteLLM virtual key (by hash) of every source, live or deleted: a key
-- deleted in LiteLLM keeps its alias from our earlier copy or from LiteLLM's own
-- deleted-keys table, so its usage stays attributable.
with live as (
    select * from staging.stg_litellm__verification_token
),

deletions as (
    select *
    from staging.stg_litellm__deleted_verification_token
    qualify row_number() over (
        partition by source_name, api_key_hash order by deleted_at desc) = 1
),

teams as (
    select source_name, team_id, team_alias from core.teams
),

merged as (
    select
        coalesce(live.source_name, deletions.source_name) as source_name,
        coalesce(live.api_key_hash, deletions.api_key_hash) as api_key_hash,
        coalesce(live.key_alias, deletions.key_alias) as key_alias,
        coalesce(live.key_name, deletions.key_name) as key_name,
        coalesce(live.user_id, deletions.user_id) as user_id,
        coalesce(live.team_id, deletions.team_id) as team_id,
        coalesce(live.created_at, deletions.created_at) as created_at,
        live.api_key_hash is null or live.deleted_at is not null as deleted_in_source,
        coalesce(deletions.deleted_at, live.deleted_at) as deleted_at
    from live
    full join deletions
        on deletions.source_name = live.source_name
        and deletions.api_key_hash = live.api_key_hash
),

final as (
    select merged.*, teams.team_alias
    from merged
    left join teams on teams.source_name = merged.source_name and teams.team_id = merged.team_id
)

select * from final
