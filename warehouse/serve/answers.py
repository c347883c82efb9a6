"""Answers kept per snapshot: a published snapshot never changes, so an answer read from
it stays right for as long as it is the one served.

The same few questions arrive again and again (every open dashboard asks the same ones
every few seconds), and a report over millions of rows costs tens of milliseconds of
both cores; its answer costs nothing to send again. Kept: successful GET answers of the
report, chart and compat endpoints, keyed by the snapshot's identity, today's date (the
windows that end "today" move at midnight), the path and the query. When a job publishes,
the identity changes and the next request computes afresh. Concurrent requests for an
answer not yet kept wait for the first one's instead of computing it again. Bounded in
bytes; the least recently used go first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import date

from starlette.datastructures import QueryParams

CACHED_PREFIXES = ("/api/reports/", "/api/charts/", "/api/v1/analytics/", "/tag/")
MAX_BYTES = 64 << 20
MAX_ANSWER_BYTES = 4 << 20
HEADER = b"x-warehouse-cache"


class Answers:
    """The kept answers, as ASGI middleware around the application (plain ASGI: a kept
    answer is sent in two messages; Starlette's BaseHTTPMiddleware cost a third of a
    cached request's time)."""

    def __init__(self, app, identity, max_bytes: int = MAX_BYTES):
        self.app = app
        self.identity = identity  # () -> the served snapshot's identity, or None
        self.max_bytes = max_bytes
        self.kept: OrderedDict[tuple, tuple[bytes, list]] = OrderedDict()
        self.size = 0
        self.pending: dict[tuple, asyncio.Future] = {}
        self.hits = self.misses = 0

    def key(self, scope) -> tuple | None:
        if (scope["type"] != "http" or scope["method"] != "GET"
                or not scope["path"].startswith(CACHED_PREFIXES)):
            return None
        identity = self.identity()
        if identity is None:
            return None
        query = tuple(sorted(QueryParams(scope["query_string"]).multi_items()))
        return identity, date.today().isoformat(), scope["path"], query

    async def __call__(self, scope, receive, send) -> None:
        key = self.key(scope)
        if key is None:
            return await self.app(scope, receive, send)
        kept = self._get(key)
        if kept is None and key in self.pending:
            await asyncio.shield(self.pending[key])
            kept = self._get(key)
        if kept is not None:
            self.hits += 1
            body, headers = kept
            await send({"type": "http.response.start", "status": 200, "headers": [
                *headers, (b"content-length", str(len(body)).encode()), (HEADER, b"hit")]})
            await send({"type": "http.response.body", "body": body})
            return
        self.misses += 1
        done = asyncio.get_running_loop().create_future()
        self.pending[key] = done
        try:
            await self._compute(scope, receive, send, key)
        finally:
            self.pending.pop(key, None)
            done.set_result(None)

    async def _compute(self, scope, receive, send, key: tuple) -> None:
        """Answer through the application, keeping a successful answer's body."""
        started: dict = {}
        chunks: list[bytes] = []

        async def keeping(message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
                if message["status"] == 200:  # for operators and tests: computed
                    message = {**message, "headers": [*message["headers"], (HEADER, b"miss")]}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keeping)
        body = b"".join(chunks)
        if started.get("status") == 200 and len(body) <= MAX_ANSWER_BYTES:
            self._put(key, (body, [(k, v) for k, v in started["headers"]
                                   if k.lower() != b"content-length"]))

    def _get(self, key):
        kept = self.kept.get(key)
        if kept is not None:
            self.kept.move_to_end(key)
        return kept

    def _put(self, key, value) -> None:
        self.kept[key] = value
        self.size += len(value[0])
        while self.size > self.max_bytes and self.kept:
            _, (body, _) = self.kept.popitem(last=False)
            self.size -= len(body)
