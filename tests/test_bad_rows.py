"""Bad source rows, generated with hypothesis: none stops a run; each is normalised or
set aside and listed in core.quarantine (counted by `warehouse status`); the totals over
the good rows stay exact, also when the rows are read again by the next run.

Expected figures come from the good dataset (tests/expected.py) plus what each kind of bad
row must add, stated per kind below, not from the warehouse's SQL.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests import expected
from tests.test_reports import invoke, report
from warehouse import journal, sample
from warehouse.cli import cli

GOOD = sample.generate(seed=21, users=2, days=2, chats_per_user=2)
BASE_TIME = 1_790_000_000  # 2026-09-21, inside 2000..2100
OWNER = GOOD.users[0].id


def usage(i, o, **more) -> str:
    return json.dumps({"prompt_tokens": i, "completion_tokens": o, **more})


# Each strategy gives (row overrides, expected effect): `tokens` are the (input, output)
# tokens the row adds to the totals, `message` whether it counts as a message, `problem`
# what core.quarantine must list for it (or None: normalised silently).
tokens = st.integers(min_value=0, max_value=200_000)


@st.composite
def malformed_usage(draw):
    text = "{" + draw(st.text(max_size=30))  # never valid JSON
    return dict(usage=text), dict(tokens=(0, 0), message=True,
                                  problem="usage is not valid JSON")


@st.composite
def huge_usage(draw):
    i, o = draw(tokens), draw(tokens)
    padding = "x" * draw(st.integers(min_value=100_000, max_value=2_000_000))
    return dict(usage=usage(i, o, padding=padding)), dict(tokens=(i, o), message=True,
                                                          problem=None)


@st.composite
def implausible_tokens(draw):
    bad = draw(st.one_of(st.integers(max_value=-1, min_value=-(2**62)),
                         st.integers(min_value=10**9 + 1, max_value=2**62)))
    o = draw(tokens)
    return dict(usage=usage(bad, o)), dict(tokens=(0, o), message=True,
                                           problem="implausible token count")


@st.composite
def other_epoch_unit(draw):
    scale = draw(st.sampled_from([1, 1_000, 1_000_000, 1_000_000_000]))
    i, o = draw(tokens), draw(tokens)
    return (dict(usage=usage(i, o), created_at=BASE_TIME * scale),
            dict(tokens=(i, o), message=True, problem=None))


@st.composite
def time_out_of_range(draw):
    when = draw(st.one_of(st.integers(min_value=-(10**9), max_value=946_684_799),
                          st.just(2**63 - 1)))
    i, o = draw(tokens), draw(tokens)
    return (dict(usage=usage(i, o), created_at=when),
            dict(tokens=(i, o), message=True, problem="time out of range"))


@st.composite
def not_an_integer(draw):
    # SQLite keeps text that does not look like a number, and floats beyond BIGINT,
    # in a BIGINT column
    when = draw(st.one_of(
        st.text(alphabet="abcxyz -:", min_size=1, max_size=12).filter(
            lambda t: t.strip() != ""),
        st.floats(min_value=1e19, max_value=1e300)))
    i, o = draw(tokens), draw(tokens)
    return (dict(usage=usage(i, o), created_at=when),
            dict(tokens=(i, o), message=True, problem="not a BIGINT"))


@st.composite
def not_utf8(draw):
    raw = draw(st.binary(min_size=1, max_size=20)) + b"\xff\xfe"
    i, o = draw(tokens), draw(tokens)
    return (dict(usage=usage(i, o), content=raw),
            dict(tokens=(i, o), message=True, problem="not UTF-8 text"))


@st.composite
def no_user(draw):
    # chat_message.user_id may be NULL: the chat names the owner
    i, o = draw(tokens), draw(tokens)
    return dict(usage=usage(i, o), user_id=None), dict(tokens=(i, o), message=True,
                                                       problem=None)


@st.composite
def json_not_an_object(draw):
    text = draw(st.sampled_from(["null", "[]", "42", '"text"', "{}"]))
    return dict(usage=text), dict(tokens=(0, 0), message=True, problem=None)


BAD_ROW = st.one_of(malformed_usage(), huge_usage(), implausible_tokens(),
                    other_epoch_unit(), time_out_of_range(), not_an_integer(), not_utf8(),
                    no_user(), json_not_an_object())


# One of each kind, tried on every run before the generated lists.
EVERY_KIND = [
    (dict(usage="{'prompt_tokens': 3"), dict(tokens=(0, 0), message=True,
                                             problem="usage is not valid JSON")),
    (dict(usage=usage(11, 12, padding="x" * 1_500_000)), dict(tokens=(11, 12), message=True,
                                                              problem=None)),
    (dict(usage=usage(-5, 13)), dict(tokens=(0, 13), message=True,
                                     problem="implausible token count")),
    (dict(usage=usage(10**12, 14)), dict(tokens=(0, 14), message=True,
                                         problem="implausible token count")),
    (dict(usage=usage(15, 16), created_at=BASE_TIME * 1_000_000_000),
     dict(tokens=(15, 16), message=True, problem=None)),
    (dict(usage=usage(17, 18), created_at=-1), dict(tokens=(17, 18), message=True,
                                                    problem="time out of range")),
    (dict(usage=usage(19, 20), created_at="yesterday"),
     dict(tokens=(19, 20), message=True, problem="not a BIGINT")),
    (dict(usage=usage(21, 22), created_at=1e30),
     dict(tokens=(21, 22), message=True, problem="not a BIGINT")),
    (dict(usage=usage(23, 24), content=b"caf\xe9 \xff"),
     dict(tokens=(23, 24), message=True, problem="not UTF-8 text")),
    (dict(usage=usage(25, 26), user_id=None), dict(tokens=(25, 26), message=True,
                                                   problem=None)),
    (dict(usage="null"), dict(tokens=(0, 0), message=True, problem=None)),
]


def write_source(path: Path, bad_rows) -> None:
    conn = sqlite3.connect(path)
    sample.write(conn, GOOD)
    conn.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at) "
                 "VALUES ('bad-chat', ?, 'bad rows', '{}', ?, ?)",
                 (OWNER, BASE_TIME, BASE_TIME))
    for n, (row, _) in enumerate(bad_rows):
        values = dict(id=f"bad-{n}", chat_id="bad-chat", user_id=OWNER, role="assistant",
                      model_id="gpt-bad", content="ok", usage=None, created_at=BASE_TIME + n,
                      updated_at=BASE_TIME + n) | row
        content = values.pop("content")
        cast = "CAST(? AS TEXT)" if isinstance(content, bytes) else "?"
        columns = ", ".join(values)
        conn.execute(f"INSERT INTO chat_message ({columns}, content) VALUES "
                     f"({', '.join('?' * len(values))}, {cast})", (*values.values(), content))
    conn.commit()
    conn.close()


def quarantined(db) -> Counter:
    rows = CliRunner().invoke(cli, ["--db", str(db), "query", "--format", "json",
                                    "SELECT problem FROM core.quarantine"],
                              catch_exceptions=False)
    assert rows.exit_code == 0, rows.output
    return Counter(r["problem"] for r in json.loads(rows.stdout))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(BAD_ROW, min_size=1, max_size=8))
@example(EVERY_KIND)
def test_bad_rows_never_stop_a_run_and_good_totals_stay_exact(bad_rows):
    good = expected.summary(expected.rows(GOOD))
    want_in = good["input_tokens"] + sum(e["tokens"][0] for _, e in bad_rows)
    want_out = good["output_tokens"] + sum(e["tokens"][1] for _, e in bad_rows)
    want_messages = good["total_messages"] + sum(e["message"] for _, e in bad_rows)
    want_problems = Counter(e["problem"] for _, e in bad_rows if e["problem"])
    with tempfile.TemporaryDirectory() as folder:
        source, db = Path(folder) / "webui.db", Path(folder) / "usage.duckdb"
        write_source(source, bad_rows)
        for _ in range(2):  # the second run reads the new rows again (the overlap)
            # "full": the message text is read too, so its bad bytes are found
            invoke("--db", str(db), "ingest", "--url", f"sqlite:///{source}", "--name",
                   "campus", "--content", "full", "--quiet")
            invoke("--db", str(db), "build", "--quiet")
            got = report(db, "summary")[0]
            assert (got["input_tokens"], got["output_tokens"], got["total_messages"]) == (
                want_in, want_out, want_messages)
            assert quarantined(db) == want_problems
        status = invoke("--db", str(db), "status")
        for problem, count in want_problems.items():
            assert any(problem in line and line.rstrip().endswith(str(count))
                       for line in status.splitlines()), (problem, status)


def test_a_ledger_without_a_declared_key_keeps_each_id_once_and_sets_aside_rows_without(
        make_source, tmp_path):
    """SQLite lets a table declared without a key (or with a nullable one) repeat an id or
    leave it NULL: the row written last counts, a row without an id does not, both are
    listed, and the next runs change nothing."""
    from tests.test_ledger import LEDGER_DDL

    src = make_source(sample.generate(seed=5, users=2, days=2, chats_per_user=1), "sqlite")
    conn = src.connect()
    conn.execute(LEDGER_DDL.format(money="REAL").replace(" PRIMARY KEY", ""))
    rows = [(f"api-{n}", 100 * n + 1, n + 1, BASE_TIME + n) for n in range(5)]
    rows += [("api-2", 999, 7, BASE_TIME + 60),   # the same id written again, later
             (None, 5000, 5000, BASE_TIME + 61)]  # no id
    conn.executemany("INSERT INTO usage_log (id, user_id, model_id, source, status, "
                     "input_tokens, output_tokens, created_at) VALUES "
                     f"(?, '{OWNER}', 'gpt-4o', 'api', 'completed', ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    kept = [r for r in rows[:5] if r[0] != "api-2"] + [rows[5]]
    want = (len(kept), sum(i + o for _, i, o, _ in kept))
    db = tmp_path / "usage.duckdb"
    for n, args in enumerate(([], [], ["--full-refresh"])):
        invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus", "--quiet",
               *args)
        if n == 1:  # the same rows found and set aside again: nothing new to publish
            assert journal.last_attempts(db, 1)[0].reason.startswith("nothing new")
        invoke("--db", str(db), "build", "--quiet")
        got = report(db, "summary", "--channel", "api")[0]
        assert (got["total_messages"], got["total_tokens"]) == want
        assert quarantined(db) == Counter({"duplicate key": 1, "no key": 1})
