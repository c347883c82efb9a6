"""The snapshot a request reads: the published file as it was when the request began.

A job publishes by renaming a new file onto the warehouse's name (warehouse/publish.py).
The server keeps one read-only connection to the file it opened last; each request
first compares the name's inode and modification time with that file's, opens the new
file if they differ, and reads through a cursor of whichever connection was current
then. A request in flight keeps its cursor, and with it the old file, until it ends:
no request fails or mixes two states, and no restart is needed.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse import db
from warehouse.errors import WarehouseError


@dataclass(frozen=True)
class Snapshot:
    con: duckdb.DuckDBPyConnection
    identity: tuple[int, int, int]  # device, inode, modification time (ns)
    published_at: str  # the file's modification time, ISO 8601 UTC


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_mtime_ns


class Published:
    """Follows the published file at `path`."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._current: Snapshot | None = None

    def current(self) -> Snapshot:
        """The newest published snapshot, opened once."""
        identity = _identity(self.path)
        if identity is None:
            raise WarehouseError(f"warehouse {self.path} does not exist yet: run "
                                 "'warehouse run' first")
        with self._lock:
            if self._current is None or self._current.identity != identity:
                self._current = self._open(identity)
            return self._current

    def _open(self, identity: tuple[int, int, int]) -> Snapshot:
        # A publish between the stat and the open would hand us a newer file than the
        # identity says: the next request sees the name differ and opens it once more.
        con = db.connect_reader(self.path)
        published = datetime.fromtimestamp(identity[2] / 1e9, UTC)
        return Snapshot(con, identity, published.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def run(self, name: str, filters, pseudonymize: bool | None):
        """Report `name` on the current snapshot."""
        from warehouse import reports

        with self.cursor() as (con, _snapshot):
            return reports.run(con, name, filters, pseudonymize)

    @contextmanager
    def cursor(self):
        """A cursor of the current snapshot for one request, and the snapshot."""
        snapshot = self.current()
        cursor = snapshot.con.cursor()
        try:
            cursor.execute(f"USE {db.reader_catalog(self.path)}")
            yield cursor, snapshot
        finally:
            cursor.close()
