"""Readers never wait and never see a half-built warehouse.

DuckDB lets one process write a file, or many read it, never both. So a writing job
(`ingest`, `build`, `run`) never opens the published file for writing: holding the run
lock, it copies the published file to `.NAME.building` beside it, works there, checkpoints,
and renames the copy onto the published name. Readers that had the old file open keep
their snapshot; readers that open it afterwards see the new one. A job that fails or is
killed (SIGKILL included) leaves only a stale copy, which the next job discards.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse import db, interrupts, journal, snapshots
from warehouse.errors import WarehouseError, one_line
from warehouse.files import owner_only
from warehouse.logs import log

# Exit code of a job refused because another one holds the lock (sysexits' EX_TEMPFAIL:
# "try again later", which cron wrappers and systemd units can tell from a failure).
EXIT_LOCKED = 75


class Locked(WarehouseError):
    """Another job is writing this warehouse."""

    exit_code = EXIT_LOCKED


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def building_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.building")


@contextmanager
def run_lock(path: Path, wait: bool | float = False, command: str = "run") -> Iterator[None]:
    """Hold the warehouse's writer lock (an flock, released by the kernel even on SIGKILL).

    The lock file names its holder so a refused job can say who is writing. A job that
    leaves no warehouse behind (a failed first ingest) removes the lock file too; a job
    that was waiting on a lock file removed meanwhile takes the new one.
    """
    lock = lock_path(path)
    fd = _locked_fd(path, lock, wait)
    try:
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"'warehouse {command}' (PID {os.getpid()}, since "
                          f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')})\n".encode(), 0)
        except OSError as exc:  # e.g. a full disk: the job has not started, nothing changed
            raise WarehouseError(f"cannot write lock file {lock}: {exc.strerror}") from None
        yield
    finally:
        if not path.exists():
            lock.unlink(missing_ok=True)  # while still held: no other job is inside
        os.close(fd)  # closing the descriptor releases the flock


def _locked_fd(path: Path, lock: Path, wait: bool | float) -> int:
    """The lock file's descriptor, flocked. `wait`: False refuses at once, True waits as
    long as it takes, a number of seconds waits that long, then refuses."""
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise WarehouseError(f"cannot create lock file {lock}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _wait_for_lock(fd, path, wait)
        try:
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder removed this lock file: take the one that is there now


def _wait_for_lock(fd: int, path: Path, wait: bool | float) -> None:
    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
    if wait is False:
        os.close(fd)
        raise Locked(f"warehouse {path} is being written by {holder}: wait for it to "
                     "finish, or pass --wait to queue behind it")
    limit = None if wait is True else float(wait)
    log.info("waiting for %s to finish writing %s%s", holder, path,
             "" if limit is None else f" (at most {limit:g} s)")
    deadline = None if limit is None else time.monotonic() + limit
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if deadline is not None and time.monotonic() >= deadline:
                os.close(fd)
                raise Locked(f"warehouse {path} is still being written by {holder} after "
                             f"waiting {limit:g} s: try again later, or wait longer with "
                             "--timeout") from None
            left = 0.05 if deadline is None else deadline - time.monotonic()
            time.sleep(min(0.05, max(left, 0.0)))


class Unchanged(Exception):
    """Raised inside `writing()` by a job that found nothing to change: its copy is
    discarded unpublished (publishing an identical copy costs seconds of disk writes and
    rotates a snapshot out for nothing), and the journal records the job and `checked`."""

    def __init__(self, reason: str, checked: list[str] | None = None):
        super().__init__(reason)
        self.reason, self.checked = reason, checked or []


# A temporary table of the job's connection: its publish rewrites the file (below)
REWRITE_ASKED = "_rewrite_before_publishing"


def rewrite_before_publishing(con) -> None:
    """Have this job publish a rewritten file: it wrote text it then took away, which a
    freed page would keep. Taken back with the job's transaction if that rolls back."""
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {REWRITE_ASKED} (asked BOOLEAN)")


def _rewrite_asked(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND "
                            "table_name = ?", [REWRITE_ASKED]).fetchone()[0])


PUBLISHED = "published"  # a job starts from the published file
NEW = "new"  # ... or from an empty one (restore from an export)


@contextmanager
def writing(path: str | os.PathLike, wait: bool | float = False, command: str = "run",
            compact: bool = False, keep: int = snapshots.DEFAULT_KEEP,
            start: str | Path = PUBLISHED, aside: Path | None = None) -> Iterator:
    """A write connection to a private copy of the warehouse, published when the block
    ends without error; on error the published file is untouched. The replaced file is
    kept as a snapshot (`keep` of them). `compact` publishes a fresh file with the
    copy's contents, so no freed page keeps deleted data (and keeps no older snapshot;
    a block may ask for the rewrite alone: rewrite_before_publishing).
    `start` is another file to start from, or NEW; `aside` then names where the replaced
    file goes instead of the snapshots (restore: a damaged file never rotates one out).
    A block that raises Unchanged leaves the published file as it is, and succeeds."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise WarehouseError(f"cannot create warehouse {path}: folder {path.parent} does not exist")
    if db.is_sqlite(path):  # before the journal and lock land beside someone's database
        raise WarehouseError(db.sqlite_refusal(path))
    with journal.attempt(path, command) as end, run_lock(path, wait, command), \
            owner_only():
        work = building_path(path)
        _discard(work)  # left by a job that was killed
        if start == PUBLISHED and path.exists():
            _settle_wal(path)
            _copy(path, work)  # keeps the published file's permissions
        elif start not in (PUBLISHED, NEW):
            _copy(Path(start), work)
        con = None
        try:
            con = db.connect(work, name=path)
            yield con
            rewrite = compact or _rewrite_asked(con)
            con.execute("CHECKPOINT")
            con.close()
            con = None
            if rewrite:
                _rewrite(work)
            interrupts.check()  # a SIGINT DuckDB took mid-query still stops the job
            if aside is not None and path.exists():
                snapshots.keep_as(path, aside)
            elif not compact:
                snapshots.keep_previous(path, keep)
            _publish(work, path)
            if aside is None:
                _keep_snapshots(path, keep, compact)
        except Unchanged as unchanged:
            # closing would first checkpoint the log into a file that is thrown away
            con.execute("PRAGMA disable_checkpoint_on_shutdown")
            con.close()
            _discard(work)
            end.update(reason=unchanged.reason, checked=unchanged.checked)
            if aside is None:  # a lowered `keep` holds all the same
                _keep_snapshots(path, keep, compact=False)
        except BaseException as exc:
            if con is not None:
                try:
                    con.close()
                except duckdb.Error:
                    pass  # a connection DuckDB invalidated (disk full) is gone anyway
            _discard(work)
            if isinstance(exc, duckdb.Error | OSError):
                raise WarehouseError(_failure(path, exc)) from None
            if isinstance(exc, WarehouseError) and snapshots.is_damage(str(exc)):
                raise WarehouseError(snapshots.diagnosed(path, str(exc))) from None
            raise


def _keep_snapshots(path: Path, keep: int, compact: bool) -> None:
    """After the publish, which stands whatever happens here: a snapshot that cannot be
    written (a full disk) is missing from `status`, never a failed job."""
    try:
        if compact:
            snapshots.keep_copy(path, keep)
        else:
            snapshots.prune(path, keep)
    except OSError:
        pass


def _failure(path: Path, exc: BaseException) -> str:
    """What went wrong writing the copy, and what to do; the warehouse is unchanged."""
    message = one_line(exc) if isinstance(exc, duckdb.Error) else str(exc)
    if snapshots.is_damage(message):
        return snapshots.diagnosed(path, message)
    if getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in message:
        return (f"the disk holding {path.parent} is full, so nothing was published and "
                f"warehouse {path.name} is as it was: free space (a job needs room for a "
                "second copy of the warehouse, and DuckDB for its temporary files) and run "
                "again")
    return (f"writing warehouse {path} failed, so nothing was published and it is as it "
            f"was: {message}")


def _rewrite(work: Path) -> None:
    """Replace the copy by a new file holding only its live contents (DuckDB reuses
    freed blocks but never wipes them)."""
    fresh = work.with_name(work.name + ".fresh")
    _discard(fresh)
    try:
        con = duckdb.connect(str(fresh), config=dict(db.OFFLINE))
        try:
            # DuckDB would draw its progress bar on the job's stdout after 2 s of copying
            con.execute("SET enable_progress_bar = false")
            quoted = str(work).replace("'", "''")
            con.execute(f"ATTACH '{quoted}' AS old (READ_ONLY)")
            catalog = con.execute("SELECT current_database()").fetchone()[0]
            con.execute(f'COPY FROM DATABASE old TO "{catalog}"')
            con.execute("DETACH old")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        shutil.copymode(work, fresh)
        os.replace(fresh, work)
    except duckdb.Error as exc:
        _discard(fresh)
        raise WarehouseError(f"cannot rewrite the warehouse into {fresh}: "
                             f"{one_line(exc)}") from None
    except BaseException:
        _discard(fresh)
        raise


def _copy(source: Path, target: Path) -> None:
    try:
        shutil.copyfile(source, target)
        shutil.copymode(source, target)
    except OSError as exc:
        _discard(target)
        if exc.errno == errno.ENOSPC:
            raise WarehouseError(
                f"cannot copy warehouse {source} to work on it: the disk is full, so nothing "
                "changed; free space (a job needs room for a second copy of the warehouse) "
                "and run again") from None
        raise WarehouseError(f"cannot copy warehouse {source} to work on it: "
                             f"{exc.strerror}; nothing changed") from None


def _publish(work: Path, path: Path) -> None:
    """Make the copy durable, then swap it in: rename is atomic, so a reader opening
    the warehouse finds either the old file or the new one, whole."""
    wal = work.with_name(work.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise WarehouseError(f"internal error: {work} still has a write-ahead log after "
                             "its checkpoint; nothing was published")
    _discard_file(wal)
    fd = os.open(work, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(work, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _settle_wal(path: Path) -> None:
    """A published file must hold everything itself: fold in a write-ahead log left by a
    version that wrote the published file directly, before copying the file alone."""
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        db.connect(path).close()


def _discard(work: Path) -> None:
    """The copy, its write-ahead log and DuckDB's spill folder (a job killed mid-build
    leaves all three), and the same of the fresh file a compacting job (forget) writes."""
    for copy in (work, work.with_name(work.name + ".fresh")):
        _discard_file(copy)
        _discard_file(copy.with_name(copy.name + ".wal"))
        shutil.rmtree(copy.with_name(copy.name + ".tmp"), ignore_errors=True)


def _discard_file(path: Path) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
