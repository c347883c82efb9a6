-- Whether core.chats' `models` (the JSON array text of a chat's models) has --model as
-- an element: its JSON string after [ or , and before , or ] (inside a JSON string a
-- quote is escaped, so an id holding [ " , or ] cannot fake one).
(contains(models, '[' || to_json($model::varchar)::varchar || ',')
    or contains(models, '[' || to_json($model::varchar)::varchar || ']')
    or contains(models, ',' || to_json($model::varchar)::varchar || ',')
    or contains(models, ',' || to_json($model::varchar)::varchar || ']'))
