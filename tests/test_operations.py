"""What an operator's monitoring relies on: `status --format json` in its documented
shape, `check` exit codes for fresh, stale and unknowable, `--wait --timeout` that gives
up naming the holder, and log lines with time and level when not on a terminal."""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from tests.test_reports import invoke
from warehouse import health, sample
from warehouse.cli import cli


def fresh_site(folder: Path, days_old: int) -> Path:
    """A source whose newest message is `days_old` days old, and its config."""
    data = sample.generate(seed=31, users=4, days=5, chats_per_user=3,
                           end=datetime.now(UTC) - timedelta(days=days_old))
    conn = sqlite3.connect(folder / "webui.db")
    sample.write(conn, data)
    conn.close()
    config = folder / "warehouse.toml"
    config.write_text('[warehouse]\ndb = "usage.duckdb"\n\n[sources.campus]\n'
                      'url = "sqlite:///webui.db"\n')
    return config


def run(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a process of its own, standard error a pipe (not a terminal)."""
    return subprocess.run([sys.executable, "-m", "warehouse.cli", *args],
                          capture_output=True, text=True)


def test_status_json_has_the_documented_shape(tmp_path):
    config = fresh_site(tmp_path, days_old=3)
    invoke("--config", str(config), "run")
    invoke("--config", str(config), "run", "--full-refresh")  # publishes: a snapshot
    CliRunner().invoke(cli, ["--config", str(config), "ingest", "--url",
                             str(tmp_path / "missing.db")])  # a failed attempt
    out = invoke("--config", str(config), "status", "--format", "json")
    state = json.loads(out)
    jsonschema.validate(state, json.loads(health.SCHEMA_FILE.read_text()))
    assert state["warehouse"]["exists"] and state["snapshots"]
    assert [a["outcome"] for a in state["attempts"][:3]] == ["failed", "ok", "ok"]
    (source,) = state["sources"]
    con = sqlite3.connect(tmp_path / "webui.db")
    newest = con.execute("SELECT max(updated_at) FROM chat_message").fetchone()[0]
    con.close()
    expected = datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert source["newest_data_at"] == expected
    assert {w["value_time"] for w in state["watermarks"] if w["table"] == "chat_message"} == {
        expected}
    assert 2 * 86400 < source["age_seconds"] < 5 * 86400
    # a warehouse not made yet is a state too
    missing = json.loads(invoke("--db", str(tmp_path / "none.duckdb"), "status", "--format",
                                "json"))
    jsonschema.validate(missing, json.loads(health.SCHEMA_FILE.read_text()))
    assert missing["warehouse"]["exists"] is False


def test_check_says_stale_then_fresh_after_a_run_and_2_when_it_cannot_tell(tmp_path):
    config = fresh_site(tmp_path, days_old=3)
    invoke("--config", str(config), "run")
    stale = run("--config", str(config), "check", "--max-age", "26h")
    assert stale.returncode == 1, stale
    assert stale.stdout.startswith("campus: stale, newest data "), stale
    assert "limit 26.0 h" in stale.stdout
    # new conversations in the source: stale until a run copies them
    conn = sqlite3.connect(tmp_path / "webui.db")
    now = int(time.time()) - 600
    conn.execute("UPDATE chat_message SET created_at = ?, updated_at = ? WHERE id IN "
                 "(SELECT id FROM chat_message LIMIT 5)", (now, now))
    conn.commit()
    conn.close()
    assert run("--config", str(config), "check").returncode == 1
    invoke("--config", str(config), "run")
    fresh = run("--config", str(config), "check", "--max-age", "26h", "--source", "campus")
    assert fresh.returncode == 0 and fresh.stdout.startswith("campus: ok"), fresh
    for args, message in ((["--source", "nope"], "no such source"),
                          (["--max-age", "soon"], "give a duration")):
        unknowable = run("--config", str(config), "check", *args)
        assert unknowable.returncode == 2 and message in unknowable.stderr, unknowable
    gone = run("--db", str(tmp_path / "none.duckdb"), "check")
    assert gone.returncode == 2 and "does not exist" in gone.stderr


def test_wait_with_a_timeout_gives_up_with_75_naming_the_holder(tmp_path):
    config = fresh_site(tmp_path, days_old=3)
    invoke("--config", str(config), "run")
    lock = tmp_path / "usage.duckdb.lock"
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, b"'warehouse run' (PID 4242, since 2026-12-03 02:00:00 UTC)\n", 0)
    try:
        started = time.monotonic()
        job = run("--config", str(config), "run", "--wait", "--timeout", "1")
        waited = time.monotonic() - started
    finally:
        os.close(fd)
    assert job.returncode == 75, job
    lines = job.stderr.strip().splitlines()
    # a log line on a pipe: time, level, whom it waits for; then the one-line refusal
    assert lines[0].endswith("(at most 1 s)"), lines
    assert " INFO warehouse: waiting for 'warehouse run' (PID 4242" in lines[0], lines
    assert lines[0][:20].endswith("Z") and lines[0][4] == "-", lines
    assert lines[-1].startswith("Error: ") and "PID 4242" in lines[-1], lines
    assert "after waiting 1 s" in lines[-1], lines
    assert waited >= 1.0
    usage = run("--config", str(config), "run", "--timeout", "1")
    assert usage.returncode == 2 and "--timeout needs --wait" in usage.stderr


def test_the_config_is_found_from_any_folder_or_its_absence_said(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    config = fresh_site(site, days_old=3)
    config.write_text(config.read_text().replace('db = "usage.duckdb"\n', ""))  # default
    invoke("--config", str(config), "run")
    assert (site / "usage.duckdb").exists()  # beside the config, not in the cwd
    elsewhere, home = tmp_path / "elsewhere", tmp_path / "xdg"
    elsewhere.mkdir()
    env = {**os.environ, "XDG_CONFIG_HOME": str(home)}
    env.pop("WAREHOUSE_CONFIG", None)

    def report() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "warehouse.cli", "report", "summary",
                               "--format", "csv"], cwd=elsewhere, env=env,
                              capture_output=True, text=True)

    missing = report()
    assert missing.returncode == 1, missing
    assert "no config file was found" in missing.stderr
    assert str(home / "usage-warehouse" / "warehouse.toml") in missing.stderr
    (home / "usage-warehouse").mkdir(parents=True)
    (home / "usage-warehouse" / "warehouse.toml").write_text(
        f'[warehouse]\ndb = "{site / "usage.duckdb"}"\n')
    found = report()
    assert found.returncode == 0 and found.stdout.startswith("total_messages"), found


OPERATIONS = Path(__file__).resolve().parent.parent / "docs" / "operations"
INSTALLED = "/opt/usage-warehouse/.venv/bin/warehouse"


def test_the_systemd_units_and_the_crontab_in_the_docs_are_valid(tmp_path):
    """systemd-analyze verify where systemd is, else a parse check; every warehouse
    command line in them is one the CLI accepts."""
    import configparser
    import shlex
    import shutil

    units = sorted(OPERATIONS.glob("*.service")) + sorted(OPERATIONS.glob("*.timer"))
    assert {u.name for u in units} >= {"usage-warehouse.service", "usage-warehouse.timer"}
    commands = []
    binary = str(Path(sys.executable).with_name("warehouse"))
    for unit in units:
        text = unit.read_text()
        parsed = configparser.ConfigParser(strict=False, interpolation=None)
        parsed.optionxform = str
        parsed.read_string(text)
        assert "Unit" in parsed, unit.name
        assert ("Service" in parsed) != ("Timer" in parsed), unit.name
        if "Service" in parsed:
            commands.append(parsed["Service"]["ExecStart"])
        (tmp_path / unit.name).write_text(text.replace(INSTALLED, binary))
    if shutil.which("systemd-analyze"):
        verified = subprocess.run(["systemd-analyze", "verify",
                                   *(str(tmp_path / u.name) for u in units)],
                                  capture_output=True, text=True)
        assert verified.returncode == 0, verified.stderr
    for line in (OPERATIONS / "crontab").read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]:
            assert len(line.split()) > 5, line  # five time fields, then the command
            commands += re.findall(re.escape(INSTALLED) + r"[^)|&;]*", line)
    assert len(commands) >= 4
    for command in commands:
        args = shlex.split(command.replace("2>&1", ""))
        assert args[0] == INSTALLED, command
        checked = CliRunner().invoke(cli, [*args[1:], "--help"])
        assert checked.exit_code == 0, (command, checked.output)


def test_the_reference_pages_are_what_the_code_writes_today(demo_dir, tmp_path):
    invoke("--config", str(demo_dir / "warehouse.toml"), "docs", "--output", str(tmp_path))
    docs = Path(__file__).resolve().parent.parent / "docs"
    for name in ("reports.md", "models.md"):
        assert (tmp_path / name).read_text() == (docs / name).read_text(), (
            f"docs/{name} is stale: run `warehouse --config demo/warehouse.toml docs`")
    out = invoke("--config", str(demo_dir / "warehouse.toml"), "models", "--lineage", "users")
    layers = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "marts.usage_hourly" in layers["marts"] and "core.usage_events" in layers["core"]
    assert "raw_openwebui.chat_message" in layers["raw"]
    assert "raw_litellm.LiteLLM_SpendLogs" in layers["raw"]
    result = CliRunner().invoke(cli, ["--config", str(demo_dir / "warehouse.toml"), "models",
                                      "--lineage", "user"])
    assert result.exit_code == 1 and "did you mean users?" in result.output


def test_verbose_logs_each_step_and_a_terminal_gets_a_bar(tmp_path):
    config = fresh_site(tmp_path, days_old=3)
    job = run("--verbose", "--config", str(config), "run")
    assert job.returncode == 0, job.stderr
    steps = [line for line in job.stderr.splitlines() if " DEBUG warehouse: " in line]
    assert any(line.endswith("campus chat_message") for line in steps), steps
    assert any(line.endswith("marts.usage_hourly") for line in steps), steps
    assert len(job.stdout.strip().splitlines()) == 1  # the run's own line, as without
    quiet = run("--config", str(config), "run")
    assert " DEBUG " not in quiet.stderr and quiet.stderr == ""
    # the terminal's bar: rich draws it into a console of its own here
    from warehouse import progress

    bar = progress.Bar()
    bar.plan("ingest", 2)
    bar("campus", "chat")
    bar.rows(1200)
    bar("campus", "chat_message")
    bar.close()
