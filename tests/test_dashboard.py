"""`warehouse dashboard`: one HTML file that renders offline in a real browser (Debian's
Chromium, driven headless through Playwright; no browser is downloaded)."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from click.testing import CliRunner

from tests.test_reports import invoke
from warehouse.cli import cli

# What a browser on a closed network must not try at start (see the environment notes).
CHROMIUM_ARGS = ["--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is missing: .ci/run installs it")
        pytest.skip("no chromium here (apt-get install chromium); CI always runs this")
    return path


def open_in_chromium(chromium: str, page_file) -> dict:
    """Load the file, wait until every chart has drawn, and report what happened."""
    from playwright.sync_api import sync_playwright

    seen = {"console": [], "errors": [], "requests": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: seen["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.goto(page_file.as_uri())
            page.wait_for_function(
                "() => [...document.querySelectorAll('.chart')].every(c => "
                "c.querySelector('svg [role=graphics-symbol]'))", timeout=20_000)
            seen["charts"] = page.evaluate(
                "() => [...document.querySelectorAll('.chart')].map(c => [c.id, "
                "c.querySelectorAll('svg [role=graphics-symbol]').length])")
            seen["text"] = page.inner_text("body")
        finally:
            browser.close()
    return seen


def test_dashboard_renders_offline_in_chromium(demo_dir, tmp_path, chromium):
    config = str(demo_dir / "warehouse.toml")
    target = tmp_path / "usage.html"
    out = invoke("--config", config, "dashboard", "--output", str(target),
                 "--tz", "Europe/Berlin")
    assert f"dashboard: {target}" in out
    html = target.read_text()
    specs = json.loads(re.search(r'id="chart-specs">(.*?)</script>', html, re.S).group(1))
    assert len(specs) == 8  # every section of the demo has rows to draw

    seen = open_in_chromium(chromium, target)
    assert seen["errors"] == []
    assert [m for m in seen["console"] if m[0] in ("error", "warning")] == []
    assert seen["requests"] == [target.as_uri()]  # nothing but the file itself
    assert sorted(c[0] for c in seen["charts"]) == sorted(specs)
    assert all(count > 0 for _, count in seen["charts"])

    summary = json.loads(invoke("--config", config, "report", "summary", "--tz",
                                "Europe/Berlin", "--format", "json"))[0]
    text = seen["text"]
    assert f"{summary['total_messages']:,}\nmessages" in text
    assert f"{summary['total_tokens']:,}\ntokens" in text
    assert "time zone Europe/Berlin" in text
    assert "Warehouse last published:" in text and "Latest response per source: demo" in text


def test_dashboard_filters_are_shown_and_bad_ones_write_nothing(demo_dir, tmp_path):
    config = str(demo_dir / "warehouse.toml")
    target = tmp_path / "students.html"
    invoke("--config", config, "dashboard", "--output", str(target), "--group", "Students",
           "--since", "2026-01-01")
    html = target.read_text()
    assert "Filters: from 2026-01-01; time zone UTC; group Students" in html
    students = json.loads(invoke("--config", config, "report", "summary", "--group",
                                 "Students", "--since", "2026-01-01", "--format", "json"))[0]
    assert f'<div class="value">{students["total_messages"]:,}</div>' in html

    for args, message in ((["--tz", "Mars/Olympus"], "--tz 'Mars/Olympus'"),
                          (["--group", "Nobody"], "--group 'Nobody'"),
                          (["--output", str(tmp_path / "no" / "d.html")], "does not exist")):
        bad = tmp_path / "bad.html"
        result = CliRunner().invoke(cli, ["--config", config, "dashboard", "--output",
                                          str(bad), *args])
        assert result.exit_code == 1, result.output
        assert message in result.output and len(result.output.strip().splitlines()) == 1
        assert not bad.exists()


def test_live_dashboard_redraws_when_a_filter_changes(demo_dir, chromium):
    """`warehouse serve`'s page at /: its figures are the reports', and change to the
    reports' figures for the new filters; everything comes from the server itself."""
    from playwright.sync_api import sync_playwright

    from tests.test_serve import server

    config = str(demo_dir / "warehouse.toml")

    def summary(*options: str) -> dict:
        return json.loads(invoke("--config", config, "report", "summary", *options,
                                 "--format", "json"))[0]

    def tile(page, key: str) -> str:
        return page.inner_text(f'.tile[data-key="{key}"] .value')

    everything = summary()
    models = json.loads(invoke("--config", config, "report", "models", "--format", "json"))
    model = models[-1]["model_id"]  # the least used: its figures differ from the total
    seen = {"errors": [], "console": [], "requests": []}
    with server(demo_dir / "warehouse.toml", "--quiet") as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(timezone_id="Europe/Berlin")
            page.on("console", lambda m: seen["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.goto(url + "/")
            page.wait_for_function("document.body.dataset.state === 'ready'",
                                   timeout=30_000)
            assert tile(page, "total_messages") == f"{everything['total_messages']:,}"
            assert page.input_value("input[name=tz]") == "Europe/Berlin"
            assert page.locator("#chart-daily svg [role=graphics-symbol]").count() > 0

            page.select_option("select[name=model]", model)
            want = summary("--model", model, "--tz", "Europe/Berlin")
            page.wait_for_function(
                "want => document.body.dataset.state === 'ready' && document.querySelector("
                "'.tile[data-key=total_messages] .value').textContent === want",
                arg=f"{want['total_messages']:,}", timeout=30_000)
            assert tile(page, "total_tokens") == f"{want['total_tokens']:,}"
            assert want["total_messages"] != everything["total_messages"]

            page.fill("input[name=since]", "2026-10-15")
            page.fill("input[name=until]", "2026-10-22")
            page.dispatch_event("input[name=until]", "change")
            week = summary("--model", model, "--tz", "Europe/Berlin", "--since",
                           "2026-10-15", "--until", "2026-10-22")
            before = summary("--model", model, "--tz", "Europe/Berlin", "--since",
                             "2026-10-08", "--until", "2026-10-15")
            page.wait_for_function(
                "want => document.body.dataset.state === 'ready' && document.querySelector("
                "'.tile[data-key=total_messages] .value').textContent === want",
                arg=f"{week['total_messages']:,}", timeout=30_000)
            change = (week["total_messages"] - before["total_messages"]) \
                / before["total_messages"] * 100
            assert page.inner_text('.tile[data-key="total_messages"] .change') == \
                f"{'+' if change > 0 else ''}{change:.1f} % vs previous period"

            page.click(f'a[data-model="{model}"]')
            page.wait_for_selector("#chats-section:not([hidden]) tbody tr", timeout=30_000)
            chats = json.loads(invoke("--config", config, "report", "chats", "--model", model,
                                      "--tz", "Europe/Berlin", "--since", "2026-10-15",
                                      "--until", "2026-10-22", "--limit", "20",
                                      "--format", "json"))
            shown = page.locator("#chats tbody tr td:first-child").all_inner_texts()
            assert shown == [c["chat_id"] for c in chats]
        finally:
            browser.close()
    assert seen["errors"] == []
    assert [m for m in seen["console"] if m[0] in ("error", "warning")] == []
    assert all(r.startswith(url + "/") for r in seen["requests"]), seen["requests"]


def test_live_dashboard_shows_callers_text_as_text(demo_dir, tmp_path, chromium):
    """A model id is whatever an API caller sent: quotes and tags in it must show as
    text, in the table and in the link's attribute, never become markup."""
    import sqlite3

    from playwright.sync_api import sync_playwright

    from tests.test_serve import built, server

    hostile = 'x"><b id="pwned">bold</b><a title=\''
    shutil.copy(demo_dir / "webui.db", tmp_path / "webui.db")
    with sqlite3.connect(tmp_path / "webui.db") as conn:
        conn.execute("UPDATE chat_message SET model_id = ? WHERE model_id = 'mistral-small'",
                     (hostile,))
    config = built(tmp_path, '[sources.demo]\nurl = "sqlite:///webui.db"\n')
    with server(config, "--quiet") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url + "/")
            page.wait_for_function("document.body.dataset.state === 'ready'",
                                   timeout=30_000)
            assert page.locator("#pwned").count() == 0
            link = page.locator("#models a").filter(has_text="pwned")
            assert link.inner_text() == hostile
            assert link.get_attribute("data-model") == hostile
        finally:
            browser.close()
