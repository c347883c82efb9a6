-- One row per rating (thumbs up = 1, down = -1) given to a model's answer.
with feedback as (
    select * from staging.stg_openwebui__feedback
),

final as (
    select
        source_name,
        feedback_id,
        user_id,
        model_id,
        rating,
        chat_id,
        message_id,
        created_at,
        deleted_at is not null as deleted_in_source
    from feedback
    where rating is not null
)

select * from final
