"""An Open WebUI that sends its model calls through a LiteLLM proxy: both databases hold
each call. Declared in warehouse.toml (routed_through), the pair counts each call once
across sources, keeps each source complete on its own, and gives the UI side the proxy's
cost."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.litellm_source import Key, LiteLLMData, Request
from tests.test_reports import invoke, report
from warehouse import sample


def owui_data(days: int = 5) -> sample.Dataset:
    """The sample, with usage on every reply: Open WebUI records what the proxy returns."""
    data = sample.generate(seed=21, users=6, days=days, chats_per_user=2)
    rng = random.Random(21)
    for chat in data.chats:
        for m in chat.messages:
            if m.role == "assistant" and not isinstance(m.usage, dict):
                m.usage = {"prompt_tokens": rng.randint(5, 900),
                           "completion_tokens": rng.randint(5, 900)}
    return data


def replies(data: sample.Dataset):
    return [(c, m) for c in data.chats for m in c.messages
            if m.role == "assistant" and m.model_id]


def tokens(m: sample.Message) -> tuple[int, int]:
    u = m.usage
    return u.get("input_tokens", u.get("prompt_tokens")), u.get(
        "output_tokens", u.get("completion_tokens"))


def proxy_data(data: sample.Dataset) -> tuple[LiteLLMData, list[Request]]:
    """One spend log per Open WebUI reply (a second or two apart; the end user forwarded
    by id, by email or not at all), plus requests other API clients made directly."""
    rng = random.Random(22)
    service = Key(hashlib.sha256(b"sk-openwebui").hexdigest(), "open-webui", "svc", None)
    script = Key(hashlib.sha256(b"sk-script").hexdigest(), "batch-script", "svc", None)
    emails = {u.id: u.email for u in data.users}
    out = LiteLLMData(users={"svc": "svc@example.org"}, keys=[service, script])
    for i, (chat, m) in enumerate(replies(data)):
        prompt, completion = tokens(m)
        end_user = (chat.user_id, emails[chat.user_id], None)[i % 3]
        start = datetime.fromtimestamp(m.created_at, UTC).replace(tzinfo=None) \
            - timedelta(seconds=rng.randint(0, 3), milliseconds=rng.randint(0, 999))
        out.requests.append(Request(
            f"req-{i}", service.token, "svc", end_user, None, m.model_id, m.model_id,
            "openai", start, 900, prompt, completion, round(rng.uniform(0, 0.02), 6),
            ["User-Agent: open-webui"], "success"))
    first = min(r.start for r in out.requests)
    direct = []
    for i in range(15):
        direct.append(Request(
            f"direct-{i}", script.token, "svc", None, None, "gpt-4o", "gpt-4o", "openai",
            first + timedelta(minutes=37 * i), 500, rng.randint(5, 900),
            rng.randint(5, 900), round(rng.uniform(0, 0.02), 6), [], "success"))
    out.requests += direct
    return out, direct


def config(tmp_path, owui_url: str, proxy_url: str, routed: bool):
    path = tmp_path / ("routed.toml" if routed else "plain.toml")
    route = 'routed_through = "proxy"\n' if routed else ""
    path.write_text(f'[warehouse]\ndb = "{tmp_path / path.stem}.duckdb"\n\n'
                    f'[sources.campus]\nkind = "openwebui"\nurl = "{owui_url}"\n{route}\n'
                    f'[sources.proxy]\nkind = "litellm"\nurl = "{proxy_url}"\n')
    invoke("--config", str(path), "run", "--quiet")
    return tmp_path / f"{path.stem}.duckdb"


def summary(db, *options) -> tuple[int, int]:
    row = report(db, "summary", *options)[0]
    return row["total_messages"], row["total_tokens"]


def test_a_routed_pair_counts_each_call_once(make_source, make_litellm, tmp_path):
    data = owui_data()
    proxy, direct = proxy_data(data)
    owui = make_source(data, "sqlite")
    litellm = make_litellm(proxy)
    db = config(tmp_path, owui.url, litellm.url, routed=True)

    ui_alone = (len(replies(data)), sum(sum(tokens(m)) for _, m in replies(data)))
    proxy_alone = (len(proxy.requests),
                   sum(r.prompt_tokens + r.completion_tokens for r in proxy.requests))
    assert summary(db, "--source", "campus") == ui_alone
    assert summary(db, "--source", "proxy") == proxy_alone
    assert summary(db) == proxy_alone  # each call once across the pair
    assert summary(db, "--channel", "ui") == ui_alone
    assert summary(db, "--channel", "api") == (
        len(direct), sum(r.prompt_tokens + r.completion_tokens for r in direct))
    # the UI side carries the proxy's cost, so the total spend is the proxy's
    costs = report(db, "costs", "--granularity", "all", "--cost", "as-billed", "--by",
                   "channel")
    spend = {r["channel"]: Decimal(str(r["billed_cost"])) for r in costs}
    assert sum(spend.values()) == sum(Decimal(str(r.spend)) for r in proxy.requests)
    assert spend["api"] == sum(Decimal(str(r.spend)) for r in direct)

    plain = config(tmp_path, owui.url, litellm.url, routed=False)
    both = summary(plain)
    assert both == (ui_alone[0] + proxy_alone[0], ui_alone[1] + proxy_alone[1])


def test_a_route_must_name_a_litellm_source(tmp_path):
    from tests.test_errors import fail

    path = tmp_path / "warehouse.toml"
    for body, needle in (
        ('[sources.campus]\nurl = "a.db"\nrouted_through = "proxy"\n',
         "[sources.campus] routed_through = 'proxy' must name a [sources.NAME] of kind"),
        ('[sources.proxy]\nkind = "litellm"\nurl = "postgresql://x@h/d"\n'
         '[sources.campus]\nurl = "a.db"\nrouted_through = "proxy"\n'
         'match_window_seconds = -3\n', "match_window_seconds must be a whole number"),
        ('[sources.proxy]\nkind = "litellm"\nurl = "postgresql://x@h/d"\n'
         'routed_through = "proxy"\n', "goes on an Open WebUI source"),
    ):
        path.write_text(body)
        message = fail("--config", str(path), "build")
        assert needle in message and str(path) in message, message


def test_limits_lists_litellm_budgets_at_or_over_the_threshold(make_litellm, tmp_path):
    proxy, _ = proxy_data(owui_data())
    litellm = make_litellm(proxy)
    service, script = proxy.keys
    for table, column, subject, spend, budget in (
            ("LiteLLM_VerificationToken", "token", service.token, 0.95, 1.0),
            ("LiteLLM_VerificationToken", "token", script.token, 1.0, 10.0),
            ("LiteLLM_UserTable", "user_id", "svc", 2.5, 2.0)):
        litellm.execute(f'UPDATE "{table}" SET spend = ?, max_budget = ? '
                        f'WHERE {column} = ?', (spend, budget, subject))
    db = tmp_path / "usage.duckdb"
    invoke("--db", str(db), "ingest", "--kind", "litellm", "--url", litellm.url)
    invoke("--db", str(db), "build")
    rows = report(db, "limits")
    assert [(r["kind"], r["subject"], r["name"], r["used"], r["limit"], r["percent"])
            for r in rows] == [
        ("litellm_user", "svc", "SVC", 2.5, 2, 125),
        ("litellm_key", service.token, "open-webui", 0.95, 1, 95)]
    assert len(report(db, "limits", "--threshold", "5")) == 3
