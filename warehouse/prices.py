"""The admin's price file: effective-dated model prices and currency rates.

A price file is TOML, read with exact decimals (never floats):

    currency = "EUR"         # optional: prices without a currency are in it, and cost
                             # reports convert to it unless --currency says otherwise
    [[price]]
    model = "gpt-4o*"        # a model id, or a pattern with * and ?
    input = 2.50             # per million input tokens
    output = 10.00           # per million output tokens
    cached_input = 1.25      # optional: per million cached input tokens (default: input)
    currency = "USD"
    valid_from = 2025-01-01  # date or datetime (UTC); optional: since ever
    valid_until = 2025-07-01 # optional: default, the next valid_from of the same model

    [[rate]]
    from = "USD"
    to = "EUR"
    rate = 0.9234            # 1 USD = 0.9234 EUR
    valid_from = 2025-01-01  # a date (UTC)

Every mistake is refused with the file and line at fault, because a wrong price silently
turns into a wrong bill.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

from warehouse.currencies import ISO_4217
from warehouse.errors import WarehouseError

PRICE_KEYS = {"model", "input", "output", "cached_input", "currency", "valid_from",
              "valid_until"}
RATE_KEYS = {"from", "to", "rate", "valid_from", "valid_until"}
TOP_KEYS = {"price", "rate", "currency"}
# prices per token are stored with 18 decimals; rates with 10
PRICE_SCALE = 12  # decimals allowed in a per-million price (18 - 6)
RATE_SCALE = 10
EVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Price:
    line: int
    model: str
    input: Decimal
    output: Decimal
    cached_input: Decimal | None
    currency: str
    valid_from: datetime
    valid_until: datetime | None  # as written; None: until the model's next price


@dataclass(frozen=True)
class Rate:
    line: int
    source: str
    target: str
    rate: Decimal
    valid_from: date
    valid_until: date | None


@dataclass(frozen=True)
class PriceList:
    path: Path
    prices: tuple[Price, ...]
    rates: tuple[Rate, ...]
    currency: str | None = None  # the file's own currency: reports' default


class _Entries:
    """Where each [[price]] / [[rate]] entry and its keys are in the text, for messages."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = text.splitlines()
        self.headers: dict[str, list[int]] = {"price": [], "rate": []}
        for number, line in enumerate(self.lines, start=1):
            match = re.match(r"\s*\[\[\s*(price|rate)\s*\]\]", line)
            if match:
                self.headers[match.group(1)].append(number)

    def line(self, table: str, index: int, key: str | None = None) -> int | None:
        starts = self.headers[table]
        if index >= len(starts):
            return None
        start = starts[index]
        following = [n for heads in self.headers.values() for n in heads if n > start]
        end = min(following) if following else len(self.lines) + 1
        if key is not None:
            pattern = re.compile(rf"\s*\"?{re.escape(key)}\"?\s*=")
            for number in range(start + 1, end):
                if pattern.match(self.lines[number - 1]):
                    return number
        return start

    def error(self, table: str, index: int, key: str | None, message: str) -> WarehouseError:
        line = self.line(table, index, key)
        where = f"line {line}" if line else f"[[{table}]] entry {index + 1}"
        return WarehouseError(f"{self.path} {where}: {message}")


def load(path: Path) -> PriceList:
    """Read and check a price file; raise a one-line WarehouseError naming the line."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise WarehouseError(f"cannot read price file {path}: {exc}") from None
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if match:
            message = message[: match.start()].strip()
            raise WarehouseError(f"{path} line {match.group(1)}, column {match.group(2)}: "
                                 f"{message}") from None
        raise WarehouseError(f"{path}: {message}") from None
    entries = _Entries(Path(path), text)
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise WarehouseError(f"{path}: unknown key {unknown[0]!r} (expected [[price]] and "
                             "[[rate]] entries and an optional default currency)")
    default_currency = data.get("currency")
    if default_currency is not None:
        default_currency = _currency_code(default_currency, lambda m: WarehouseError(
            f"{path}: {m}"))
    prices = tuple(_price(entries, i, raw, default_currency)
                   for i, raw in enumerate(_tables(data, "price", path)))
    rates = tuple(_rate(entries, i, raw) for i, raw in enumerate(_tables(data, "rate", path)))
    _check_overlaps(entries, "price", prices, lambda p: p.model)
    _check_overlaps(entries, "rate", rates, lambda r: (r.source, r.target))
    return PriceList(Path(path), prices, rates, default_currency)


def _tables(data: dict, name: str, path: Path) -> list[dict]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise WarehouseError(f"{path}: {name} must be written as [[{name}]] entries")
    return value


def _price(entries: _Entries, index: int, raw: dict, default_currency: str | None) -> Price:
    def fail(key, message):
        return entries.error("price", index, key, message)

    _check_keys(raw, PRICE_KEYS, ("model", "input", "output"), fail)
    model = raw["model"]
    if not isinstance(model, str) or not model.strip():
        raise fail("model", "model must be a model id or pattern in quotes")
    if "currency" not in raw and default_currency is None:
        raise fail(None, f"price for {model!r} has no currency (add currency = \"USD\")")
    currency = (_currency_code(raw["currency"], lambda m: fail("currency", m))
                if "currency" in raw else default_currency)
    amounts = {key: _amount(raw[key], key, PRICE_SCALE, lambda m, k=key: fail(k, m))
               for key in ("input", "output", "cached_input") if key in raw}
    valid_from = _instant(raw.get("valid_from"), lambda m: fail("valid_from", m)) or EVER
    valid_until = _instant(raw.get("valid_until"), lambda m: fail("valid_until", m))
    if valid_until is not None and valid_until <= valid_from:
        raise fail("valid_until", f"valid_until {valid_until:%Y-%m-%d %H:%M} is not after "
                                  f"valid_from {valid_from:%Y-%m-%d %H:%M}")
    return Price(entries.line("price", index) or 0, model.strip(), amounts["input"],
                 amounts["output"], amounts.get("cached_input"), currency, valid_from,
                 valid_until)


def _rate(entries: _Entries, index: int, raw: dict) -> Rate:
    def fail(key, message):
        return entries.error("rate", index, key, message)

    _check_keys(raw, RATE_KEYS, ("from", "to", "rate"), fail)
    source = _currency_code(raw["from"], lambda m: fail("from", m))
    target = _currency_code(raw["to"], lambda m: fail("to", m))
    if source == target:
        raise fail("to", f"a rate from {source} to itself")
    rate = _amount(raw["rate"], "rate", RATE_SCALE, lambda m: fail("rate", m))
    if rate == 0:
        raise fail("rate", "rate must be above zero")
    valid_from = _day(raw.get("valid_from"), lambda m: fail("valid_from", m)) or EVER.date()
    valid_until = _day(raw.get("valid_until"), lambda m: fail("valid_until", m))
    if valid_until is not None and valid_until <= valid_from:
        raise fail("valid_until", f"valid_until {valid_until} is not after valid_from "
                                  f"{valid_from}")
    return Rate(entries.line("rate", index) or 0, source, target, rate, valid_from,
                valid_until)


def _check_keys(raw: dict, allowed: set[str], required: tuple[str, ...], fail) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise fail(None, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    missing = [k for k in required if k not in raw]
    if missing:
        raise fail(None, f"missing {missing[0]} = ...")


def _currency_code(value, fail) -> str:
    if not isinstance(value, str) or value.strip().upper() not in ISO_4217:
        raise fail(f"unknown currency {value!r}: use an ISO 4217 code such as USD or EUR")
    return value.strip().upper()


def _amount(value, key: str, scale: int, fail) -> Decimal:
    if isinstance(value, bool):
        raise fail(f"{key} must be a number, not {value!r}")
    try:
        amount = Decimal(str(value).strip()) if isinstance(value, str | int) else value
    except InvalidOperation:
        amount = None
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise fail(f"{key} must be a number, not {value!r}")
    if amount < 0:
        raise fail(f"negative price {key} = {value}")
    if amount.as_tuple().exponent < -scale:
        raise fail(f"{key} = {value} has more than {scale} decimal places")
    if amount >= Decimal(10) ** 15:
        raise fail(f"{key} = {value} is too large")
    return amount


def _instant(value, fail) -> datetime | None:
    """A TOML date (midnight UTC) or datetime (naive = UTC), or the same as ISO text."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise fail(f"{value!r} is not a date or datetime (YYYY-MM-DD or "
                       "YYYY-MM-DDTHH:MM:SSZ)") from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    raise fail(f"{value!r} is not a date or datetime (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")


def _day(value, fail) -> date | None:
    """Rates change on whole UTC days, so that hourly figures convert exactly."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise fail(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if isinstance(value, datetime) or not isinstance(value, date):
        shown = value.isoformat(" ") if isinstance(value, datetime) else repr(value)
        raise fail(f"{shown} is not a date: rates change on whole days (YYYY-MM-DD)")
    return value


def _check_overlaps(entries: _Entries, table: str, items, key) -> None:
    """Two entries for the same model (or currency pair) may not be in force at once."""
    by_key: dict = {}
    for index, item in enumerate(items):
        by_key.setdefault(key(item), []).append((index, item))
    for group in by_key.values():
        group.sort(key=lambda pair: pair[1].valid_from)
        for (_, earlier), (index, later) in zip(group, group[1:], strict=False):
            if earlier.valid_until is None and earlier.valid_from != later.valid_from:
                continue
            if earlier.valid_from == later.valid_from:
                raise entries.error(
                    table, index, "valid_from",
                    f"valid_from {_show(later.valid_from)} overlaps the entry at line "
                    f"{earlier.line}, which starts the same day: keep one of them")
            if earlier.valid_until > later.valid_from:
                raise entries.error(
                    table, index, "valid_from",
                    f"valid_from {_show(later.valid_from)} overlaps the entry at line "
                    f"{earlier.line} (in force {_show(earlier.valid_from)} to "
                    f"{_show(earlier.valid_until)})")


def _show(value) -> str:
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d}" if value.time() == time() else f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def _ranges(items, key):
    """Each entry with its end: as written, else the next entry's start for that key."""
    by_key: dict = {}
    for item in items:
        by_key.setdefault(key(item), []).append(item)
    for group in by_key.values():
        group.sort(key=lambda item: item.valid_from)
        for item, following in zip(group, group[1:] + [None], strict=True):
            yield item, item.valid_until or (following.valid_from if following else None)


SCHEMA = """
CREATE SCHEMA IF NOT EXISTS _warehouse;
CREATE TABLE IF NOT EXISTS _warehouse.prices (
    line INTEGER, pattern VARCHAR, is_exact BOOLEAN, input_per_token DECIMAL(38, 18),
    output_per_token DECIMAL(38, 18), cached_per_token DECIMAL(38, 18), currency VARCHAR,
    valid_from TIMESTAMPTZ, valid_until TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS _warehouse.rates (
    line INTEGER, from_currency VARCHAR, to_currency VARCHAR, rate DECIMAL(38, 10),
    valid_from DATE, valid_until DATE);
CREATE TABLE IF NOT EXISTS _warehouse.price_file (
    path VARCHAR, loaded_at TIMESTAMPTZ, prices INTEGER, rates INTEGER, currency VARCHAR);
"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def store(con: duckdb.DuckDBPyConnection, price_list: PriceList) -> None:
    """Replace the warehouse's prices and rates with the file's (inside the caller's
    transaction, so a failed build keeps the old ones)."""
    ensure_tables(con)
    con.execute("DELETE FROM _warehouse.prices; DELETE FROM _warehouse.rates; "
                "DELETE FROM _warehouse.price_file")
    million = Decimal(10) ** 6
    prices = [
        (p.line, p.model, not any(c in p.model for c in "*?["), p.input / million,
         p.output / million, None if p.cached_input is None else p.cached_input / million,
         p.currency, p.valid_from, until)
        for p, until in _ranges(price_list.prices, lambda p: p.model)]
    if prices:
        con.executemany("INSERT INTO _warehouse.prices VALUES (?, ?, ?, ?::DECIMAL(38, 18), "
                        "?::DECIMAL(38, 18), ?::DECIMAL(38, 18), ?, ?, ?)",
                        [_text_decimals(row) for row in prices])
    rates = [(r.line, r.source, r.target, r.rate, r.valid_from, until)
             for r, until in _ranges(price_list.rates, lambda r: (r.source, r.target))]
    if rates:
        con.executemany("INSERT INTO _warehouse.rates VALUES (?, ?, ?, ?::DECIMAL(38, 10), "
                        "?, ?)", [_text_decimals(row) for row in rates])
    con.execute("INSERT INTO _warehouse.price_file VALUES (?, now(), ?, ?, ?)",
                [str(price_list.path), len(prices), len(rates), price_list.currency])


def _text_decimals(row: tuple) -> tuple:
    """Decimals travel as text so that DuckDB parses them exactly."""
    return tuple(format(v, "f") if isinstance(v, Decimal) else v for v in row)
