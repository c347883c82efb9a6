"""Cost from the admin's price file: effective-dated prices, most specific pattern, cached
tokens, currency conversion at the rate of the day, exact decimals; and the price file's
errors, each naming its line. Expected figures are computed here with Python's Decimal."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest
from click.testing import CliRunner

from tests.test_errors import fail, snapshot
from tests.test_reports import invoke, report
from warehouse import sample
from warehouse.cli import cli

MILLION = Decimal(1_000_000)
PRICE_FILE = """\
# prices per million tokens
[[price]]
model = "gpt-4o*"
input = 2.50
output = 10.00
cached_input = 1.25
currency = "USD"
valid_from = 2026-01-01

[[price]]
model = "gpt-4o*"
input = 2.00
output = 8.00
currency = "USD"
valid_from = 2026-03-15

[[price]]
model = "gpt-4o-mini"
input = 0.15
output = 0.60
currency = "EUR"

[[rate]]
from = "USD"
to = "EUR"
rate = 0.9234
valid_from = 2026-01-01

[[rate]]
from = "USD"
to = "EUR"
rate = 0.9187
valid_from = 2026-03-15
"""
LATER_PRICE = """
[[price]]
model = "gpt-4o*"
input = 5.00
output = 20.00
currency = "USD"
valid_from = 2026-04-01
"""
CHANGE = datetime(2026, 3, 15, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)


def price_of(model: str, at: datetime, later: bool = False):
    """(input, cached, output, currency) per million tokens, or None: the rules restated."""
    if model == "gpt-4o-mini":
        return Decimal("0.15"), Decimal("0.15"), Decimal("0.60"), "EUR"
    if not model.startswith("gpt-4o"):
        return None
    if later and at >= APRIL:
        return Decimal("5.00"), Decimal("5.00"), Decimal("20.00"), "USD"
    if at >= CHANGE:
        return Decimal("2.00"), Decimal("2.00"), Decimal("8.00"), "USD"
    return Decimal("2.50"), Decimal("1.25"), Decimal("10.00"), "USD"


def usd_to_eur(at: datetime) -> Decimal:
    return Decimal("0.9187") if at >= CHANGE else Decimal("0.9234")


def priced_dataset(seed: int = 3) -> tuple[sample.Dataset, list[tuple]]:
    """Chats in March 2026 on both sides of the price change; returns the dataset and
    (time, model, input, cached, output) per assistant message."""
    rng = random.Random(seed)
    users = [sample.User(f"u{i}", f"User {i}", f"u{i}@uni.example") for i in range(4)]
    chats, responses = [], []
    for i in range(160):
        at = datetime(2026, 3, 1 + i % 31, rng.randint(0, 23), rng.randint(0, 59), tzinfo=UTC)
        model = rng.choice(["gpt-4o-2024-08-06", "gpt-4o", "gpt-4o-mini", "mystery-1"])
        prompt, completion = rng.randint(1, 90_000), rng.randint(1, 9_000)
        cached = rng.choice([0, 0, rng.randint(0, prompt)])
        usage = {"prompt_tokens": prompt, "completion_tokens": completion}
        if cached:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        epoch = int(at.timestamp())
        chats.append(sample.Chat(f"chat{i}", users[i % 4].id, f"chat {i}", [
            sample.Message(f"q{i}", "user", "question", epoch - 5),
            sample.Message(f"a{i}", "assistant", "answer", epoch, model_id=model,
                           usage=usage, parent_id=f"q{i}")]))
        responses.append((at, model, prompt, cached, completion))
    return sample.Dataset(users=users, chats=chats), responses


def expected_cost(response, currency: str | None, later: bool = False) -> Decimal | None:
    at, model, prompt, cached, completion = response
    price = price_of(model, at, later)
    if price is None:
        return None
    input_price, cached_price, output_price, price_currency = price
    cost = ((prompt - cached) * input_price + cached * cached_price
            + completion * output_price) / MILLION
    if currency == "EUR" and price_currency == "USD":
        cost *= usd_to_eur(at)
    return cost


def six(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


@pytest.fixture
def priced(make_source, tmp_path):
    data, responses = priced_dataset()
    src = make_source(data, "sqlite")
    prices = tmp_path / "prices.toml"
    prices.write_text(PRICE_FILE)
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    invoke("--db", str(db), "build", "--prices", str(prices))
    return db, src, prices, responses


def test_repriced_cost_follows_the_price_in_force_and_converts_exactly(priced):
    db, _, _, responses = priced
    rows = report(db, "costs", "--by", "model", "--granularity", "day", "--cost", "repriced",
                  "--currency", "EUR")
    want = defaultdict(Decimal)
    counts = defaultdict(int)
    for r in responses:
        key = (r[0].date().isoformat(), r[1])
        counts[key] += 1
        cost = expected_cost(r, "EUR")
        if cost is not None:
            want[key] += cost
    got = {(r["period_start"], r["model"]): r for r in rows}
    assert set(got) == set(counts)
    for key, row in got.items():
        assert row["currency"] == "EUR"
        assert row["messages"] == counts[key]
        if key[1] == "mystery-1":
            assert row["repriced_cost"] is None and row["unpriced_responses"] == counts[key]
        else:
            assert six(str(row["repriced_cost"])) == six(want[key]), key
            assert row["unpriced_responses"] == 0
    # each side of the price change on its own
    before = [r for r in responses if r[0] < CHANGE and r[1].startswith("gpt-4o-2")]
    after = [r for r in responses if r[0] >= CHANGE and r[1].startswith("gpt-4o-2")]
    assert before and after
    for side, since, until in ((before, "2026-03-01", "2026-03-15"),
                               (after, "2026-03-15", "2026-04-01")):
        total = report(db, "costs", "--model", "gpt-4o-2024-08-06", "--granularity", "all",
                       "--cost", "repriced", "--since", since, "--until", until)
        assert total[0]["currency"] == "USD"
        assert six(str(total[0]["repriced_cost"])) == six(
            sum(expected_cost(r, None) for r in side))


def test_a_closed_month_keeps_its_cost_when_a_later_price_is_added(priced):
    db, src, prices, responses = priced
    march = ("--since", "2026-03-01", "--until", "2026-04-01", "--granularity", "all",
             "--cost", "repriced", "--currency", "EUR")
    first = report(db, "costs", *march)
    want = sum(c for c in (expected_cost(r, "EUR") for r in responses) if c is not None)
    assert six(str(first[0]["repriced_cost"])) == six(want)

    prices.write_text(PRICE_FILE + LATER_PRICE)
    april = datetime(2026, 4, 2, 9, tzinfo=UTC)
    epoch = int(april.timestamp())
    src.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at) "
                "VALUES ('april', 'u1', 'april', '{}', ?, ?)", (epoch, epoch))
    src.execute("INSERT INTO chat_message (id, chat_id, user_id, role, content, model_id, "
                "usage, created_at, updated_at) VALUES ('april-a', 'april', 'u1', "
                "'assistant', '\"hi\"', 'gpt-4o', '{\"prompt_tokens\": 1000, "
                "\"completion_tokens\": 100}', ?, ?)", (epoch, epoch))
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    invoke("--db", str(db), "build", "--prices", str(prices))
    assert report(db, "costs", *march) == first
    new = report(db, "costs", "--since", "2026-04-01", "--granularity", "all", "--cost",
                 "repriced")
    assert six(str(new[0]["repriced_cost"])) == six(
        expected_cost((april, "gpt-4o", 1000, 0, 100), None, later=True))  # 0.007 USD


def test_users_without_costs_leave_out_the_cost_columns_only(priced):
    """--cost none (what Open WebUI's users endpoint asks: it shows no costs) spares the
    costs query; every other column and the ranking stay the same; a ranking by cost
    without costs, and --cost none where costs are the question, are refused."""
    db = priced[0]
    for metric in ("messages", "tokens"):
        full = report(db, "users", "--metric", metric, "--limit", "3", "--currency", "EUR")
        bare = report(db, "users", "--metric", metric, "--limit", "3", "--cost", "none")
        assert {"billed_cost", "repriced_cost", "currency"} <= set(full[0])
        costly = ("billed_cost", "repriced_cost", "currency")
        assert bare == [{k: v for k, v in row.items() if k not in costly} for row in full]
    result = CliRunner().invoke(cli, ["--db", str(db), "report", "users", "--metric",
                                      "spend", "--cost", "none"])
    assert result.exit_code != 0
    assert result.output.strip().splitlines()[-1].endswith(
        "--metric spend ranks by cost: leave out --cost none")
    result = CliRunner().invoke(cli, ["--db", str(db), "report", "costs", "--cost", "none"])
    assert result.exit_code != 0 and "--cost 'none' is not one of" in result.output


def test_marts_round_repriced_cost_to_a_billionth(make_source, tmp_path):
    """Prices finer than 1e-9 per token: core.usage_events keeps each response's exact
    cost; the hourly marts store 64-bit decimals, each row's sum rounded half up to nine
    places (the scale of the sources' own costs), and reports add those exactly."""
    data, responses = priced_dataset(seed=5)
    src = make_source(data, "sqlite")
    prices = tmp_path / "prices.toml"
    prices.write_text('[[price]]\nmodel = "gpt-4o*"\ninput = 0.0375\noutput = 0.0625\n'
                      'currency = "USD"\n')
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus")
    invoke("--db", str(db), "build", "--prices", str(prices))
    priced = [r for r in responses if r[1].startswith("gpt-4o")]  # the mini too
    exact = [(r[2] * Decimal("0.0375") + r[4] * Decimal("0.0625")) / MILLION
             for r in priced]
    rounded = [c.quantize(Decimal("0.000000001"), rounding=ROUND_HALF_UP) for c in exact]
    assert rounded != exact  # the prices do need more than nine places
    con = duckdb.connect(str(db), read_only=True)

    def figures(sql: str) -> list[Decimal]:
        return sorted(Decimal(str(v)) for (v,) in con.execute(sql).fetchall())

    events = figures("SELECT repriced_cost FROM core.usage_events "
                     "WHERE price_line IS NOT NULL")
    # one response per chat and hour here, so each hourly row holds one response
    hourly = figures("SELECT repriced_cost FROM marts.usage_hourly "
                     "WHERE repriced_cost IS NOT NULL")
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE "
                             "schema_name = 'marts' AND table_name = 'usage_hourly' AND "
                             "column_name IN ('cost', 'repriced_cost')").fetchall())
    con.close()
    assert events == sorted(exact)
    assert hourly == sorted(rounded)
    assert types == {"cost": "DECIMAL(18,9)", "repriced_cost": "DECIMAL(18,9)"}
    total = report(db, "costs", "--granularity", "all", "--cost", "repriced", "--model",
                   "gpt-4o")
    assert six(str(total[0]["repriced_cost"])) == six(sum(
        c for c, r in zip(rounded, priced, strict=True) if r[1] == "gpt-4o"))


def test_unpriced_models_are_counted_and_listed(priced):
    db, _, _, responses = priced
    mystery = sum(1 for r in responses if r[1] == "mystery-1")
    assert report(db, "unpriced-models") == [{
        "source_name": "campus", "model_id": "mystery-1", "unpriced_responses": mystery,
        "first_seen": min(r[0] for r in responses if r[1] == "mystery-1").strftime(
            "%Y-%m-%d %H:00"),
        "last_seen": max(r[0] for r in responses if r[1] == "mystery-1").strftime(
            "%Y-%m-%d %H:00")}]
    result = CliRunner().invoke(cli, ["--db", str(db), "report", "costs", "--currency",
                                      "EUR"])
    assert result.exit_code == 0
    assert f"note: {mystery} responses have no price" in result.stderr
    # without --currency, costs in two currencies cannot be added up
    message = fail("--db", str(db), "report", "costs")
    assert "costs are in EUR, USD: pass --currency" in message
    message = fail("--db", str(db), "report", "costs", "--currency", "CHF")
    assert "no rate from " in message and " to CHF in force on 2026-03-" in message
    assert "--currency 'euro' is not an ISO 4217 code" in fail(
        "--db", str(db), "report", "costs", "--currency", "euro")


BAD_FILES = [
    ("syntax", 'x = 1\n[[price]\nmodel = "a"\n', "prices.toml line 2, column"),
    ("overlap", PRICE_FILE + '\n[[price]]\nmodel = "gpt-4o*"\ninput = 1\noutput = 1\n'
     'currency = "USD"\nvalid_from = 2026-03-15\n',
     "prices.toml line 40: valid_from 2026-03-15 overlaps the entry at line 10, which "
     "starts the same day"),
    ("overlap-until", '[[price]]\nmodel = "m"\ninput = 1\noutput = 1\ncurrency = "USD"\n'
     'valid_from = 2026-01-01\nvalid_until = 2026-06-01\n\n[[price]]\nmodel = "m"\n'
     'input = 2\noutput = 2\ncurrency = "USD"\nvalid_from = 2026-05-01\n',
     "prices.toml line 14: valid_from 2026-05-01 overlaps the entry at line 1 (in force "
     "2026-01-01 to 2026-06-01)"),
    ("currency", '[[price]]\nmodel = "m"\ninput = 1\noutput = 1\ncurrency = "EURO"\n',
     "prices.toml line 5: unknown currency 'EURO'"),
    ("negative", '[[price]]\nmodel = "m"\ninput = 1\noutput = -0.5\ncurrency = "USD"\n',
     "prices.toml line 4: negative price output = -0.5"),
    ("unknown key", '[[price]]\nmodel = "m"\ninput = 1\nouput = 1\ncurrency = "USD"\n',
     "prices.toml line 1: unknown key 'ouput'"),
    ("rate", '[[rate]]\nfrom = "USD"\nto = "EUR"\nrate = 0.9\nvalid_from = 2026-01-01T10:00:00\n',
     "prices.toml line 5: 2026-01-01 10:00:00 is not a date: rates change on whole days"),
]


@pytest.mark.parametrize("case", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_a_bad_price_file_is_refused_naming_the_line(priced, case):
    db, _, prices, _ = priced
    _, text, needle = case
    prices.write_text(text)
    before = snapshot(db)
    message = fail("--db", str(db), "build", "--prices", str(prices))
    assert needle in message and str(prices) in message, message
    assert snapshot(db) == before
    assert needle in fail("--db", str(db), "run", "--prices", str(prices))
