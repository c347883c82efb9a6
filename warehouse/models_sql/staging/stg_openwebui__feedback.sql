-- One row per Open WebUI feedback entry (thumbs up/down on a model's answer), from
-- raw_openwebui.feedback. rating is 1 or -1 when given; data.rating may be text or number.
with source as (
    select *, case when json_valid(data) then data::json end as data_json,
        case when json_valid(meta) then meta::json end as meta_json
    from raw_openwebui.feedback
),

final as (
    select
        _source as source_name,
        id as feedback_id,
        user_id,
        type,
        data_json ->> 'model_id' as model_id,
        case data_json ->> 'rating' when '1' then 1 when '-1' then -1 end as rating,
        meta_json ->> 'chat_id' as chat_id,
        meta_json ->> 'message_id' as message_id,
        _warehouse.epoch_to_ts(created_at) as created_at,
        _deleted_at as deleted_at
    from source
)

select * from final
