"""How a long job shows where it is: on a terminal a progress bar (rich) with the step,
steps done of all, rows read, their rate, time elapsed and left; elsewhere a log record
per step at DEBUG (shown with --verbose), so a nightly run stays one line in the journal.

Jobs call a `Progress`: `plan(what, steps)` when they know how many steps follow,
`progress(name, ...)` as each step starts, `rows(n)` when a step read n rows.
"""

from __future__ import annotations

import time

from warehouse.logs import log


class Progress:
    """The log-record kind, and the protocol every kind follows."""

    def plan(self, what: str, steps: int) -> None:
        log.debug("%s: %d steps", what, steps)

    def __call__(self, *parts: str) -> None:
        log.debug("%s", " ".join(parts))

    def rows(self, count: int) -> None:
        log.debug("  %s rows", f"{count:,}")

    def close(self) -> None:
        pass


class Bar(Progress):
    """A rich progress bar on standard error, gone when the job ends (the job's one-line
    summary stays)."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("{task.description}"), BarColumn(bar_width=20), MofNCompleteColumn(),
            TextColumn("{task.fields[step]}"), TextColumn("{task.fields[rows]}"),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True)
        self._bar.start()
        self._task = None
        self._rows, self._started = 0, time.monotonic()

    def plan(self, what: str, steps: int) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
        self._rows, self._started = 0, time.monotonic()
        self._task = self._bar.add_task(what, total=steps, step="", rows="", rate="")
        self._first = True

    def __call__(self, *parts: str) -> None:
        if self._task is None:
            self.plan("working", None)
        if not self._first:
            self._bar.advance(self._task)
        self._first = False
        step = ".".join(parts)
        self._bar.update(self._task, step=step if len(step) <= 32 else step[:31] + "…")

    def rows(self, count: int) -> None:
        self._rows += count
        seconds = max(time.monotonic() - self._started, 1e-3)
        self._bar.update(self._task, rows=f"{self._rows:,} rows",
                         rate=f"{self._rows / seconds:,.0f}/s")

    def close(self) -> None:
        self._bar.stop()
