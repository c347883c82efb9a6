-- One row per plugin day x source x user x sponsored allowance x model: tokens the
-- token-tracking plugin logged and the credits they cost under its model pricing
-- (input_cost_credits / per_input_tokens * prompt + the same for output), as its
-- TokenTracker computes them. Models without a price have NULL credits (the plugin
-- leaves them out of its sums). The plugin matches prices by model id alone.
with usage as (
    select
        source_name,
        log_day as day,
        user_id,
        sponsored_allowance_id,
        model_id,
        sum(prompt_tokens) as prompt_tokens,
        sum(response_tokens) as response_tokens,
        count(*) as calls
    from staging.stg_openwebui__token_tracking_usage_log
    group by all
),

prices as (
    select
        source_name,
        model_id,
        arg_min(input_cost_credits / per_input_tokens, provider) as input_rate,
        arg_min(output_cost_credits / per_output_tokens, provider) as output_rate
    from staging.stg_openwebui__token_tracking_model_pricing
    group by all
),

final as (
    select
        usage.*,
        prices.input_rate * usage.prompt_tokens
            + prices.output_rate * usage.response_tokens as credits
    from usage
    left join prices
        on prices.source_name = usage.source_name and prices.model_id = usage.model_id
)

select * from final
