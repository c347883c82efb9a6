"""An incremental build (only the days whose inputs changed) leaves every incremental
model exactly as a full build would, whatever changed in the sources: new messages and
requests, a chat deleted in the source, a chat's tags, a ledger row for an old message,
an API key's team, routed pairs across midnight. Key tables (`-- key:`) only grow: a key
once given never changes, so the keys an incremental build stores differ from a full
build's numbering, and every table holding one agrees with its key table."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import duckdb

import warehouse
from tests import litellm_source
from tests.test_ledger import LEDGER_DDL, MONEY
from tests.test_reports import invoke, report
from tests.test_routing import config, owui_data, proxy_data, replies, tokens
from warehouse import journal, models, sample

INCREMENTAL = sorted(m.name for m in models.discover().values() if m.incremental)
TIME_SORTED = sorted(m.name for m in models.discover().values()
                     if m.incremental and m.time_sorted)
KEYS = {m.name: m.key for m in models.discover().values() if m.key}  # table: (key, column)


def contents(db) -> dict[str, list]:
    """Every incremental model's rows, the key columns left out (see keys_agree)."""
    keys = {key for key, _ in KEYS.values()}
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = {}
        for name in INCREMENTAL:
            columns = [f'"{c}"' for c, *_ in con.execute(f"DESCRIBE {name}").fetchall()
                       if c not in keys]
            found[name] = con.execute(
                f"SELECT {', '.join(columns)} FROM {name} ORDER BY ALL").fetchall()
        return found
    finally:
        con.close()


def keys_held(db) -> dict[str, set]:
    with warehouse.open(db) as wh:
        return {name: set(wh.sql(f"SELECT {column}, {key} FROM {name}").rows())
                for name, (key, column) in KEYS.items()}


def keys_agree(db) -> None:
    """Each key table numbers its values 1:1, and every incremental model holding a key
    holds the one its key table gives its value."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, (key, column) in KEYS.items():
            assert con.execute(f"SELECT count(DISTINCT {key}) = count(*) AND count(DISTINCT "
                               f"{column}) = count(*) FROM {table}").fetchone()[0], table
            for name in INCREMENTAL:
                held = [c for c, *_ in con.execute(f"DESCRIBE {name}").fetchall()]
                if key in held:
                    wrong = con.execute(
                        f"SELECT count(*) FROM {name} AS m LEFT JOIN {table} AS k "
                        f"ON k.{column} = m.{column} WHERE m.{key} IS DISTINCT FROM k.{key}"
                    ).fetchone()[0]
                    assert wrong == 0, (name, key)
    finally:
        con.close()


def last_build(db) -> dict[str, tuple[str, int]]:
    with warehouse.open(db) as wh:
        details = wh.sql("SELECT details FROM _warehouse.run_log "
                         "ORDER BY started_at DESC LIMIT 1").item()
    return {m["model"]: (m["mode"], m["rows"]) for m in json.loads(details)["models"]}


def found_nothing_new(db) -> bool:
    """The last job left every model unchanged (and found nothing else new), so it
    published nothing: the journal says so, and the file's run log ends before it."""
    job = journal.last_attempts(db, 1)[0]
    with warehouse.open(db) as wh:
        logged = wh.sql("SELECT max(finished_at) FROM _warehouse.run_log").item()
    started = datetime.strptime(job.started_at, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    return (job.outcome == "ok" and job.reason.startswith("nothing new")
            and logged < started + timedelta(seconds=1))


def all_time_answers_as_from_responses(db, monkeypatch, models: list[str]) -> None:
    """Open WebUI's "all time" questions about a model - its chats browser, its
    overview's tags - answer from core.chats' lists of models (the files read show it)
    exactly what the responses say: the same question with a --since before any data,
    which that path refuses."""
    from warehouse import reports

    read = []
    original = reports._sql
    monkeypatch.setattr(reports, "_sql", lambda file: read.append(file) or original(file))
    for model in models:
        for order in ([], ["--order-by", "title", "--direction", "asc"],
                      ["--exclude-deleted"]):
            asked = ["chats", "--compat", "openwebui", "--model", model, "--limit", "1000",
                     *order]
            read.clear()
            fast = report(db, *asked)
            assert ("compat_openwebui_chats.sql" in read) == ("--exclude-deleted" in order)
            assert fast == report(db, *asked, "--since", "1900-01-02"), (model, order)
            assert fast or "--exclude-deleted" in order, model
        for deleted in ([], ["--exclude-deleted"]):
            read.clear()
            fast = tag_rows(report(db, "feedback", "--model", model, *deleted))
            assert "_feedback_tags_all_time.sql" in read
            assert fast == tag_rows(report(db, "feedback", "--model", model,
                                           "--since", "1900-01-02", *deleted)), model
    monkeypatch.undo()


def tag_rows(rows: list[dict]) -> list[tuple]:
    return [(r["model_id"], r["tag"], r["count"]) for r in rows if r["kind"] == "tag"]


def test_incremental_build_equals_a_full_build(make_source, make_litellm, tmp_path,
                                               monkeypatch):
    assert {"core.source_responses", "core.usage_events", "core.routed_matches",
            "marts.usage_hourly", "marts.tag_hourly", "marts.user_daily"} <= set(INCREMENTAL)
    data = owui_data(days=40)  # the changes below touch few of these days
    proxy, _ = proxy_data(data)
    by_age = sorted(data.chats, key=lambda c: c.created_at)
    victim, retagged, _, pruned, ledgered, chat = by_age[:6]  # on different days
    # A long chat: a reply twelve days after the chat began.
    model = replies(data)[0][1].model_id
    retagged.messages.append(sample.Message(
        "long-a", "assistant", "much later", retagged.created_at + 12 * 86400,
        model_id=model, usage={"prompt_tokens": 7, "completion_tokens": 8}))
    # A reply whose timestamp is unusable (dated by its chat, rebuilt with the chat's day).
    retagged.messages.append(sample.Message(
        "undated-a", "assistant", "no usable time", 5, model_id=model,
        usage={"prompt_tokens": 9, "completion_tokens": 10}))
    # A reply at 23:59:59 whose proxy record arrives later, dated after midnight: the pair
    # straddles midnight, and only the proxy's side is new.
    midnight = (max(m.created_at for c in data.chats for m in c.messages) // 86400 + 1) * 86400
    chat.messages.append(sample.Message(
        "inc-a", "assistant", "late answer", midnight - 1, model_id=model,
        usage={"prompt_tokens": 321, "completion_tokens": 123}))
    owui = make_source(data, "sqlite")
    owui.execute(LEDGER_DDL.format(money=MONEY["sqlite"]))
    litellm = make_litellm(proxy)
    db = config(tmp_path, owui.url, litellm.url, routed=True)
    cfg = str(tmp_path / "routed.toml")
    assert {last_build(db)[n][0] for n in INCREMENTAL} == {"full"}

    # Nothing new: the models are left as they are, so nothing is published.
    invoke("--config", cfg, "run", "--quiet")
    assert found_nothing_new(db)

    def rebuilt_as_full_build(what: str) -> dict:
        """Run (an incremental build), then compare with a full build of the same data."""
        given = keys_held(db)
        invoke("--config", cfg, "run", "--quiet")
        incremental, built = contents(db), last_build(db)
        assert {built[n][0] for n in [*INCREMENTAL, *KEYS]} == {"incremental"}, (
            what, built)
        for table, pairs in keys_held(db).items():
            assert given[table] <= pairs, (what, table)  # no key changed or went
        keys_agree(db)
        invoke("--config", cfg, "build", "--full", "--quiet")
        full = contents(db)
        for name in INCREMENTAL:
            assert incremental[name] == full[name], (what, name)
        keys_agree(db)
        return built

    # In Open WebUI: a chat deleted, a chat re-tagged, one reply deleted from a chat.
    owui.execute("DELETE FROM chat_message WHERE chat_id = ?", (victim.id,))
    owui.execute("DELETE FROM chat WHERE id = ?", (victim.id,))
    owui.execute("UPDATE chat SET meta = ?, updated_at = ? WHERE id = ?",
                 (json.dumps({"tags": ["re-tagged"]}), midnight, retagged.id))
    gone = next(m for m in pruned.messages if m.role == "assistant")
    owui.execute("DELETE FROM chat_message WHERE id = ?", (f"{pruned.id}-{gone.id}",))
    rebuilt_as_full_build("deletions and tags")
    all_time_answers_as_from_responses(db, monkeypatch, sorted(
        {m.model_id for c in (victim, retagged, pruned) for m in c.messages if m.model_id}))
    # A ledger row written three days after the reply it stands for: the reply leaves
    # its own day's count.
    old_reply = next(m for m in ledgered.messages if m.role == "assistant")
    i, o = tokens(old_reply)
    rng = random.Random(5)
    owui.execute(
        "INSERT INTO usage_log (id, user_id, chat_id, message_id, model_id, source, status, "
        "input_tokens, output_tokens, cost, currency, created_at) "
        "VALUES (?, ?, ?, ?, ?, 'chat', 'completed', ?, ?, '0.001', 'USD', ?)",
        (str(uuid.UUID(int=rng.getrandbits(128))), ledgered.user_id, ledgered.id,
         old_reply.id, old_reply.model_id, i + 1, o + 1, old_reply.created_at + 3 * 86400))
    rebuilt_as_full_build("a late ledger row")

    service = proxy.keys[0]
    late = litellm_source.Request(
        "req-late", service.token, "svc", None, None, model, model, "openai",
        datetime.fromtimestamp(midnight + 1, UTC).replace(tzinfo=None), 900, 321, 123,
        0.0042, ["User-Agent: open-webui"], "success")
    with litellm.connect() as pg:
        litellm_source.insert_requests(pg, [late])
        pg.commit()
    rebuilt_as_full_build("a pair across midnight")
    # the pair straddling midnight is one call across sources
    with warehouse.open(db) as wh:
        routed = wh.sql("SELECT routed_via_event_id FROM core.usage_events "
                        "WHERE event_id = ?", [f"openwebui:campus:{chat.id}-inc-a"]).item()
    assert routed == "litellm:proxy:req-late"

    with litellm.connect() as pg:
        # the service key moves to a team: every day of its requests changes
        pg.execute('UPDATE "LiteLLM_VerificationToken" SET team_id = %s, updated_at = now() '
                   "WHERE token = %s", ("team-new", service.token))
        pg.commit()
    rebuilt_as_full_build("a key's team")

    # One more reply, two days later: only its day (and neighbours) is written again.
    later = sample.Message("inc-b", "assistant", "later answer", midnight + 2 * 86400,
                           model_id=model, usage={"prompt_tokens": 5, "completion_tokens": 6})
    conn = owui.connect()
    sample.insert_messages(conn.cursor(), owui.ph, [(chat, later)])
    conn.commit()
    conn.close()
    built = rebuilt_as_full_build("one reply")
    assert built["core.usage_events"][1] < len(contents(db)["core.usage_events"]) / 4, built

    # A reply by a model an old chat never used, its chat row left as it was (Open WebUI
    # moves updated_at; a ledger row or an older version may not): the chat's day is
    # rebuilt, and core.chats lists the model for Open WebUI's "all time" chats browser.
    old = by_age[6]
    new_model = next(m for m in sorted({m.model_id for _, m in replies(data)})
                     if m not in {x.model_id for x in old.messages})
    newer = sample.Message("inc-c", "assistant", "another model", midnight + 3 * 86400,
                           model_id=new_model,
                           usage={"prompt_tokens": 5, "completion_tokens": 6})
    conn = owui.connect()
    sample.insert_messages(conn.cursor(), owui.ph, [(old, newer)])
    conn.commit()
    conn.close()
    rebuilt_as_full_build("a new model in an old chat")
    listed = report(db, "chats", "--compat", "openwebui", "--model", new_model,
                    "--limit", "1000")
    assert old.id in {r["chat_id"] for r in listed}
    all_time_answers_as_from_responses(db, monkeypatch, [new_model])

    # A new user's new chat with a model never seen, its ids sorting first: the
    # incremental build numbers them after the last key, a full build renumbers them
    # first; the distinct counts of the reports are the same either way.
    ids = {"chat_keys": "0-new-chat", "user_keys": "0-new-user", "model_keys": "0-new-model"}
    at = midnight + 4 * 86400
    conn = owui.connect()
    conn.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, "
                 "archived, meta) VALUES (?, ?, 'new', '{}', ?, ?, 0, '{}')",
                 (ids["chat_keys"], ids["user_keys"], at, at))
    fresh = sample.Chat(ids["chat_keys"], ids["user_keys"], "new", [])
    sample.insert_messages(conn.cursor(), owui.ph, [(fresh, sample.Message(
        "new-a", "assistant", "first", at, model_id=ids["model_keys"],
        usage={"prompt_tokens": 1, "completion_tokens": 2}))])
    conn.commit()
    conn.close()
    before = keys_held(db)
    asked = [("summary",), ("models", "--limit", "1000"), ("summary", "--since", "2000-01-01"),
             ("models", "--limit", "1000", "--tz", "Asia/Kolkata")]
    invoke("--config", cfg, "run", "--quiet")
    added = {table.split(".")[1]: dict(pairs - before[table])
             for table, pairs in keys_held(db).items()}
    for table, value in ids.items():
        last = max(k for _, k in before[f"core.{table}"])
        assert added[table] == {value: last + 1}, (table, added[table])
    answers = [report(db, *question) for question in asked]
    assert answers[0][0]["total_chats"] == len({c for c, _ in keys_held(db)["core.chat_keys"]})
    assert {"model_id": ids["model_keys"], "count": 1, "unique_users": 1,
            "unique_chats": 1} in answers[1]
    invoke("--config", cfg, "build", "--full", "--quiet")
    assert {table.split(".")[1]: dict(pairs)[ids[table.split(".")[1]]]
            for table, pairs in keys_held(db).items()} == dict.fromkeys(ids, 1)
    keys_agree(db)
    assert [report(db, *question) for question in asked] == answers


def test_changed_prices_rebuild_every_day(make_source, tmp_path):
    src = make_source(sample.generate(seed=8, users=3, days=4, chats_per_user=2), "sqlite")
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--quiet")
    invoke("--db", str(db), "build", "--quiet")
    invoke("--db", str(db), "build", "--quiet")
    assert found_nothing_new(db)
    prices = tmp_path / "prices.toml"
    day = (datetime(2026, 1, 1) + timedelta(days=1)).date()
    prices.write_text(f'[[price]]\nmodel = "*"\ninput = 1\noutput = 2\ncurrency = "USD"\n'
                      f"valid_from = {day}\n")
    invoke("--db", str(db), "build", "--prices", str(prices), "--quiet")
    assert {last_build(db)[n][0] for n in INCREMENTAL} == {"full"}


def test_nothing_new_rebuilds_nothing(make_source, tmp_path):
    """A run with nothing new leaves every model as it is (the nightly run's fixed cost);
    a change to a small table copied whole, or an ingest run alone before the build,
    still rebuilds what reads it."""
    src = make_source(sample.generate(seed=9, users=3, days=4, chats_per_user=2), "sqlite")
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus", "--quiet")
    invoke("--db", str(db), "build", "--quiet")
    everything = sorted(models.discover())
    assert sorted(last_build(db)) == everything
    invoke("--db", str(db), "build", "--quiet")
    assert found_nothing_new(db)

    user = src.connect().execute('SELECT id FROM "user" ORDER BY id LIMIT 1').fetchone()[0]
    src.execute('UPDATE "user" SET name = ? WHERE id = ?', ("Renamed Person", user))
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus", "--quiet")
    invoke("--db", str(db), "build", "--quiet")
    assert last_build(db)["core.users"][0] == "full"
    with warehouse.open(db) as wh:
        assert wh.sql("SELECT count(*) FROM core.users WHERE name = 'Renamed Person'"
                      ).item() == 1
    invoke("--db", str(db), "build", "--quiet")
    assert found_nothing_new(db)


def test_the_stored_reads_of_the_models_are_current():
    """models_sql/read_tables.json spares every job a second of parsing; a model changed
    without it is parsed again (right, only slower). Rewrite it with
    `python -c "from warehouse import models; models.write_read_tables()"`."""
    stored = (models.builtin_dir() / models.READ_TABLES_FILE).read_text()
    found = models.discover()
    for name, entry in json.loads(stored).items():
        assert entry["reads"] == sorted(models._referenced_tables(found[name])), name
        assert entry["sql_sha256"] == models._sql_hash(found[name]), (
            f"{name} changed: rewrite {models.READ_TABLES_FILE} (see this test's docstring)")
    assert set(json.loads(stored)) == {n for n, m in found.items()
                                       if m.path.is_relative_to(models.builtin_dir())}


def test_the_facts_are_stored_in_time_order(make_source, tmp_path):
    """Each incremental model (but `-- sorted: no` ones) is stored in the order of the
    column that dates it, after a full build and after a build that adds later days:
    DuckDB skips row groups outside a report's window only when their time ranges do not
    all span the whole history."""
    assert {"core.usage_events", "marts.usage_hourly"} <= set(TIME_SORTED)
    data = sample.generate(seed=11, users=6, days=30, chats_per_user=5)
    src = make_source(data, "sqlite")
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus", "--quiet")
    invoke("--db", str(db), "build", "--quiet")

    def out_of_order() -> dict[str, int]:
        found = models.discover()
        con = duckdb.connect(str(db), read_only=True)
        try:
            return {name: con.execute(
                f'SELECT count(*) FROM (SELECT "{found[name].incremental}" AS t, '
                f'lag("{found[name].incremental}") OVER (ORDER BY rowid) AS before '
                f"FROM {name}) WHERE t < before").fetchone()[0] for name in TIME_SORTED}
        finally:
            con.close()

    assert out_of_order() == dict.fromkeys(TIME_SORTED, 0)
    # a new chat over the following days (a reply to an old chat rebuilds the old chat's
    # day too, whose rows then follow later days': see docs/how-it-works.md)
    last = max(m.created_at for c in data.chats for m in c.messages)
    model = replies(data)[0][1].model_id
    chat = sample.Chat("later-chat", data.chats[0].user_id, "Later", [
        sample.Message(f"later-{n}", "assistant", "later answer",
                       last + (n + 1) * 86400 - 60 * n, model_id=model,
                       usage={"prompt_tokens": 5, "completion_tokens": 6})
        for n in range(3)])
    conn = src.connect()
    conn.execute(
        "INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, meta) "
        f"VALUES ({', '.join([src.ph] * 8)})",
        (chat.id, chat.user_id, chat.title, json.dumps(sample.chat_json(chat)),
         chat.created_at, chat.updated_at, False, "{}"))
    sample.insert_messages(conn.cursor(), src.ph, [(chat, m) for m in chat.messages])
    conn.commit()
    conn.close()
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus", "--quiet")
    invoke("--db", str(db), "build", "--quiet")
    assert last_build(db)["core.usage_events"][0] == "incremental"
    assert out_of_order() == dict.fromkeys(TIME_SORTED, 0)


def test_all_time_chats_find_a_model_by_its_whole_id(make_source, tmp_path, monkeypatch):
    """Model ids may hold quotes, commas, brackets and backslashes: Open WebUI's "all time"
    chats browser finds a model's chats by its whole id, never by a part of another's
    (core.chats keeps each chat's models as a JSON array, searched as text)."""
    data = sample.generate(seed=4, users=2, days=3, chats_per_user=3)
    odd = ["m", 'x,"m', 'm"]', "[m", 'x\\"m', "m\\"]
    for n, (_, message) in enumerate(replies(data)[:len(odd) * 2]):
        message.model_id = odd[n % len(odd)]
    src = make_source(data, "sqlite")
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--url", src.url, "--name", "campus", "--quiet")
    invoke("--db", str(db), "build", "--quiet")
    all_time_answers_as_from_responses(db, monkeypatch, odd)
    for model in odd:  # and exactly the chats that have it, and their tags
        chats = {c.id: c for c, m in replies(data) if m.model_id == model}
        got = report(db, "chats", "--compat", "openwebui", "--model", model, "--limit", "100")
        assert {r["chat_id"] for r in got} == set(chats), model
        tags = Counter(t.lower() for c in chats.values() for t in c.tags)
        want = sorted((model, t, n) for t, n in sorted(
            tags.items(), key=lambda tag: (-tag[1], tag[0]))[:10])
        assert sorted(tag_rows(report(db, "feedback", "--model", model))) == want, model
    assert any(c.tags for c in data.chats)
