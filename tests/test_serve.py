"""`warehouse serve`: a real server in a subprocess on a free loopback port, answering
every report as the command line does, refusing what it would refuse, asking for a key
when keys are configured, and following each publish without failing a request."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_reports import invoke, report
from warehouse import sample
from warehouse.cli import cli
from warehouse.reports.catalog import REPORTS
from warehouse.serve import keys

# Options per report that change its answer, to compare beyond the defaults.
ASKED = {
    "summary": [{}, {"since": "2026-10-10", "tz": "Europe/Berlin", "channel": "ui"}],
    "users": [{"limit": "3", "metric": "tokens"}, {"page": "2", "page_size": "2"}],
    "daily": [{"granularity": "week", "until": "2026-10-25"}],
    "active-users": [{"by": "model", "since": "2026-10-05", "until": "2026-10-20"}],
    "costs": [{"by": "user", "granularity": "all"}],
}


def built(folder: Path, sources: str) -> Path:
    """A warehouse.toml in `folder` naming `sources` ([sources.NAME] tables), and the
    warehouse one `warehouse run` makes of them beside it."""
    config = folder / "warehouse.toml"
    config.write_text(f'[warehouse]\ndb = "usage.duckdb"\n\n{sources}')
    invoke("--config", str(config), "run", "--quiet")
    return config


@contextmanager
def server(config: Path, *args: str, env: dict | None = None):
    """A `warehouse serve` process on a free port; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "--config", str(config), "serve", "--port", "0",
         *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    try:
        line = process.stderr.readline()
        assert line.startswith("serving "), line + process.stderr.read()
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        threading.Thread(target=process.stderr.read, daemon=True).start()  # drain the log
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def get(url: str, key: str | None = None) -> tuple[int, dict | str, dict]:
    request = urllib.request.Request(url)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read().decode()
            status, headers = response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        body, status, headers = exc.read().decode(), exc.code, dict(exc.headers)
    if headers.get("content-type", "").startswith("application/json"):
        return status, json.loads(body), headers
    return status, body, headers


def query(options: dict) -> str:
    return "&".join(f"{k}={urllib.request.quote(str(v))}" for k, v in options.items())


def cli_options(options: dict) -> list[str]:
    return [part for k, v in options.items() for part in ("--" + k.replace("_", "-"), v)]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A warehouse of the sample data, its config, and a server on it."""
    import sqlite3

    folder = tmp_path_factory.mktemp("serve")
    source = folder / "webui.db"
    conn = sqlite3.connect(source)
    sample.write(conn, sample.generate(seed=11, users=6, days=30, chats_per_user=4))
    conn.close()
    config = built(folder, f'[sources.campus]\nurl = "sqlite:///{source}"\n')
    with server(config, "--quiet") as url:
        yield config, folder / "usage.duckdb", url


def test_every_report_answers_as_the_command_line(served):
    config, db, url = served
    for name in REPORTS:
        for options in ASKED.get(name, [{}]):
            status, body, headers = get(f"{url}/api/reports/{name}?{query(options)}")
            assert status == 200, (name, body)
            assert body["rows"] == report(db, name, *cli_options(options)), (name, options)
            assert headers["x-warehouse-snapshot"] == body["snapshot"]
    everything, later = (get(f"{url}/api/reports/summary?{q}")[1]["rows"]
                         for q in ("", "since=2026-10-20"))
    assert everything != later  # the option reached the query
    status, text, headers = get(f"{url}/api/reports/users?limit=3&format=csv")
    cli_csv = CliRunner().invoke(cli, ["--db", str(db), "report", "users", "--limit", "3",
                                       "--format", "csv"]).stdout
    assert (status, text) == (200, cli_csv)
    assert headers["content-type"].startswith("text/csv")


def test_options_are_honoured_or_refused(served):
    _, db, url = served
    tags = report(db, "tags")
    assert tags, "the sample has tagged chats"
    two = [t["tag"] for t in tags[:2]]
    status, body, _ = get(f"{url}/api/reports/summary?tag={two[0]}&tag={two[1]}"
                          "&exclude-deleted=true")
    assert status == 200
    assert body["rows"] == report(db, "summary", "--tag", two[0], "--tag", two[1],
                                  "--exclude-deleted")
    for path, status_wanted, words in (
            ("summary?granularity=day", 400, "does not take --granularity"),
            ("users?metric=tokenz", 400, "did you mean tokens"),
            ("users?limt=3", 400, "unknown option 'limt' (did you mean limit"),
            ("users?limit=3&limit=4", 400, "more than once"),
            ("summary?exclude_deleted=maybe", 400, "true or false"),
            ("summary?format=xml", 400, "json, csv"),
            ("sumary", 404, "did you mean summary")):
        status, body, _ = get(f"{url}/api/reports/{path}")
        assert status == status_wanted and words in body["detail"], (path, body)
        assert "\n" not in body["detail"]


def test_health_and_the_api_document(served):
    _, db, url = served
    status, body, _ = get(f"{url}/api/health")
    assert status == 200
    assert [s["name"] for s in body["sources"]] == ["campus"]
    assert body["snapshot"]["published_at"].endswith("Z")
    status, document, _ = get(f"{url}/openapi.json")
    parameters = {p["name"] for p in document["paths"]["/api/reports/daily"]["get"]
                  ["parameters"]}
    assert parameters == set(REPORTS["daily"].options) | {"format"}
    status, listed, _ = get(f"{url}/api/reports")
    assert [r["name"] for r in listed] == list(REPORTS)
    assert get(f"{url}/docs")[0] == 404  # Swagger UI would load from a CDN: not served


def test_a_configured_key_is_required(served, tmp_path):
    config, db, _ = served
    key, hashed = keys.new_key()
    keyed = tmp_path / "keyed.toml"
    keyed.write_text(config.read_text().replace('db = "usage.duckdb"', f'db = "{db}"')
                     + f'\n[serve]\napi_keys = ["{hashed}"]\n')
    with server(keyed, "--quiet") as url:
        for path in ("/api/health", "/api/reports/summary", "/openapi.json"):
            status, body, headers = get(url + path)
            assert status == 401 and headers["www-authenticate"] == "Bearer", path
            assert get(url + path, key="whk_wrong")[0] == 401
            assert get(url + path, key=key)[0] == 200
            # the answer is kept now, and still refused without the key (admission
            # runs before the kept answers)
            assert get(url + path)[0] == 401
        again = get(url + "/api/reports/summary", key=key)
        assert again[0] == 200 and again[2]["x-warehouse-cache"] == "hit"
    assert key not in keyed.read_text()


def test_refusals_before_serving(served, tmp_path):
    config, _, url = served
    result = CliRunner().invoke(cli, ["--config", str(config), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "no API key is configured" in result.output and len(result.output.splitlines()) == 1
    port = url.rsplit(":", 1)[1]
    result = CliRunner().invoke(cli, ["--config", str(config), "serve", "--port", port])
    assert result.exit_code == 1 and "cannot listen on 127.0.0.1:" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[serve]\napi_keys = ["plain-text-key"]\n')
    result = CliRunner().invoke(cli, ["--config", str(bad), "serve"])
    assert result.exit_code == 1 and "bad.toml:2" in result.output
    assert "sha256:" in result.output


def test_requests_across_publishes_see_whole_states(tmp_path):
    """A request loop while five runs publish: no request fails, every answer is one of
    the published states, and the last answer is the last state, without a restart."""
    import sqlite3

    data = sample.generate(seed=12, users=4, days=10, chats_per_user=3)
    source = tmp_path / "webui.db"
    conn = sqlite3.connect(source)
    sample.write(conn, data)
    conn.close()
    config = built(tmp_path, f'[sources.campus]\nurl = "sqlite:///{source}"\n')
    db = tmp_path / "usage.duckdb"
    states = [report(db, "summary")]
    seen, errors, stop = [], [], threading.Event()
    with server(config, "--quiet") as url:
        def ask():
            while not stop.is_set():
                try:
                    status, body, _ = get(f"{url}/api/reports/summary")
                    if status != 200:
                        errors.append(body)
                    else:
                        seen.append(body["rows"])
                except OSError as exc:
                    errors.append(repr(exc))

        askers = [threading.Thread(target=ask) for _ in range(3)]
        for thread in askers:
            thread.start()
        chat = data.chats[0]
        model = next(m.model_id for c in data.chats for m in c.messages if m.model_id)
        for run in range(5):
            later = chat.messages[-1].created_at + 60 * (run + 1)
            conn = sqlite3.connect(source)
            sample.insert_messages(conn.cursor(), "?", [(chat, sample.Message(
                f"pub-{run}", "assistant", "more", later, model_id=model,
                usage={"prompt_tokens": 10 + run, "completion_tokens": 5}))])
            conn.commit()
            conn.close()
            invoke("--config", str(config), "run", "--quiet")
            states.append(report(db, "summary"))
        stop.set()
        for thread in askers:
            thread.join()
        # an answer is kept for its snapshot: asked again, it is not computed again
        first, again = get(f"{url}/api/reports/summary"), get(f"{url}/api/reports/summary")
        assert first[1]["rows"] == again[1]["rows"] == states[-1]
        assert again[2]["x-warehouse-cache"] == "hit"
        invoke("--config", str(config), "run", "--quiet", "--full-refresh")
        after = get(f"{url}/api/reports/summary")
        assert after[2]["x-warehouse-cache"] == "miss"  # a publish: computed afresh
        assert after[1]["snapshot"] >= again[1]["snapshot"]
    assert errors == []
    assert len({json.dumps(s) for s in states}) == 6  # each run changed the figures
    assert all(rows in states for rows in seen)
    assert len(seen) > 10


def test_answers_go_out_at_once():
    """Regression: without TCP_NODELAY on the listening socket (whose accepted
    connections inherit it), an answer's body waited for the client's delayed ACK of
    its head: every request on a kept-alive connection took 40 ms more."""
    import socket

    from warehouse.serve import listening_socket

    sock = listening_socket("127.0.0.1", 0)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        sock.close()
