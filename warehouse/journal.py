"""Every job attempt, kept outside the warehouse so failed and killed ones leave a trace.

`_warehouse.run_log` lives inside the file a job publishes, so it only ever holds jobs
that succeeded. The journal is a JSON-lines file beside the warehouse (NAME.journal,
owner-only): a line when a job starts, one when it ends with its outcome (ok, failed,
refused, interrupted) and its one-line reason. A start without an end is a job that was
killed, or one still running.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warehouse.errors import is_interrupt, redact
from warehouse.files import append_line

KEEP_BYTES = 1 << 20  # past this, the older half of the journal is dropped


@dataclass(frozen=True)
class Attempt:
    attempt_id: str
    command: str
    pid: int
    started_at: str
    seconds: float | None
    outcome: str  # ok | failed | refused | interrupted | killed | running
    reason: str


def journal_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".journal")


@contextmanager
def attempt(warehouse: Path, command: str) -> Iterator[dict]:
    """Record the job around the block; the block's exception passes through. The block
    may add to the dict it gets: a successful job's reason, and `checked` (the sources a
    job that published nothing read)."""
    path = journal_path(warehouse)
    attempt_id, started = uuid.uuid4().hex[:12], time.time()
    _append(path, {"attempt": attempt_id, "event": "start", "command": command,
                   "pid": os.getpid(), "at": _stamp(started)})
    end = {"outcome": "ok", "reason": ""}
    try:
        yield end
    except BaseException as exc:
        end["outcome"], end["reason"] = _outcome(exc)
        end.pop("checked", None)
        raise
    finally:
        _append(path, {"attempt": attempt_id, "event": "end", **end,
                       "seconds": round(time.time() - started, 3),
                       "at": _stamp(time.time())})


def last_attempts(warehouse: Path, count: int = 10) -> list[Attempt]:
    """The newest `count` attempts, newest first."""
    starts: dict[str, dict] = {}
    ends: dict[str, dict] = {}
    for entry in _entries(warehouse):
        (starts if entry.get("event") == "start" else ends)[entry.get("attempt")] = entry
    out = []
    for attempt_id, start in reversed(list(starts.items())):
        end = ends.get(attempt_id)
        outcome = end["outcome"] if end else ("running" if _holds_lock(
            warehouse, start["pid"]) else "killed")
        out.append(Attempt(attempt_id, start["command"], start["pid"], start["at"],
                           end["seconds"] if end else None, outcome,
                           end["reason"] if end else ""))
    return out[:count]


def last_checked(warehouse: Path) -> dict[str, datetime]:
    """Per source, when a job last read it without publishing (it found nothing new): the
    published file's own record of the source is older."""
    checked: dict[str, datetime] = {}
    for entry in _entries(warehouse):
        if entry.get("event") == "end" and entry.get("outcome") == "ok":
            at = _instant(entry["at"])
            for source in entry.get("checked") or ():
                checked[source] = max(checked.get(source, at), at)
    return checked


def _entries(warehouse: Path) -> Iterator[dict]:
    """The journal's lines, oldest first; none when there is no journal yet."""
    try:
        lines = journal_path(warehouse).read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for line in lines:
        try:
            yield json.loads(line)
        except ValueError:
            continue  # a line cut by a full disk or a kill


def _outcome(exc: BaseException) -> tuple[str, str]:
    from warehouse.publish import Locked

    if isinstance(exc, Locked):
        return "refused", redact(str(exc))
    if is_interrupt(exc):
        return "interrupted", "interrupted (Ctrl-C or SIGINT)"
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return "failed", redact(lines[0] if lines else type(exc).__name__)


def _append(path: Path, entry: dict) -> None:
    """One line, written whole; a journal that cannot be written never fails a job."""
    try:
        if path.exists() and path.stat().st_size > KEEP_BYTES:
            _trim(path)
        append_line(path, json.dumps(entry))
    except OSError:
        pass


def _trim(path: Path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    staged = path.with_name(path.name + f".{os.getpid()}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"".join(lines[len(lines) // 2:]))
    finally:
        os.close(fd)
    os.replace(staged, path)


def _holds_lock(warehouse: Path, pid: int) -> bool:
    """Whether `pid` is alive and named by the writer lock (a reused PID is not)."""
    try:
        os.kill(pid, 0)
        holder = warehouse.with_name(warehouse.name + ".lock").read_text()
    except PermissionError:
        return True
    except OSError:
        return False
    return f"PID {pid}," in holder


_STAMP = "%Y-%m-%d %H:%M:%S UTC"


def _stamp(seconds: float) -> str:
    return time.strftime(_STAMP, time.gmtime(seconds))


def _instant(stamp: str) -> datetime:
    return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
