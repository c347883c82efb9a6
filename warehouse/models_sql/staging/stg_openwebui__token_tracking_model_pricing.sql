-- One row per model the token-tracking plugin prices, in credits per N tokens, from
-- raw_openwebui.token_tracking_model_pricing.
with source as (
    select * from raw_openwebui.token_tracking_model_pricing
),

final as (
    select
        _source as source_name,
        id as model_id,
        provider,
        name,
        input_cost_credits,
        per_input_tokens,
        output_cost_credits,
        per_output_tokens
    from source
    where _deleted_at is null
)

select * from final
