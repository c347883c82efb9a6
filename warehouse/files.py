"""Files the tool writes for people carry the warehouse's privacy, and never land on what
it must not touch.

Reports, charts, the dashboard and exports hold the same personal data as the warehouse,
so they are created owner-only (files 0600, folders 0700) unless `[warehouse]
output_mode` says otherwise (e.g. "0640" for a group that reads the reports); a file
that exists keeps the permissions its owner gave it. An --output that names the
warehouse, its lock or work files, or a configured SQLite source is refused before
anything is written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse import snapshots
from warehouse.errors import WarehouseError


@contextmanager
def owner_only() -> Iterator[None]:
    """Everything created inside (by Python or by DuckDB) is readable by its owner only."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


OWNER_ONLY = 0o600


def append_line(path: Path, line: str, sync: bool = False) -> None:
    """One line appended whole to an owner-only file beside the warehouse (the journal,
    the erasure ledger, the list of exports); `sync` waits until it is on disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, OWNER_ONLY)
    try:
        os.write(fd, (line + "\n").encode())
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def outputs(mode: int = OWNER_ONLY) -> Iterator[None]:
    """Files created inside get `mode`, folders the same plus x where it has r."""
    folders = mode | ((mode & 0o444) >> 2)
    previous = os.umask(0o777 & ~folders)
    try:
        yield
    finally:
        os.umask(previous)


def parse_mode(text: str) -> int | None:
    """An octal mode such as "0640" that lets the owner read and write, else None."""
    if not re.fullmatch(r"0?[0-7]{3}", text.strip()):
        return None
    mode = int(text, 8)
    return mode if mode & OWNER_ONLY == OWNER_ONLY and not mode & 0o111 else None


def protected(warehouse: Path, sources: Iterable[Path]) -> list[Path]:
    """The warehouse, the files its jobs keep beside it, and the SQLite sources."""
    return [Path(warehouse), *_beside(Path(warehouse)), *(Path(s) for s in sources)]


def _beside(warehouse: Path) -> list[Path]:
    return [*(warehouse.with_name(warehouse.name + suffix)
              for suffix in (".lock", ".wal", ".journal", ".erasures", ".exports")),
            *(s.path for s in snapshots.listed(warehouse))]


def check_output(option: str, target: str | os.PathLike, guarded: list[Path]) -> None:
    """Refuse an output path that is (or links to) a guarded file or a job's work file."""
    target = Path(target)
    resolved = target.resolve()
    for path in guarded:
        same = resolved == path.resolve()
        if not same and target.exists() and path.exists():
            same = os.path.samefile(target, path)
        if same:
            raise WarehouseError(f"{option} {target} is {_what(path, guarded)}: choose "
                                 "another file")
    work = guarded[0].resolve()
    if resolved.parent == work.parent and resolved.name.startswith(f".{work.name}."):
        raise WarehouseError(f"{option} {target} is a work file of the warehouse {work}: "
                             "choose another file")


def _what(path: Path, guarded: list[Path]) -> str:
    if path == guarded[0]:
        return "the warehouse"
    if path in _beside(guarded[0]):
        return f"a file the warehouse keeps beside it ({path.name})"
    return f"the source database {path}"
