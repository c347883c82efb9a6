-- A small integer per chat id (1, 2, ...), never changed once given: reports count
-- distinct chats as a bitstring over it (bitstring_agg), several times faster than
-- hashing the ids (benchmarks/RESULTS.md). See `-- key:` in warehouse/models.py.
-- key: chat_key for chat_id
select chat_id from core.source_responses where _warehouse.in_build(occurred_at)
