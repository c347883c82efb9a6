-- Pairs of rows that are one request seen twice: an Open WebUI source declared
-- `routed_through` a LiteLLM source (warehouse.toml; _warehouse.routes) sends its model
-- calls through that proxy, so each call is an Open WebUI response and a spend log.
-- A pair has equal input and output tokens, times within the route's window, the same
-- model (LiteLLM's model name, or Open WebUI's id ending in '.' or '/' + that name) and,
-- when LiteLLM names an end user, the same user (id or email). Each row pairs at most
-- once: with its nearest candidate in time, when that candidate's nearest is it too.
-- Responses without token figures cannot be matched (they stay counted in both).
-- Incremental by the Open WebUI side's day: deciding a pair needs the candidates within
-- one window of it, and theirs within a second one, so inputs reach that far around the
-- rebuilt days (a window is at most an hour; the changed days' neighbours are rebuilt).
-- incremental: occurred_at
with routes as (
    select * from _warehouse.routes
),

reach as (
    select coalesce(max(window_seconds), 0) as seconds from routes
),

emails as (
    select source_name, user_id, lower(email) as email from core.users
),

routed as (
    select r.*, routes.upstream_name, routes.window_seconds, emails.email
    from core.source_responses as r
    join routes on routes.source_name = r.source_name
    left join emails on emails.source_name = r.source_name and emails.user_id = r.user_id
    where r.input_tokens is not null and r.output_tokens is not null
        and _warehouse.near_build(r.occurred_at, 2 * (select seconds from reach))
),

upstream as (
    select *
    from core.source_responses
    where source_name in (select upstream_name from routes)
        and input_tokens is not null and output_tokens is not null
        and _warehouse.near_build(occurred_at, (select seconds from reach))
),

candidates as (
    select
        r.event_id as routed_event_id,
        r.occurred_at,
        u.event_id as upstream_event_id,
        u.cost as upstream_cost,
        u.cost_currency as upstream_cost_currency,
        abs(epoch(u.occurred_at) - epoch(r.occurred_at)) as gap_seconds
    from routed as r
    join upstream as u
        on u.source_name = r.upstream_name
        and u.input_tokens = r.input_tokens
        and u.output_tokens = r.output_tokens
        and u.occurred_at between r.occurred_at - to_seconds(r.window_seconds)
            and r.occurred_at + to_seconds(r.window_seconds)
    where (r.model_id = u.model_id or r.model_id like '%.' || u.model_id
            or r.model_id like '%/' || u.model_id)
        and (u.end_user_id is null or u.end_user_id = r.user_id
            or lower(u.end_user_id) = r.email)
),

ranked as (
    select
        *,
        row_number() over (partition by routed_event_id
            order by gap_seconds, upstream_event_id) as routed_rank,
        row_number() over (partition by upstream_event_id
            order by gap_seconds, routed_event_id) as upstream_rank
    from candidates
),

final as (
    select routed_event_id, occurred_at, upstream_event_id, upstream_cost,
        upstream_cost_currency, gap_seconds
    from ranked
    where routed_rank = 1 and upstream_rank = 1 and _warehouse.in_build(occurred_at)
)

select * from final
