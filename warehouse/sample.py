"""Writing Open WebUI databases from plain records: the demo's data and the tests' fixtures.

The records are what Open WebUI itself would write (chat_message rows, the chat JSON with
`history.messages`, group membership) so that the warehouse reads them exactly as it reads
a production webui.db.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources

MODELS = ("gpt-4o", "llama3.1:8b", "claude-sonnet-4", "mistral-small", "qwen2.5:14b")


@dataclass
class User:
    id: str
    name: str
    email: str
    role: str = "user"
    created_at: int = 1_700_000_000


@dataclass
class Group:
    id: str
    name: str
    members: list[str] = field(default_factory=list)
    parent_id: str | None = None


@dataclass
class Message:
    id: str
    role: str  # 'user' | 'assistant'
    content: str
    created_at: int  # epoch seconds, as Open WebUI writes them
    model_id: str | None = None
    usage: dict | None | str = None  # dict, None (SQL NULL), or raw text ('null', broken JSON)
    parent_id: str | None = None


@dataclass
class Chat:
    id: str
    user_id: str
    title: str
    messages: list[Message]
    tags: list[str] = field(default_factory=list)
    archived: bool = False

    @property
    def created_at(self) -> int:
        return min(m.created_at for m in self.messages)

    @property
    def updated_at(self) -> int:
        return max(m.created_at for m in self.messages)


@dataclass
class Feedback:
    id: str
    user_id: str
    model_id: str
    rating: int  # 1 or -1
    chat_id: str
    message_id: str
    created_at: int


@dataclass
class Dataset:
    users: list[User] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    chats: list[Chat] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)


def schema_sql() -> str:
    return resources.files("warehouse.ingest").joinpath("openwebui_schema.sql").read_text()


def statements(sql: str) -> list[str]:
    """Split a DDL script on semicolons (our fixtures hold no semicolons in literals)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def usage_text(usage) -> str | None:
    if usage is None or isinstance(usage, str):
        return usage
    return json.dumps(usage)


def chat_json(chat: Chat) -> dict:
    """The `chat.chat` JSON Open WebUI stores: history.messages keyed by message id."""
    history = {}
    for m in chat.messages:
        entry = {"id": m.id, "parentId": m.parent_id, "childrenIds": [], "role": m.role,
                 "content": m.content, "timestamp": m.created_at}
        if m.role == "assistant":
            entry["model"] = m.model_id
            if isinstance(m.usage, dict):
                entry["usage"] = m.usage
        else:
            entry["models"] = sorted({x.model_id for x in chat.messages if x.model_id})
        history[m.id] = entry
    return {
        "id": "", "title": chat.title,
        "models": sorted({m.model_id for m in chat.messages if m.model_id}),
        "history": {"messages": history, "currentId": chat.messages[-1].id},
        "messages": list(history.values()),
        "tags": [], "timestamp": chat.created_at * 1000,  # milliseconds, unlike messages
    }


def write(conn, data: Dataset, paramstyle: str = "qmark", legacy: bool = False) -> None:
    """Write `data` into an empty Open WebUI database through a DB-API connection.

    `legacy` writes the shape of versions before chat_message and group_member existed
    (messages only in chat JSON, membership as group.user_ids).
    """
    cur = conn.cursor()
    for stmt in statements(legacy_schema_sql() if legacy else schema_sql()):
        cur.execute(stmt)
    ph = "?" if paramstyle == "qmark" else "%s"

    def insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if rows:
            cols = ", ".join(columns)
            marks = ", ".join([ph] * len(columns))
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)

    insert('"user"', ("id", "name", "email", "role", "created_at", "updated_at",
                      "last_active_at"),
           [(u.id, u.name, u.email, u.role, u.created_at, u.created_at, u.created_at)
            for u in data.users])
    if legacy:
        insert('"group"', ("id", "user_id", "name", "description", "user_ids", "created_at",
                           "updated_at"),
               [(g.id, "admin", g.name, "", json.dumps(g.members), 1_700_000_000,
                 1_700_000_000) for g in data.groups])
    else:
        insert('"group"', ("id", "parent_group_id", "user_id", "name", "description",
                           "created_at", "updated_at"),
               [(g.id, g.parent_id, "admin", g.name, "", 1_700_000_000, 1_700_000_000)
                for g in _parents_first(data.groups)])
        insert("group_member", ("id", "group_id", "user_id", "created_at", "updated_at"),
               [(f"{g.id}:{u}", g.id, u, 1_700_000_000, 1_700_000_000)
                for g in data.groups for u in g.members])
    tag_rows = {(t.lower().replace(" ", "_"), c.user_id, t) for c in data.chats for t in c.tags}
    insert("tag", ("id", "user_id", "name", "meta"),
           [(tid, uid, name, "{}") for tid, uid, name in sorted(tag_rows)])
    insert("chat", ("id", "user_id", "title", "chat", "created_at", "updated_at", "archived",
                    "meta"),
           [(c.id, c.user_id, c.title, json.dumps(chat_json(c)), c.created_at, c.updated_at,
             c.archived, json.dumps({"tags": [t.lower().replace(" ", "_") for t in c.tags]}))
            for c in data.chats])
    if not legacy:
        insert_messages(cur, ph, [(c, m) for c in data.chats for m in c.messages])
    insert("feedback", ("id", "user_id", "version", "type", "data", "meta", "snapshot",
                        "created_at", "updated_at"),
           [(f.id, f.user_id, 0, "rating",
             json.dumps({"rating": f.rating, "model_id": f.model_id, "reason": ""}),
             json.dumps({"chat_id": f.chat_id, "message_id": f.message_id}), "{}",
             f.created_at, f.created_at) for f in data.feedback])
    conn.commit()


def insert_messages(cur, ph: str, pairs: list[tuple[Chat, Message]]) -> None:
    """chat_message rows as Open WebUI writes them: id '{chat_id}-{message_id}', JSON content."""
    columns = ("id", "chat_id", "user_id", "role", "parent_id", "content", "model_id", "done",
               "usage", "created_at", "updated_at")
    rows = [(f"{c.id}-{m.id}", c.id, c.user_id, m.role, m.parent_id, json.dumps(m.content),
             m.model_id, True, usage_text(m.usage), m.created_at, m.created_at)
            for c, m in pairs]
    if rows:
        cur.executemany(
            f"INSERT INTO chat_message ({', '.join(columns)}) VALUES "
            f"({', '.join([ph] * len(columns))})", rows)


def _parents_first(groups: list[Group]) -> list[Group]:
    done: set[str] = set()
    ordered: list[Group] = []
    pending = list(groups)
    while pending:
        for g in list(pending):
            if g.parent_id is None or g.parent_id in done:
                ordered.append(g)
                done.add(g.id)
                pending.remove(g)
    return ordered


def legacy_schema_sql() -> str:
    """Open WebUI before 0.8 (no chat_message) and before 2025-11-17 (no group_member)."""
    return resources.files("warehouse.ingest").joinpath("openwebui_legacy_schema.sql").read_text()


def generate(seed: int = 7, users: int = 12, days: int = 42, chats_per_user: int = 9,
             end: datetime | None = None) -> Dataset:
    """A realistic small installation: users in nested groups, weeks of chats with
    several models, token usage in both key styles, feedback and chat tags."""
    rng = random.Random(seed)
    end = end or datetime(2026, 11, 1, tzinfo=UTC)
    start = end - timedelta(days=days)
    first = ["Ada", "Bram", "Chen", "Dana", "Emil", "Fatima", "Gus", "Hana", "Ivo", "Jun",
             "Kai", "Lea", "Mo", "Nia", "Otto", "Pia"]
    data = Dataset()
    for i in range(users):
        name = f"{first[i % len(first)]} {chr(65 + i // len(first))}."
        data.users.append(User(f"u{i:03d}", name, f"{first[i % len(first)].lower()}{i}@uni.example",
                               role="admin" if i == 0 else "user"))
    ids = [u.id for u in data.users]
    data.groups = [
        Group("g-staff", "Staff", ids[: users // 3]),
        Group("g-students", "Students", ids[users // 3 : users * 2 // 3]),
        Group("g-physics", "Physics", ids[users // 3 : users // 2], parent_id="g-students"),
        Group("g-research", "Research", ids[users * 2 // 3 :]),
    ]
    tags = ["Homework", "Code", "Writing", "Research", "Email"]
    questions = ["Explain the difference between a list and a tuple in Python.",
                 "Summarise this paper on transformer scaling laws for me.",
                 "Write a polite email asking for a deadline extension.",
                 "How do I compute a confidence interval in R?",
                 "Draft an abstract about protein folding with AlphaFold."]
    for u in data.users:
        favourite = rng.choice(MODELS)
        for c in range(chats_per_user + rng.randint(-3, 3)):
            chat_id = f"c-{u.id}-{c:02d}"
            t = int((start + timedelta(seconds=rng.randint(0, days * 86400 - 7200))).timestamp())
            messages: list[Message] = []
            parent = None
            for turn in range(rng.randint(1, 4)):
                q = Message(f"m{turn}q", "user", rng.choice(questions), t, parent_id=parent)
                model = favourite if rng.random() < 0.7 else rng.choice(MODELS)
                prompt, completion = rng.randint(20, 900), rng.randint(50, 1500)
                style = rng.random()
                if style < 0.5:
                    usage: dict | None | str = {"input_tokens": prompt,
                                                "output_tokens": completion,
                                                "total_tokens": prompt + completion}
                elif style < 0.9:
                    usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion}
                else:
                    usage = "null"  # a provider that reported no usage
                a = Message(f"m{turn}a", "assistant", f"Answer {turn} from {model}.",
                            t + rng.randint(2, 40), model_id=model, usage=usage,
                            parent_id=q.id)
                messages += [q, a]
                parent = a.id
                t = a.created_at + rng.randint(30, 900)
            chat = Chat(chat_id, u.id, messages[0].content[:40], messages,
                        tags=rng.sample(tags, rng.randint(0, 2)))
            data.chats.append(chat)
            if rng.random() < 0.35:
                a = messages[-1]
                data.feedback.append(Feedback(f"f-{chat_id}", u.id, a.model_id,
                                              rng.choice([1, 1, 1, -1]), chat_id, a.id,
                                              a.created_at + 60))
    return data
