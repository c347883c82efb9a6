"""The interface tells the truth at its edges: the config's schema, arguments that are
not text, extreme dates and odd zones, Ctrl-C, URLs with unencoded passwords, cells in
pipes, small amounts of money. Each failure is one line and a non-zero exit, never a
traceback, and never an exit 0 that answers another question."""

from __future__ import annotations

import os
import signal
from datetime import date

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import busy_site, reader_url, running_job
from tests.test_errors import fail, snapshot
from tests.test_reports import invoke
from warehouse import config as config_module
from warehouse import sample
from warehouse.cli import cli
from warehouse.config_schema import SOURCE_KEYS, WAREHOUSE_KEYS
from warehouse.errors import WarehouseError


def one_line_error(result, code: int = 1) -> str:
    assert "Traceback" not in result.output and (
        result.exception is None or isinstance(result.exception, SystemExit)), result.output
    lines = result.output.strip().splitlines()
    assert result.exit_code == code and len(lines) == 1, (result.exit_code, result.output)
    return lines[0]


def test_a_config_typo_is_an_error_with_file_line_and_suggestion(tmp_path):
    config = tmp_path / "warehouse.toml"
    config.write_text('[warehouse]\ndb = "usage.duckdb"\n\npseudonymise = true\n')
    line = fail("--config", str(config), "report", "summary")
    assert f"{config}:4:" in line and "did you mean pseudonymize" in line
    config.write_text('[sources.campus]\nurl = "webui.db"\nmatch_windw_seconds = 5\n')
    assert ":3:" in fail("--config", str(config), "status")
    for body, needle in (("[warehouse]\ndb = 5", "db must be a file path, not 5"),
                         ('[warehouse]\ndb = ["a"]', "not a list"),
                         ("[warehouse]\nmodels = 3", "models must be a folder path"),
                         ("[warehouse]\nprices = true", "prices must be a file path"),
                         ("[sources.s]\nurl = 5", "url must be a URL"),
                         ("warehouse = 5", "must be a [warehouse] section"),
                         ('[sources.s]\nurl = "x.db"\nkind = "LiteLLM"', "did you mean")):
        config.write_text(body + "\n")
        assert needle in fail("--config", str(config), "status"), body


def test_warehouse_config_names_the_config_from_anywhere(demo_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WAREHOUSE_CONFIG", str(demo_dir / "warehouse.toml"))
    assert "total_messages" in invoke("report", "summary")
    monkeypatch.setenv("WAREHOUSE_CONFIG", str(tmp_path / "nope.toml"))
    assert "(WAREHOUSE_CONFIG) does not exist" in fail("report", "summary")


def test_pseudonymize_applies_to_readers_at_once(tmp_path):
    from warehouse import demo

    _, config = demo.create(tmp_path)
    invoke("--config", str(config), "run")
    text = config.read_text()
    real = invoke("--config", str(config), "report", "users", "--format", "csv")
    assert "@uni.example" in real
    config.write_text(text.replace("[warehouse]", "[warehouse]\npseudonymize = true"))
    # never built with pseudonyms: no key yet, so readers refuse rather than show names
    assert "run 'warehouse build'" in fail("--config", str(config), "report", "users")
    invoke("--config", str(config), "build")
    hidden = invoke("--config", str(config), "report", "users", "--format", "csv")
    assert "@uni.example" not in hidden and "pseudonymized.invalid" in hidden
    config.write_text(text.replace("[warehouse]", "[warehouse]\npseudonymize = false"))
    assert invoke("--config", str(config), "report", "users", "--format", "csv") == real


KNOWN = {**{("warehouse", k): v for k, v in WAREHOUSE_KEYS.items()},
         **{("source", k): v for k, v in SOURCE_KEYS.items()}}
VALUES = st.one_of(st.integers(-5, 5000), st.booleans(), st.text(max_size=12),
                   st.lists(st.integers(), max_size=2), st.floats(allow_nan=False),
                   st.sampled_from(["openwebui", "litellm", "usage.duckdb", "proxy"]))
KEYS = st.sampled_from([*WAREHOUSE_KEYS, *SOURCE_KEYS, "pseudonymise", "dbs", "url ",
                        "match_windw_seconds", "Kind", "content"])


def toml_value(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        # TOML's basic string: JSON's escapes, but a character beyond U+FFFF written as
        # itself (JSON's surrogate pairs are no Unicode scalar values), DEL escaped
        return "".join(f"\\u{ord(c):04x}" if c == "\x7f" else c
                       for c in json.dumps(value, ensure_ascii=False))
    return json.dumps(value) if not isinstance(value, float) else repr(value)


def valid(section: str, key: str, value) -> bool:
    spec = KNOWN.get((section, key))
    if spec is None or not isinstance(value, spec.kind) or (
            spec.kind is int and isinstance(value, bool)):
        return False
    if spec.kind is str and (not value.strip() or "\x00" in value):
        return False
    return (not spec.choices or value in spec.choices) and (
        spec.low is None or spec.low <= value <= spec.high)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(warehouse=st.dictionaries(KEYS, VALUES, max_size=3),
       source=st.dictionaries(KEYS, VALUES, max_size=3))
def test_any_config_is_read_as_written_or_refused_in_one_line(tmp_path, warehouse, source):
    source.setdefault("url", "webui.db")
    lines = ["[warehouse]", *(f'"{k}" = {toml_value(v)}' for k, v in warehouse.items()),
             "[sources.s]", *(f'"{k}" = {toml_value(v)}' for k, v in source.items())]
    path = tmp_path / "w.toml"
    path.write_text("\n".join(lines) + "\n")
    schema_ok = all(valid("warehouse", k, v) for k, v in warehouse.items()) and all(
        valid("source", k, v) for k, v in source.items())
    try:
        config = config_module.load(str(path), None)
        refused = None
    except WarehouseError as exc:
        refused = str(exc)
    if not schema_ok:  # an unknown key or a wrong value never passes
        assert refused is not None
    else:
        # the schema's types pass; what only the value's meaning can refuse remains
        assert refused is None or "routed_through" in refused or "URL" in refused \
            or "url" in refused or "is a folder" in refused \
            or "output_mode must be an octal mode" in refused, refused
    if refused is None:
        assert config.pseudonymize == warehouse.get("pseudonymize")
    result = CliRunner().invoke(cli, ["--config", str(path), "status"])
    line = one_line_error(result)  # no warehouse file: status fails too, in one line
    if refused:
        assert line == f"Error: {refused}", line
    else:  # the failure is about the warehouse file the config names, not the config
        assert str(path) not in line, line


ZONES = st.one_of(st.sampled_from(["UTC", "Asia/Kathmandu", "Pacific/Chatham",
                                   "America/St_Johns", "Etc/GMT+12", "Etc/GMT-14"]),
                  st.text(max_size=20))
INSTANTS = st.one_of(st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat),
                     st.text(max_size=25))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(report=st.sampled_from(["summary", "daily", "active-users", "feedback", "costs"]),
       since=INSTANTS, until=st.none() | INSTANTS, tz=ZONES,
       granularity=st.sampled_from(["hour", "day", "week", "month"]))
def test_odd_dates_and_zones_answer_or_fail_in_one_line(demo_dir, report, since, until, tz,
                                                        granularity):
    args = ["--config", str(demo_dir / "warehouse.toml"), "report", report,
            "--since", since, "--tz", tz, "--format", "json"]
    if until is not None:
        args += ["--until", until]
    if report in ("daily", "costs"):
        args += ["--granularity", granularity]
    result = CliRunner().invoke(cli, args)
    if result.exit_code:
        one_line_error(result, result.exit_code)
        assert result.exit_code in (1, 2)
    else:
        assert result.exception is None


@pytest.mark.parametrize("args", [
    ["report", "summary", "--model", "\udcc3("],
    ["report", "summary", "--user", "\udcc3("],
    ["report", "summary", "--tag", "\udcc3("],
    ["forget", "--user", "\udcc3(", "--yes"],
    ["query", "select '\udcc3('"],
    ["export", "--output", "/tmp/\udcc3("],
])
def test_arguments_that_are_not_utf8_are_one_line_errors(demo_dir, args):
    result = CliRunner().invoke(cli, ["--config", str(demo_dir / "warehouse.toml"), *args])
    assert "not valid UTF-8" in one_line_error(result, 2)


@pytest.mark.parametrize("command", [["query", "select 1"], ["run"], ["report", "summary"]])
def test_a_warehouse_path_that_is_a_folder_is_one_line(tmp_path, command):
    for folder in ("/", str(tmp_path)):
        line = fail("--db", folder, *command)
        assert "is a folder: name the warehouse file" in line, line


def test_an_ipv6_typo_is_one_line(tmp_path):
    line = fail("--db", str(tmp_path / "u.duckdb"), "ingest", "--url",
                "postgresql://u:secret@[::1:5432/x")
    assert "invalid PostgreSQL URL" in line and "secret" not in line


def test_a_password_that_is_not_percent_encoded_works_and_never_shows(make_source, pg_url,
                                                                      tmp_path):
    src = make_source(sample.generate(seed=3, users=3, days=3, chats_per_user=2), "postgres")
    password = "p@ss:w/rd#x"
    url = reader_url(pg_url, src.url, "reader_" + os.urandom(3).hex(), password)
    out = invoke("--db", str(tmp_path / "u.duckdb"), "ingest", "--url", url)
    assert "chat_message" in out and "rd#x" not in out and "ss:w" not in out
    wrong = url.replace(password, "p@ss:w/rd#y")
    line = fail("--db", str(tmp_path / "u.duckdb"), "ingest", "--url", wrong)
    for piece in ("p@ss", "ss:w", "rd#", "w/rd"):
        assert piece not in line, line


def test_ctrl_c_during_a_job_is_one_line_exit_130_and_changes_nothing(tmp_path):
    _, db = busy_site(tmp_path)
    before = snapshot(db)
    job = running_job(tmp_path, db)
    job.send_signal(signal.SIGINT)
    out, err = job.communicate(timeout=60)
    assert job.returncode == 130, (job.returncode, err)
    assert err.strip().splitlines() == [
        "warehouse: interrupted; the warehouse is as it was before this command"], err
    assert snapshot(db) == before
    assert not list(tmp_path.glob(".usage.duckdb.building*"))
    from warehouse import journal

    assert journal.last_attempts(db)[0].outcome == "interrupted"


def test_a_sigint_that_duckdb_swallowed_still_stops_the_publish(tmp_path, monkeypatch):
    """DuckDB may finish or cancel a query on SIGINT without Python seeing it; the
    recorded signal still keeps the job from publishing."""
    from warehouse import interrupts, publish

    _, db = busy_site(tmp_path)
    before = snapshot(db)
    monkeypatch.setattr(interrupts, "_received", True)
    with pytest.raises(KeyboardInterrupt):
        with publish.writing(db) as con:
            con.execute("CREATE TABLE main.never_published AS SELECT 1 AS x")
    assert snapshot(db) == before
    assert not list(tmp_path.glob(".usage.duckdb.building*"))


def test_an_error_after_a_sigint_is_the_interrupt(tmp_path, monkeypatch):
    """Regression: SIGINT raised inside DuckDB's Python callback (reading an Arrow batch)
    came back as a DuckDB error, which the ingest reported as the source's ('cannot read
    table chat: KeyboardInterrupt'), exit 1. After a recorded SIGINT, any failure is the
    interrupt: exit 130, one line, journaled as interrupted."""
    from warehouse import interrupts, journal
    from warehouse.ingest import engine

    _, db = busy_site(tmp_path)
    before = snapshot(db)

    def interrupted_read(*args, **kwargs):
        monkeypatch.setattr(interrupts, "_received", True)
        raise WarehouseError("source 'campus': cannot read table chat: KeyboardInterrupt")

    monkeypatch.setattr(engine, "_ingest_table", interrupted_read)
    monkeypatch.setattr(interrupts, "install", lambda: None)  # no handler in the test run
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "warehouse.toml"), "--db",
                                      str(db), "run"])
    assert result.exit_code == 130, result.output
    assert result.output.strip().splitlines() == [
        "warehouse: interrupted; the warehouse is as it was before this command"]
    assert snapshot(db) == before
    assert journal.last_attempts(db)[0].outcome == "interrupted"


def test_cells_are_whole_in_pipes_and_files_and_small_costs_show(demo_dir, tmp_path):
    config = str(demo_dir / "warehouse.toml")
    out = invoke("--config", config, "query", "select repeat('x', 100) as long_text")
    assert "x" * 100 in out
    target = tmp_path / "t.txt"
    invoke("--config", config, "query", "select repeat('y', 100) as t", "--output",
           str(target))
    assert "y" * 100 in target.read_text()
    money = invoke("--config", config, "query",
                   "select 0.003654::decimal(18, 6) as eur, 12.5::decimal(18, 2) as big, "
                   "0::decimal(18, 6) as zero")
    assert "0.0037" in money and "12.50" in money and "0.00" in money


def test_reports_list_themselves_and_name_what_they_take(demo_dir):
    listing = invoke("--config", str(demo_dir / "warehouse.toml"), "report")
    from warehouse.reports.catalog import REPORTS

    for name, spec in REPORTS.items():
        assert name in listing and spec.description[:30] in listing
    line = fail("--config", str(demo_dir / "warehouse.toml"), "report", "daily", "--limit",
                "2")
    assert "report daily does not take --limit; it takes: --since" in line


@pytest.mark.parametrize(("name", "options"), [
    ("users", {"tag": 5}), ("users", {"tag": ["a", 3]}), ("users", {"limit": "x"}),
    ("users", {"since": 5}), ("users", {"exclude_deleted": "yes"}),
    ("limits", {"threshold": "abc"}), ("active-users", {"mau_days": "29"}),
    ("users", {"tags": ["a"]}), ("daily", {"limit": 2}), ("summary", {"compat": "litellm"}),
    ("user", {}),
])
def test_python_values_of_the_wrong_kind_are_one_line_errors(name, options):
    from warehouse.reports import resolve

    with pytest.raises(WarehouseError) as caught:
        resolve(name, options)
    assert "\n" not in str(caught.value)
