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

from starlette.requests import Request
from starlette.responses import Response

CACHED_PREFIXES = ("/api/reports/", "/api/charts/", "/api/v1/analytics/", "/tag/")
MAX_BYTES = 64 << 20
MAX_ANSWER_BYTES = 4 << 20
HEADER = "X-Warehouse-Cache"


class Answers:
    def __init__(self, identity, max_bytes: int = MAX_BYTES):
        self.identity = identity  # () -> the served snapshot's identity, or None
        self.max_bytes = max_bytes
        self.kept: OrderedDict[tuple, tuple[int, bytes, list]] = OrderedDict()
        self.size = 0
        self.pending: dict[tuple, asyncio.Future] = {}
        self.hits = self.misses = 0

    def key(self, request: Request) -> tuple | None:
        if request.method != "GET" or not request.url.path.startswith(CACHED_PREFIXES):
            return None
        identity = self.identity()
        if identity is None:
            return None
        query = tuple(sorted(request.query_params.multi_items()))
        return identity, date.today().isoformat(), request.url.path, query

    async def answer(self, request: Request, call_next) -> Response:
        key = self.key(request)
        if key is None:
            return await call_next(request)
        kept = self._get(key)
        if kept is None and key in self.pending:
            await asyncio.shield(self.pending[key])
            kept = self._get(key)
        if kept is not None:
            self.hits += 1
            return _response(*kept, "hit")
        self.misses += 1
        done = asyncio.get_running_loop().create_future()
        self.pending[key] = done
        try:
            response = await call_next(request)
            if response.status_code != 200:
                return response
            body = b"".join([chunk async for chunk in response.body_iterator])
            headers = [(k, v) for k, v in response.headers.items()
                       if k.lower() != "content-length"]
            if len(body) <= MAX_ANSWER_BYTES:
                self._put(key, (response.status_code, body, headers))
            return _response(response.status_code, body, headers, "miss")
        finally:
            self.pending.pop(key, None)
            done.set_result(None)

    def _get(self, key):
        kept = self.kept.get(key)
        if kept is not None:
            self.kept.move_to_end(key)
        return kept

    def _put(self, key, value) -> None:
        self.kept[key] = value
        self.size += len(value[1])
        while self.size > self.max_bytes and self.kept:
            _, (_, body, _) = self.kept.popitem(last=False)
            self.size -= len(body)


def _response(status: int, body: bytes, headers: list, how: str) -> Response:
    response = Response(body, status_code=status)
    for name, value in headers:
        response.headers[name] = value
    response.headers[HEADER] = how  # for operators and tests: kept or computed
    return response
