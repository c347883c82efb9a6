-- One row per UTC day x source x model: answers rated up (won) and down (lost).
with feedback as (
    select * from core.feedback
),

final as (
    select
        cast(created_at as date) as day,
        source_name,
        model_id,
        count(*) filter (where rating = 1) as won,
        count(*) filter (where rating = -1) as lost
    from feedback
    group by all
)

select * from final
