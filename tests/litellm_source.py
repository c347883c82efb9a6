"""Real LiteLLM proxy databases for the tests: LiteLLM's own migrations (from the pinned
litellm-proxy-extras wheel) applied to a real PostgreSQL, filled with generated requests.

The daily tables are derived from the spend logs the way LiteLLM's batch writer
increments them (one row per entity, UTC date, key, model, provider), so the two agree
as they do in a live proxy until retention purges spend logs.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import litellm_proxy_extras

MIGRATIONS = Path(litellm_proxy_extras.__file__).parent / "migrations"
# The first version with LiteLLM_DeletedVerificationToken / LiteLLM_DeletedTeamTable.
DELETED_TABLES_MIGRATION = "20251219110931_add_deleted_keys_and_deleted_teams_tables"


def apply_migrations(conn, before: str | None = None) -> None:
    """LiteLLM's schema as `prisma migrate deploy` builds it, optionally stopping before a
    migration (an older LiteLLM version)."""
    for folder in sorted(p for p in MIGRATIONS.iterdir() if p.is_dir()):
        if before and folder.name >= before:
            break
        sql = (folder / "migration.sql").read_text()
        # CONCURRENTLY cannot run in the implicit transaction of a multi-statement query;
        # on an empty test database it changes nothing.
        conn.execute(sql.replace(" CONCURRENTLY", ""))


@dataclass
class Key:
    token: str  # LiteLLM stores the sha256 of the key, never the key
    alias: str | None
    user_id: str | None
    team_id: str | None
    deleted: bool = False  # moved to LiteLLM_DeletedVerificationToken


@dataclass
class Request:
    request_id: str
    api_key: str  # '' when the caller used no virtual key
    user: str  # the key's owner as LiteLLM logs it ('' when none)
    end_user: str | None
    team_id: str | None
    model_group: str
    model: str
    provider: str
    start: datetime  # naive UTC, as LiteLLM's timestamp(3) columns hold it
    duration_ms: int
    prompt_tokens: int
    completion_tokens: int
    spend: float
    tags: list[str]
    status: str  # 'success' | 'failure'

    @property
    def day(self) -> str:
        return self.start.strftime("%Y-%m-%d")


@dataclass
class LiteLLMData:
    users: dict[str, str] = field(default_factory=dict)  # user_id -> email
    teams: dict[str, str] = field(default_factory=dict)  # team_id -> alias
    deleted_teams: set[str] = field(default_factory=set)
    keys: list[Key] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def key(self, token: str) -> Key | None:
        return next((k for k in self.keys if k.token == token), None)


AGENTS = [("curl", "8.5.0"), ("OpenAI/Python", "1.54.0"), ("litellm", "1.60.2")]
MODELS = [("gpt-4o", "gpt-4o-2024-08-06", "openai", 2.5e-6, 1e-5),
          ("claude-sonnet-4", "claude-sonnet-4-20250514", "anthropic", 3e-6, 1.5e-5),
          ("llama3.1-70b", "meta-llama/Llama-3.1-70B", "hosted_vllm", 0.0, 0.0)]


def today_utc() -> date:
    return datetime.now(UTC).date()


def generate(seed: int = 7, days: int = 70, per_day: int = 24,
             today: date | None = None) -> LiteLLMData:
    """Requests over the `days` days up to today (UTC), by 8 users through 10 keys."""
    rng = random.Random(seed)
    today = today or today_utc()
    data = LiteLLMData()
    data.users = {f"llm-u{i}": f"llm-user{i}@example.org" for i in range(1, 9)}
    data.teams = {"team-research": "Research", "team-teaching": "Teaching",
                  "team-gone": "Dissolved team"}
    data.deleted_teams = {"team-gone"}
    owners = list(data.users) + [None, "llm-u1"]
    for i, owner in enumerate(owners):
        team = ["team-research", "team-teaching", "team-gone", None][i % 4]
        data.keys.append(Key(token=uuid.UUID(int=rng.getrandbits(128)).hex * 2,
                             alias=f"key-{i}" if i != 3 else None, user_id=owner,
                             team_id=team))
    data.keys[4].deleted = True  # deleted in LiteLLM before the warehouse first looked
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time())
    # requests of today end two hours ago: none may start in the future
    latest = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    n = 0
    for day in range(days):
        for _ in range(rng.randint(per_day // 2, per_day)):
            key = rng.choice(data.keys)
            group, model, provider, p_in, p_out = rng.choice(MODELS)
            agent, version = rng.choice(AGENTS)
            tags = [f"User-Agent: {agent}", f"User-Agent: {agent}/{version}"]
            if rng.random() < 0.3:
                tags.append(rng.choice(["project:alpha", "batch-jobs"]))
            failed = rng.random() < 0.08
            prompt = 0 if failed else rng.randint(20, 4000)
            completion = 0 if failed else rng.randint(5, 1500)
            n += 1
            moment = start + timedelta(days=day, seconds=rng.randint(0, 86399),
                                       milliseconds=rng.randint(0, 999))
            data.requests.append(Request(
                request_id=f"req-{n:06d}", api_key=key.token, user=key.user_id or "",
                end_user=rng.choice([None, None, f"cust-{rng.randint(1, 5)}"]),
                team_id=key.team_id, model_group=group, model=model, provider=provider,
                start=min(moment, latest - timedelta(seconds=n)),
                duration_ms=rng.randint(200, 30000), prompt_tokens=prompt,
                completion_tokens=completion,
                spend=round(prompt * p_in + completion * p_out, 9),
                tags=tags, status="failure" if failed else "success"))
    return data


def _daily_rows(data: LiteLLMData, entity) -> dict[tuple, dict]:
    """LiteLLM's daily aggregate for `entity(request)`: one row per (entity, date, key,
    model, provider), incremented per request."""
    rows: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    for r in data.requests:
        for value in entity(r):
            row = rows[(value, r.day, r.api_key, r.model, r.provider, r.model_group)]
            row["prompt_tokens"] += r.prompt_tokens
            row["completion_tokens"] += r.completion_tokens
            row["spend"] += r.spend
            row["api_requests"] += 1
            row["successful_requests"] += r.status == "success"
            row["failed_requests"] += r.status == "failure"
    return rows


def write(conn, data: LiteLLMData) -> None:
    """Insert the records as LiteLLM's proxy would have written them."""
    now = datetime.now(UTC).replace(tzinfo=None)
    cur = conn.cursor()
    for user_id, email in data.users.items():
        cur.execute('INSERT INTO "LiteLLM_UserTable" (user_id, user_email, user_alias, '
                    'password, models, created_at, updated_at) VALUES '
                    '(%s, %s, %s, %s, %s, %s, %s)',
                    (user_id, email, user_id.upper(), "hashed-secret", [], now, now))
    for team_id, alias in data.teams.items():
        table = ("LiteLLM_DeletedTeamTable" if team_id in data.deleted_teams
                 else "LiteLLM_TeamTable")
        extra = ", id" if team_id in data.deleted_teams else ""
        values = (team_id, alias, [], [], [], now) + (
            (str(uuid.uuid4()),) if extra else ())
        cur.execute(f'INSERT INTO "{table}" (team_id, team_alias, admins, members, models, '
                    f'updated_at{extra}) VALUES (%s, %s, %s, %s, %s, %s'
                    f'{", %s" if extra else ""})', values)
    for key in data.keys:
        if key.deleted:
            cur.execute('INSERT INTO "LiteLLM_DeletedVerificationToken" (id, token, '
                        'key_alias, user_id, team_id, models, deleted_at) VALUES '
                        '(%s, %s, %s, %s, %s, %s, %s)',
                        (str(uuid.uuid4()), key.token, key.alias, key.user_id, key.team_id,
                         [], now))
        else:
            cur.execute('INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, '
                        'user_id, team_id, models, created_at, updated_at) VALUES '
                        '(%s, %s, %s, %s, %s, %s, %s, %s)',
                        (key.token, "sk-..." + key.token[-4:], key.alias, key.user_id,
                         key.team_id, [], now, now))
    insert_requests(conn, data.requests)
    write_daily(conn, data)
    conn.commit()


def insert_requests(conn, requests: list[Request]) -> None:
    """Spend-log rows with the columns this LiteLLM version has."""
    cur = conn.cursor()
    present = {row[0] for row in cur.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'LiteLLM_SpendLogs'").fetchall()}
    rows = [{
        "request_id": r.request_id, "call_type": "acompletion", "api_key": r.api_key,
        "spend": r.spend, "total_tokens": r.prompt_tokens + r.completion_tokens,
        "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
        "startTime": r.start, "endTime": r.start + timedelta(milliseconds=r.duration_ms),
        "request_duration_ms": r.duration_ms, "model": r.model,
        "model_group": r.model_group, "custom_llm_provider": r.provider, "user": r.user,
        "metadata": json.dumps({"user_api_key_alias": None, "status": r.status}),
        "request_tags": json.dumps(r.tags), "team_id": r.team_id, "end_user": r.end_user,
        "status": r.status,
        "messages": json.dumps({"messages": [{"role": "user", "content": "a private prompt"}]}),
        "response": json.dumps({"content": "a private answer"}),
    } for r in requests]
    columns = [c for c in rows[0] if c in present]
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    cur.executemany(f'INSERT INTO "LiteLLM_SpendLogs" ({names}) VALUES ({marks})',
                    [tuple(row[c] for c in columns) for row in rows])


def write_daily(conn, data: LiteLLMData) -> None:
    """Rewrite the three daily tables from all requests (as LiteLLM's increments leave
    them), keeping row ids stable so updates look like LiteLLM's upserts."""
    now = datetime.now(UTC).replace(tzinfo=None)
    cur = conn.cursor()
    keys = {k.token: k for k in data.keys} | {"": Key("", None, None, None)}
    tables = {
        ("LiteLLM_DailyUserSpend", "user_id"): lambda r: [keys[r.api_key].user_id],
        ("LiteLLM_DailyTeamSpend", "team_id"): lambda r: [keys[r.api_key].team_id],
        ("LiteLLM_DailyTagSpend", "tag"): lambda r: r.tags,
    }
    for (table, column), entity in tables.items():
        existing = {tuple(row[:-1]): row[-1] for row in cur.execute(
            f'SELECT {column}, date, api_key, model, custom_llm_provider, model_group, id '
            f'FROM "{table}"').fetchall()}
        for key, row in _daily_rows(data, entity).items():
            values = (row["prompt_tokens"], row["completion_tokens"], row["spend"],
                      row["api_requests"], row["successful_requests"],
                      row["failed_requests"], now)
            if key in existing:
                cur.execute(
                    f'UPDATE "{table}" SET prompt_tokens = %s, completion_tokens = %s, '
                    'spend = %s, api_requests = %s, successful_requests = %s, '
                    'failed_requests = %s, updated_at = %s WHERE id = %s',
                    values + (existing[key],))
            else:
                cur.execute(
                    f'INSERT INTO "{table}" ({column}, date, api_key, model, '
                    'custom_llm_provider, model_group, prompt_tokens, completion_tokens, '
                    'spend, api_requests, successful_requests, failed_requests, updated_at, '
                    'id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)',
                    key + values + (str(uuid.uuid4()),))
