"""Reading a SQLite source in rollback-journal mode without holding its app's writers up.

In rollback-journal mode (Open WebUI's default: DATABASE_ENABLE_SQLITE_WAL=false) a
reader's lock keeps every writer from committing until the read ends, and a run reads
inside one long transaction: Open WebUI's commits waited seconds, and a writer with
SQLAlchemy's 5 s busy timeout failed. So such a source is read in short transactions:
each read the engine asks for is split into rowid ranges, each range one statement on a
connection of its own that commits at once (a few tens of ms), and the rows gather in a
temporary table of the run. Writers commit between ranges.

What a run copies: every row as committed at the moment its range was read. A row the
app commits during the run, or a change to a row already read, is copied by the next run
(its cursor or the count check finds it); nothing is counted twice, nothing is lost.
What a run no longer promises for such a source is the one-moment snapshot across tables
that WAL mode gives (a chat committed with its messages mid-run may arrive before them).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow

TARGET_SECONDS = 0.03  # one range's read; the writers' wait is at most about this
FIRST_ROWS, MIN_ROWS, MAX_ROWS = 2_000, 200, 500_000
# A range that finds a writer committing is tried again a few ms later, for this long.
# (The scanner's own SQLite sleeps a whole second when it finds the file busy: it is
# built without usleep, so each range runs with its busy timeout at 0.)
RETRY_SECONDS, RETRY_PAUSE = 60.0, 0.003
# What a table read ahead may hold before its copy starts taking it (read_ahead)
READ_AHEAD_BYTES = 256 << 20
_names = itertools.count()


def in_rollback_mode(path: Path) -> bool:
    """From the file header (bytes 18-19 are 2 in WAL mode): no lock taken to know."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(20)
    except OSError:
        return False
    return len(header) == 20 and not (header[18] == 2 and header[19] == 2)


class ShortReads:
    """Materialises source reads for the run's connection `con`, reading through
    `reader`: an in-memory DuckDB of its own with the source attached. The run's
    connection never sees the source, so nothing it does (a catalog listing inside its
    long transaction included) opens a read transaction there; the reader's statements
    commit at once."""

    def __init__(self, con: duckdb.DuckDBPyConnection, reader: duckdb.DuckDBPyConnection,
                 alias: str,
                 open_reader: Callable[[], duckdb.DuckDBPyConnection] | None = None):
        self.con, self.reader, self.alias = con, reader, alias
        self.made: list[str] = []  # the temporary tables, dropped by release()
        self.open_reader = open_reader  # another reader like `reader`, for read_ahead
        self.ahead: dict[str, ReadAhead] = {}  # by table

    def read_ahead(self, select: str, table: str, typed: str = "*") -> None:
        """Start reading what copy(select, table, ..., typed) will read, on a reader of
        its own, while the run copies another table. A first copy waits on the disk:
        chat_message's text is mostly CPU work, chat's 16 GB of overflow pages (at 6M
        events) mostly waiting; read one beside the other, the two took 47 s where one
        after the other took 59. A read ahead that its copy does not ask for is dropped."""
        if table in self.ahead:
            self.ahead.pop(table).stop()
        if self.open_reader is not None:
            reader = self.open_reader()
            self.ahead[table] = ReadAhead((select, table, typed), reader,
                                          self.ranges(select, table, typed, reader))

    def stop_reading_ahead(self) -> None:
        while self.ahead:
            self.ahead.popitem()[1].stop()

    def release(self) -> None:
        """Drop the rows read so far (after each table: a run holds one table's at most)."""
        for name in self.made:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
        self.made.clear()

    def relation(self, select: str, table: str, where: str) -> str:
        """A temporary table of `SELECT select FROM table WHERE where` (SQLite SQL), read
        range by range: rowid ranges for a whole table, else the matching rowids (found
        on the source's indexes, the rows themselves untouched) a batch at a time, so a
        cursor's read costs what its rows do, not a pass over the table."""
        if where != "1 = 1":
            return self._matching(select, table, where)
        return self._table_of(self.ranges(select, table))

    def copy(self, select: str, table: str, insert: str, typed: str = "*") -> int:
        """Every row of `table`, range by range, straight through `insert` (SQL reading
        the relation `{rows}`); the rows inserted. `typed` (DuckDB SQL over the SQLite
        rows, which come as text) types them on the reader's thread.

        One INSERT reads the ranges as a stream (_over): DuckDB writes each row group to
        the file as it fills. (An INSERT per batch of fewer rows than a row group leaves
        every row in the transaction's memory, then its temporary files, until the
        commit: a first copy of "full" text at 6M events ran out of memory; whole row
        groups of long rows held gigabytes of Arrow.)"""
        ahead = self.ahead.pop(table, None)
        if ahead is not None:
            try:
                if ahead.key == (select, table, typed):
                    return self._over(insert, ahead.chunks())
            finally:
                ahead.stop()
        return self._over(insert, self.ranges(select, table, typed))

    def ranges(self, select: str, table: str, typed: str = "*", reader=None):
        """The rows of each rowid range, in order, as Arrow tables."""
        bounds = self._bounds(table, reader)
        if bounds is None:  # a table without rowid, or an empty one: one statement
            yield self._fetch(f'SELECT {select} FROM "{table}"', typed, reader)
            return
        low, high = bounds

        def fetch(start: int, end: int):
            began = time.monotonic()
            chunk = self._fetch(f'SELECT {select} FROM "{table}" WHERE rowid > {start} AND '
                                f"rowid <= {end}", typed, reader)
            return chunk, (end - start) / max(time.monotonic() - began, 1e-4)

        # The next range is read (on the reader, in a thread) while the last one is
        # stored: both DuckDB instances work without the GIL, on two cores.
        with ThreadPoolExecutor(max_workers=1) as reading:
            start, end = low - 1, min(low - 1 + FIRST_ROWS, high)
            pending, rate = reading.submit(fetch, start, end), 0.0
            while pending is not None:
                chunk, seen = pending.result()
                # the best rate seen sizes the next range: a range that waited for a
                # writer's commit says nothing about how fast rows are read
                rate = max(rate, seen)
                rows = int(min(MAX_ROWS, max(MIN_ROWS, rate * TARGET_SECONDS)))
                start, end = end, min(end + rows, high)
                pending = reading.submit(fetch, start, end) if start < high else None
                yield chunk

    def _matching(self, select: str, table: str, where: str, batch: int = 2_000) -> str:
        try:
            rowids = self._fetch(f'SELECT rowid FROM "{table}" WHERE {where}').column(0)
        except duckdb.Error:  # a table without rowid: one statement
            return self._table_of(iter([self._fetch(
                f'SELECT {select} FROM "{table}" WHERE {where}')]))
        return self.rows_with(table, "rowid", sorted(int(r) for r in rowids.to_pylist()),
                              batch, select, quoted=False)

    def rows_with(self, table: str, column: str, values: list, batch: int = 500,
                  select: str = "*", quoted: bool = True) -> str:
        """A temporary table of the rows whose `column` is one of `values`: lookups on
        the source's index, a few hundred keys a statement."""
        key = f'"{column}"' if quoted else column
        statements = (
            f'SELECT {select} FROM "{table}" WHERE {key} IN '
            f'({", ".join(sql_literal(v) for v in values[start:start + batch]) or "NULL"})'
            for start in range(0, max(len(values), 1), batch))
        return self._table_of(self._read_ahead(statements))

    def count(self, table: str, counted: str) -> int:
        """`counted` (count(*) or count(column)) over the table in one statement: SQLite
        counts on its smallest index (1.2M chat_message rows: 30 ms, about one range's
        read), where counting rowid ranges walks the table's pages, text and all (0.7 s)."""
        return int(self.value(f'SELECT {counted} FROM "{table}"') or 0)

    def value(self, sql: str):
        """One value of a short SQLite query."""
        return self._fetch(sql).column(0)[0].as_py()

    def _bounds(self, table: str, reader=None) -> tuple[int, int] | None:
        try:
            # two subqueries: SQLite reads one end of the rowid tree for each, where
            # min() and max() in one select scan the whole table
            row = self._fetch(f'SELECT (SELECT min(rowid) FROM "{table}") AS low, '
                              f'(SELECT max(rowid) FROM "{table}") AS high',
                              reader=reader).to_pylist()[0]
        except duckdb.Error:
            return None  # WITHOUT ROWID
        low, high = row.values()
        if low is None:
            return None
        return int(low), int(high)

    def _fetch(self, sql: str, typed: str = "*", reader=None):
        """The rows of one SQLite statement, in a transaction of its own, as Arrow."""
        reader = reader or self.reader
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            reader.execute("BEGIN")
            try:
                reader.execute(f"SELECT * FROM {self._query('PRAGMA busy_timeout = 0')}")
                rows = reader.execute(
                    f"SELECT {typed} FROM {self._query(sql)}").to_arrow_table()
                reader.execute("COMMIT")
                return rows
            except duckdb.Error as exc:
                reader.execute("ROLLBACK")
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(RETRY_PAUSE)

    def _read_ahead(self, statements):
        """The rows of each SQLite statement in turn; the next one is read (on the
        reader, in a thread) while the caller takes the last."""
        with ThreadPoolExecutor(max_workers=1) as reading:
            pending = None
            for sql in statements:
                ahead = reading.submit(self._fetch, sql)
                if pending is not None:
                    yield pending.result()
                pending = ahead
            if pending is not None:
                yield pending.result()

    def _table_of(self, chunks) -> str:
        """A temporary table of the Arrow tables `chunks`, made in one statement."""
        name = f"_short_read_{next(_names)}"
        self._over(f"CREATE TEMP TABLE {name} AS SELECT * FROM {{rows}}", chunks)
        self.made.append(name)
        return name

    def _over(self, sql: str, chunks) -> int:
        """Run `sql` reading the Arrow tables `chunks` (an iterator, read as the statement
        runs) as the relation `{rows}`: one statement, however many reads, holding a read
        or two of Arrow data; a read's error is raised as it is once the statement ends.
        The count it returns."""
        first = next(chunks)
        failed: list[Exception] = []

        def batches():
            try:
                yield from first.to_batches()
                for chunk in chunks:
                    if chunk.schema != first.schema:
                        chunk = chunk.cast(first.schema)
                    yield from chunk.to_batches()
            except Exception as exc:
                failed.append(exc)

        done = _run_over(self.con, sql,
                         pyarrow.RecordBatchReader.from_batches(first.schema, batches()))
        if failed:
            raise failed[0]
        return done

    def _query(self, sql: str) -> str:
        return f"sqlite_query('{self.alias}', '{sql.replace(chr(39), chr(39) * 2)}')"


class ReadAhead:
    """One table's ranges read on a thread and a reader of their own, held (up to
    READ_AHEAD_BYTES; then reading waits) until the table's copy takes them in order."""

    def __init__(self, key: tuple, reader: duckdb.DuckDBPyConnection, ranges):
        self.key, self.reader = key, reader
        self.held: deque = deque()
        self.bytes, self.done, self.stopped = 0, False, False
        self.error: Exception | None = None
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(ranges,), daemon=True)
        self.thread.start()

    def _read(self, ranges) -> None:
        try:
            for chunk in ranges:
                with self.changed:
                    while self.bytes > READ_AHEAD_BYTES and not self.stopped:
                        self.changed.wait()
                    if self.stopped:
                        return
                    self.held.append(chunk)
                    self.bytes += chunk.nbytes
                    self.changed.notify_all()
        except Exception as exc:  # raised to the copy that takes the rows
            self.error = exc
        finally:
            ranges.close()
            with self.changed:
                self.done = True
                self.changed.notify_all()

    def chunks(self):
        """The rows read, in order, as they come."""
        while True:
            with self.changed:
                while not self.held and not self.done:
                    self.changed.wait()
                if not self.held:
                    if self.error is not None:
                        raise self.error
                    return
                chunk = self.held.popleft()
                self.bytes -= chunk.nbytes
                self.changed.notify_all()
            yield chunk

    def stop(self) -> None:
        """Stop reading (after the range being read), drop what is held, close the reader."""
        with self.changed:
            self.stopped = True
            self.held.clear()
            self.changed.notify_all()
        self.thread.join()
        self.reader.close()


def _run_over(con: duckdb.DuckDBPyConnection, sql: str,
              rows: pyarrow.Table | pyarrow.RecordBatchReader) -> int:
    """Run `sql` reading the Arrow `rows` as the relation `{rows}`; the count it returns.

    Not through con.register(): a view registered and unregistered inside a transaction
    stays in its undo log, the Arrow data with it, until the transaction ends; a run
    copying every table in one transaction held every row it read (7.4M messages: 1.2 GB
    more RSS). DuckDB's replacement scan finds `_arrow_rows`, a local of this frame,
    for this one statement only."""
    _arrow_rows = rows  # noqa: F841 (read by name by the SQL below)
    row = con.execute(sql.replace("{rows}", "_arrow_rows")).fetchone()
    return int(row[0]) if row else 0


def sql_literal(value) -> str:
    """A key as SQL: integers as they are, anything else as text."""
    if value is None:
        return "NULL"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
