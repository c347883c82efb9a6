"""The way back: each publish keeps the file it replaces, as a snapshot beside it.

A snapshot is the previously published warehouse under a name an operator recognises
(`usage.duckdb.snapshot-20261203T020000Z`, the time it was published), owner-only like the
warehouse. Published files are never written in place (jobs work on a copy and rename it
over), so keeping the replaced file is a hard link taken just before the rename: no copy,
no time, and the snapshot shares nothing with the new file. `keep` (default 1) snapshots
are kept, the newest ones. A job that erases people (forget) drops the snapshots that
still hold them and keeps a copy of the new file instead.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_KEEP = 1
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Snapshot:
    path: Path
    published_at: str  # UTC, as in its name

    @property
    def age_seconds(self) -> float:
        return time.time() - self.path.stat().st_mtime


def _pattern(warehouse: Path) -> re.Pattern:
    return re.compile(re.escape(warehouse.name) + r"\.snapshot-(\d{8}T\d{6}Z)(?:-(\d+))?$")


def listed(warehouse: Path) -> list[Snapshot]:
    """The warehouse's snapshots, newest first."""
    pattern = _pattern(warehouse)
    found = []
    try:
        entries = list(warehouse.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        match = pattern.match(entry.name)
        if match and entry.is_file():
            stamp = time.strptime(match.group(1), _STAMP)
            shown = time.strftime("%Y-%m-%d %H:%M:%S UTC", stamp)
            found.append((match.group(1), int(match.group(2) or 0), Snapshot(entry, shown)))
    return [s for *_, s in sorted(found, key=lambda f: f[:2], reverse=True)]


def keep_previous(warehouse: Path, keep: int) -> None:
    """Before a publish: link the file about to be replaced as the newest snapshot."""
    if keep > 0 and warehouse.exists():
        keep_as(warehouse, _name_for(warehouse, warehouse.stat().st_mtime))


def keep_as(warehouse: Path, target: Path) -> None:
    """The published file under another name too: a hard link, a copy where the file
    system has none."""
    try:
        os.link(warehouse, target)
    except OSError:
        _copy(warehouse, target)


def keep_copy(warehouse: Path, keep: int) -> None:
    """After a publish that erased people: the older snapshots still hold them, so they
    go, and a copy of the new file is the way back."""
    drop(warehouse)
    if keep > 0:
        _copy(warehouse, _name_for(warehouse, warehouse.stat().st_mtime))


def prune(warehouse: Path, keep: int) -> None:
    for old in listed(warehouse)[max(keep, 0):]:
        old.path.unlink(missing_ok=True)


def drop(warehouse: Path) -> None:
    prune(warehouse, 0)


def _name_for(warehouse: Path, published: float) -> Path:
    return stamped(warehouse, "snapshot", published)


def stamped(warehouse: Path, kind: str, at: float) -> Path:
    """`NAME.<kind>-<UTC time>` beside the warehouse, `-2`, `-3` ... when taken."""
    stamp = time.strftime(_STAMP, time.gmtime(at))
    target = warehouse.with_name(f"{warehouse.name}.{kind}-{stamp}")
    number = 1
    while target.exists():
        number += 1
        target = warehouse.with_name(f"{warehouse.name}.{kind}-{stamp}-{number}")
    return target


def _copy(source: Path, target: Path) -> None:
    """Copy beside, then rename: a snapshot is whole or absent."""
    staged = target.with_name(f".{target.name}.copying")
    try:
        shutil.copyfile(source, staged)
        shutil.copymode(source, staged)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)


# What DuckDB says when the bytes of its file are not what it wrote.
_DAMAGE = re.compile(r"Corrupt database file|does not match stored checksum|"
                     r"Could not read enough bytes from file|not a valid DuckDB database file|"
                     r"INTERNAL Error: .*(?:block|checksum|pointer)", re.IGNORECASE)


def _published_before(warehouse: Path) -> bool:
    from warehouse import journal

    return any(a.outcome == "ok" for a in journal.last_attempts(warehouse, 100))


def is_damage(message: str) -> bool:
    return bool(_DAMAGE.search(message))


def diagnosed(warehouse: Path, message: str) -> str:
    """`message` as it is, or, when it shows the file is damaged, one line saying so and
    how to get the warehouse back."""
    warehouse = Path(warehouse)
    kept = listed(warehouse)
    if " is damaged (" in message and "warehouse restore" in message:
        return message  # diagnosed already, deeper down
    if not is_damage(message) or ("not a valid DuckDB" in message
                                   and not (kept or _published_before(warehouse))):
        return message  # never a warehouse of ours: --db names some other file
    if "not a valid DuckDB" in message:
        detail = "its header is not a DuckDB header"
    else:
        detail = re.sub(r'\s*(?:from )?file "[^"]*"', "", message.split("Error: ")[-1])
        checksum = re.search(r"checksum.*block at location (\d+)", detail)
        if checksum:
            detail = f"checksum mismatch in the block at byte {checksum.group(1)}"
    if kept:
        way_back = (f"restore it with 'warehouse restore' (from {kept[0].path.name}, "
                    f"published {kept[0].published_at}) or 'warehouse restore --from "
                    "EXPORT_DIR'")
    else:
        way_back = ("restore it with 'warehouse restore --from EXPORT_DIR' (it has no "
                    "snapshot), or move it aside and run 'warehouse run --full-refresh' "
                    "(usage the sources no longer hold is then lost)")
    return f"warehouse {warehouse} is damaged ({detail.rstrip('.!')}): {way_back}"
