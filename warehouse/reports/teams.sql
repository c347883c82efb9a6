-- Per LiteLLM team: keys and users that made requests, requests, tokens and spend.
-- Teams deleted in LiteLLM keep their alias; requests of keys without a team form one
-- row with an empty team_id.
with per_team as (
    select
        source_name,
        team_id,
        count(distinct api_key_hash) as keys,
        count(distinct user_id) as users,
        sum(messages)::bigint as total_requests,
        (sum(messages) - sum(failed))::bigint as successful_requests,
        sum(failed)::bigint as failed_requests,
        coalesce(sum(input_tokens), 0)::bigint as input_tokens,
        coalesce(sum(output_tokens), 0)::bigint as output_tokens,
        coalesce(sum(cost), 0) as total_spend
    from facts
    where channel = 'api' or team_id is not null
    group by all
)

select
    per_team.team_id,
    teams.team_alias,
    coalesce(teams.deleted_in_source, false) as deleted_in_source,
    per_team.keys,
    per_team.users,
    per_team.total_requests,
    per_team.successful_requests,
    per_team.failed_requests,
    per_team.input_tokens,
    per_team.output_tokens,
    per_team.input_tokens + per_team.output_tokens as total_tokens,
    per_team.total_spend
from per_team
left join core.teams as teams
    on teams.source_name = per_team.source_name and teams.team_id = per_team.team_id
order by per_team.total_spend desc, per_team.total_requests desc, per_team.team_id
limit $limit
