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
