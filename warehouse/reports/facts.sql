-- The usage rows every usage report starts from, filtered by the report's options.
-- {relation} is marts.usage_hourly, or core.usage_events when the window or time zone
-- does not fall on whole UTC hours. All values arrive as bound parameters.
select *
from ({relation}) as f
where ($since is null or ts >= $since)
    and ($until is null or ts < $until)
    and ($source is null or source_name = $source)
    and ($user_id is null or user_id = $user_id)
    and ($model is null or model_id = $model)
    and ($group_id is null or (source_name, user_id) in (
        select (source_name, user_id) from core.group_members where group_id = $group_id))
    and ($include_deleted or not deleted_in_source)
