-- LiteLLM's budgets as it holds them now: per live key, internal user and team, the
-- spend of the current budget period (LiteLLM resets it every budget_duration) against
-- max_budget, in USD. Only what has a budget. budget_spend is LiteLLM's own running
-- figure, so it includes spend whose logs were purged.
with keys as (
    select
        'litellm_key' as kind,
        source_name,
        api_key_hash as subject_id,
        coalesce(key_alias, key_name) as subject_name,
        budget_spend,
        max_budget
    from staging.stg_litellm__verification_token
    where deleted_at is null and max_budget is not null
),

users as (
    select 'litellm_user', source_name, user_id, coalesce(name, email), budget_spend,
        max_budget
    from staging.stg_litellm__user
    where deleted_at is null and max_budget is not null
),

teams as (
    select 'litellm_team', source_name, team_id, team_alias, budget_spend, max_budget
    from staging.stg_litellm__team
    where deleted_at is null and max_budget is not null
),

final as (
    select * from keys
    union all
    select * from users
    union all
    select * from teams
)

select
    kind,
    source_name,
    subject_id,
    subject_name,
    coalesce(budget_spend, 0)::decimal(18, 6) as used,
    max_budget::decimal(18, 6) as budget
from final
