-- Shared scalar rules, created before any model builds (not a model itself).
-- Every unit rule lives here once so staging never repeats it. Macros here are plain
-- expressions, never subqueries: a subquery per row turns a staging view into joins
-- that DuckDB evaluates even for columns a query does not read (10x slower builds).

-- Epoch seconds -> TIMESTAMPTZ, NULL outside 2000..2100.
create or replace macro _warehouse.seconds_to_ts(s) as (
    case when s >= 946684800 and s < 4102444800 then to_timestamp(s) end
);

-- Epoch number in s, ms, us or ns -> TIMESTAMPTZ (UTC); NULL when outside 2000..2100,
-- which no real event is (out-of-range values are kept in raw and counted, not dated).
create or replace macro _warehouse.epoch_to_ts(v) as (
    case
        when v is null then null
        when v::double not between 946684800 * 1e9 * -1 and 4102444800 * 1e9 then null
        else _warehouse.seconds_to_ts(case
            when abs(v::double) >= 1e17 then v::double / 1e9
            when abs(v::double) >= 1e14 then v::double / 1e6
            when abs(v::double) > 1e10 then v::double / 1e3
            else v::double
        end)
    end
);

-- A token count as reported, or NULL when it cannot be real: negative, or above a
-- billion tokens for one response (no model's context comes near it).
create or replace macro _warehouse.plausible_tokens(n) as (
    case when n >= 0 and n <= 1e9 then trunc(n)::bigint end
);

-- The first of two keys of a JSON object that holds a number (NULL if neither does).
create or replace macro _warehouse.json_number(j, first_key, second_key) as (
    case when json_type(j) = 'OBJECT' then coalesce(
        try_cast(json_extract_string(j, '$.' || first_key) as double),
        try_cast(json_extract_string(j, '$.' || second_key) as double)
    ) end
);

-- A non-negative token count from a usage JSON text, trying the keys in order
-- (input_tokens before prompt_tokens, as Open WebUI reads them). Malformed JSON,
-- JSON null, strings that are not numbers and implausible values give NULL.
create or replace macro _warehouse.usage_tokens(usage_json, first_key, second_key) as (
    _warehouse.plausible_tokens(_warehouse.json_number(
        -- json_valid first: JSON functions raise on malformed text
        case when json_valid(usage_json) then usage_json::json end, first_key, second_key))
);

-- The text of a parsed message content (see content_text).
create or replace macro _warehouse.json_text(j, content_json) as (
    case
        when j is null then content_json
        when json_type(j) = 'VARCHAR' then json_extract_string(j, '$')
        when json_type(j) = 'ARRAY' then json_extract_string(j, '$[0].text')
        else content_json
    end
);

-- Text of a message's JSON-encoded content: a string, or the first text block of a list.
create or replace macro _warehouse.content_text(content_json) as (
    _warehouse.json_text(case when json_valid(content_json) then content_json::json end,
        content_json)
);

-- A JSON array text as a list of strings (LiteLLM's request_tags); anything else is empty.
create or replace macro _warehouse.json_string_list(text_json) as (
    case
        when json_valid(text_json) and json_type(text_json::json) = 'ARRAY' then list_filter(
            json_extract_string(text_json::json, '$[*]'), t -> t is not null and t <> '')
        else []::varchar[]
    end
);

-- LiteLLM's daily tables date rows by a 'YYYY-MM-DD' text (UTC).
create or replace macro _warehouse.utc_day(text_date) as (
    try_strptime(text_date, '%Y-%m-%d')::date
);

-- Cost of one response's tokens at per-token prices (exact DECIMAL). Cached tokens are
-- part of input_tokens (OpenAI's convention) and cost the cached price when the price
-- file gives one. NULL without a price or without token figures.
create or replace macro _warehouse.token_cost(
    input_tokens, cached_tokens, output_tokens, input_price, cached_price, output_price
) as (
    case when input_price is not null
        and (input_tokens is not null or output_tokens is not null) then
        (greatest(coalesce(input_tokens, 0) - coalesce(cached_tokens, 0), 0)::decimal(38, 0)
            * input_price
        + least(coalesce(cached_tokens, 0), coalesce(input_tokens, 0))::decimal(38, 0)
            * coalesce(cached_price, input_price)
        + coalesce(output_tokens, 0)::decimal(38, 0) * output_price)::decimal(38, 18)
    end
);

-- Incremental builds (warehouse/models.py) set the variable build_days to the UTC days
-- being rebuilt; unset (NULL) means every day: a full build. Incremental models keep
-- their inputs to those days with these, so one file serves both builds. Undated rows
-- (NULL) belong to 1970-01-01, so that they too are rebuilt with their day.
create or replace macro _warehouse.build_day(ts) as (
    cast(timezone('UTC', coalesce(ts, timestamptz '1970-01-01 00:00:00+00')) as date)
);

-- The range test comes first: DuckDB pushes it below a staging view's JSON decoding
-- (build_from and build_until bound the days), which the list test alone is not.
create or replace macro _warehouse.in_build(ts) as (
    getvariable('build_days') is null
    or (coalesce(ts, timestamptz '1970-01-01 00:00:00+00') >= getvariable('build_from')
        and coalesce(ts, timestamptz '1970-01-01 00:00:00+00') < getvariable('build_until')
        and list_contains(getvariable('build_days'), _warehouse.build_day(ts)))
);

-- In a rebuilt day or at most `seconds` (under a day) from one: the neighbours a
-- computation over a time window must see.
create or replace macro _warehouse.near_build(ts, seconds) as (
    getvariable('build_days') is null
    or (ts >= getvariable('build_from') - to_seconds(seconds)
        and ts < getvariable('build_until') + to_seconds(seconds)
        and (list_contains(getvariable('build_days'), _warehouse.build_day(ts))
            or list_contains(getvariable('build_days'),
                _warehouse.build_day(ts - to_seconds(seconds)))
            or list_contains(getvariable('build_days'),
                _warehouse.build_day(ts + to_seconds(seconds)))))
);
