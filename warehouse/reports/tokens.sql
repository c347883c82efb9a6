-- Open WebUI's /analytics/tokens: per model, tokens of assistant messages whose usage
-- column is set (JSON null included, as upstream), then one total row.
with per_model as (
    select
        model_id,
        coalesce(sum(input_tokens), 0)::bigint as input_tokens,
        coalesce(sum(output_tokens), 0)::bigint as output_tokens,
        sum(usage_messages)::bigint as message_count
    from facts
    where model_id is not null and usage_messages > 0
    group by model_id
),

rows as (
    select 'model' as scope, model_id, input_tokens, output_tokens,
        input_tokens + output_tokens as total_tokens, message_count, 0 as sort_group
    from per_model
    union all
    select 'total', null, coalesce(sum(input_tokens), 0)::bigint,
        coalesce(sum(output_tokens), 0)::bigint,
        coalesce(sum(input_tokens + output_tokens), 0)::bigint,
        coalesce(sum(message_count), 0)::bigint, 1
    from per_model
)

select scope, model_id, input_tokens, output_tokens, total_tokens, message_count
from rows
order by sort_group, total_tokens desc, model_id
