-- The feedback report's tag counts; for one model over all time with no one left out
-- (Open WebUI's model overview asks its tags so), from core.chats alone: the tag ids and
-- the models it lists per chat (its models come from every response, deleted ones
-- included; core.chat_tags holds its tag ids), without reading every response. Any
-- other question: _feedback_tags.sql.
select $model as model_id, tag, count(*) as count
from (
    select unnest(tag_ids) as tag
    from core.chats
    where {all_time_of_one_model}
        and ($source is null or source_name = $source)
        and {lists_model}
)
group by all
union all
select * from ({feedback_tags})
where not {all_time_of_one_model}
