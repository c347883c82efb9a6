-- One row per sponsored allowance of the token-tracking plugin (credits a sponsor pays
-- for), from raw_openwebui.token_tracking_sponsored_allowance.
with source as (
    select * from raw_openwebui.token_tracking_sponsored_allowance
),

final as (
    select
        _source as source_name,
        id as sponsored_allowance_id,
        name,
        sponsor_id,
        creation_date,
        total_credit_limit,
        daily_credit_limit,
        _deleted_at is not null as deleted_in_source
    from source
)

select * from final
