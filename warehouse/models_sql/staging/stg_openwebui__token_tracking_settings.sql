-- One row per source with the token-tracking plugin's base settings, from
-- raw_openwebui.token_tracking_base_settings: every user's daily base allowance.
with source as (
    select * from raw_openwebui.token_tracking_base_settings where _deleted_at is null
),

final as (
    select
        _source as source_name,
        max(try_cast(setting_value as bigint))
            filter (where setting_key = 'base_credit_allowance') as base_credit_allowance
    from source
    group by _source
)

select * from final
