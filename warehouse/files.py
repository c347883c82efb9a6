"""Files the tool writes for people carry the warehouse's privacy, and never land on what
it must not touch.

Reports, charts, the dashboard and exports hold the same personal data as the warehouse,
so they are created owner-only (files 0600, folders 0700); a file that exists keeps the
permissions its owner gave it. An --output that names the warehouse, its lock or work
files, or a configured SQLite source is refused before anything is written.
"""

from __future__ import annotations

import os
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


def protected(warehouse: Path, sources: Iterable[Path]) -> list[Path]:
    """The warehouse, the files its jobs keep beside it, and the SQLite sources."""
    return [Path(warehouse), *_beside(Path(warehouse)), *(Path(s) for s in sources)]


def _beside(warehouse: Path) -> list[Path]:
    return [*(warehouse.with_name(warehouse.name + suffix)
              for suffix in (".lock", ".wal", ".journal")),
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
