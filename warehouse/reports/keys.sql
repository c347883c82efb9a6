-- Per LiteLLM virtual key: requests, tokens and spend, by alias and hash (LiteLLM keeps
-- only the hash). Keys deleted in LiteLLM keep their alias. API requests made without a
-- key form one row with an empty hash.
with per_key as (
    select
        source_name,
        api_key_hash,
        sum(messages)::bigint as total_requests,
        (sum(messages) - sum(failed))::bigint as successful_requests,
        sum(failed)::bigint as failed_requests,
        coalesce(sum(input_tokens), 0)::bigint as input_tokens,
        coalesce(sum(output_tokens), 0)::bigint as output_tokens,
        coalesce(sum(cost), 0) as total_spend
    from facts
    where channel = 'api' or api_key_hash is not null
    group by all
)

select
    keys.key_alias,
    keys.key_name,
    per_key.api_key_hash,
    keys.user_id,
    keys.team_id,
    keys.team_alias,
    coalesce(keys.deleted_in_source, false) as deleted_in_source,
    per_key.total_requests,
    per_key.successful_requests,
    per_key.failed_requests,
    per_key.input_tokens,
    per_key.output_tokens,
    per_key.input_tokens + per_key.output_tokens as total_tokens,
    per_key.total_spend
from per_key
left join core.api_keys as keys
    on keys.source_name = per_key.source_name and keys.api_key_hash = per_key.api_key_hash
order by per_key.total_spend desc, per_key.total_requests desc, per_key.api_key_hash
limit $limit
