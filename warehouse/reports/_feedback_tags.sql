-- The feedback report's tag counts, from the facts' chats.
select model_chats.model_id, chat_tags.tag_id as tag, count(*) as count
from (
    select distinct source_name, chat_id, model_id
    from facts
    where model_id is not null
        and (model_id in (select model_id from ratings) or model_id = $model)
) as model_chats
join core.chat_tags as chat_tags
    on chat_tags.source_name = model_chats.source_name
    and chat_tags.chat_id = model_chats.chat_id
group by all
