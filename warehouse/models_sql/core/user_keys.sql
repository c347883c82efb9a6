-- A small integer per user id (1, 2, ...), never changed once given, for the users of
-- every response and of LiteLLM's purged days (its daily user and tag tables):
-- reports count distinct users by it. See `-- key:` in warehouse/models.py.
-- key: user_key for user_id
select user_id from core.source_responses where _warehouse.in_build(occurred_at)
union all
select user_id from core.usage_day_aggregates
where _warehouse.in_build(timezone('UTC', day::timestamp))
union all
select user_id from core.tag_day_aggregates
where _warehouse.in_build(timezone('UTC', day::timestamp))
