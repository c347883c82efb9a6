"""Ctrl-C is never lost.

DuckDB looks for SIGINT while a query runs and may cancel the query, or finish it, without
Python ever seeing a KeyboardInterrupt; a job would then go on and publish. The CLI's
handler therefore records the signal as well as raising, and a job asks `check()` before it
publishes, so an interrupted job never changes the warehouse.
"""

from __future__ import annotations

import signal

_received = False


def install() -> None:
    """Record every SIGINT, then raise as Python's default handler does."""
    signal.signal(signal.SIGINT, _on_sigint)


def _on_sigint(signum, frame) -> None:
    global _received
    _received = True
    raise KeyboardInterrupt


def received() -> bool:
    return _received


def check() -> None:
    """Raise KeyboardInterrupt if a SIGINT arrived, even one swallowed by DuckDB."""
    if _received:
        raise KeyboardInterrupt
