-- The rows every report starts from, filtered by the report's options. {relation} is
-- one of the _*.sql relations beside this file. All values arrive as bound parameters.
-- $facts_since is --since, moved earlier where a report looks back (active users).
select *
from ({relation}) as f
where ($facts_since is null or ts >= $facts_since)
    and ($until is null or ts < $until)
    and ($source is null or source_name = $source)
    and ($channel is null or channel = $channel)
    and ($user_id is null or user_id = $user_id)
    -- the users of one page of the users report, whose costs it joins ('' stands for
    -- rows without a user)
    and ($only_users is null or list_contains($only_users, coalesce(user_id, '')))
    and ($model is null or model_id = $model)
    and ($tags is null or list_has_any(tags, $tags))
    and ($tag_like is null or len(list_filter(tags, t -> contains(lower(t), lower($tag_like)))) > 0)
    and ($group_id is null or (source_name, user_id) in (
        select (source_name, user_id) from core.group_members where group_id = $group_id))
    and ($include_deleted or not deleted_in_source)
    -- across sources a request seen by a routed Open WebUI and its proxy counts once
    and ($source is not null or not counted_elsewhere)
