-- A small integer per model id (1, 2, ...), never changed once given, for the models of
-- every response and of LiteLLM's purged days (its daily user and tag tables):
-- reports count and group models by it. See `-- key:` in warehouse/models.py.
-- key: model_key for model_id
select model_id from core.source_responses where _warehouse.in_build(occurred_at)
union all
select model_id from core.usage_day_aggregates
where _warehouse.in_build(timezone('UTC', day::timestamp))
union all
select model_id from core.tag_day_aggregates
where _warehouse.in_build(timezone('UTC', day::timestamp))
