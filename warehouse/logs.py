"""What jobs say while they work, as log records: plain lines on a terminal, and on a
non-terminal (cron, systemd's journal) lines with a UTC timestamp and a level.

The library only logs (`logging.getLogger("warehouse")`); the CLI decides where it goes.
`--quiet` keeps warnings and errors only; `--verbose` adds a record per step.
"""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("warehouse")


class _UTC(logging.Formatter):
    converter = time.gmtime

    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging's name)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", self.converter(record.created))


def setup(stream=None) -> None:
    """Send the warehouse's records to standard error, once per process."""
    stream = stream or sys.stderr
    for handler in list(log.handlers):
        log.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    if getattr(stream, "isatty", lambda: False)():
        handler.setFormatter(logging.Formatter("warehouse: %(message)s"))
    else:
        handler.setFormatter(_UTC("%(asctime)s %(levelname)s warehouse: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def quiet() -> None:
    log.setLevel(logging.WARNING)


def verbose() -> None:
    log.setLevel(logging.DEBUG)
