"""Giving freed memory back to the system during a job (glibc's malloc, Linux).

A first copy streams the source through Arrow: each read is a few MB to tens of MB,
allocated by the reader's DuckDB on one thread and freed on another once inserted.
glibc's malloc raises its mmap threshold each time such a block is freed (up to 32 MB),
so later blocks come from the heap's arenas instead, and freed arena memory between live
blocks is not returned: a "full" content first copy of 1M realistic events peaked at
1.8 GB though DuckDB itself held under 0.8 GB. A fixed threshold keeps every block of
1 MB or more in a mapping of its own, unmapped the moment it is freed (the same copy:
1.27 GB, as fast). Setting it also stops the threshold from moving.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>
MMAP_THRESHOLD = 1 << 20
_done = False


def return_freed_memory() -> bool:
    """Fix glibc's mmap threshold at 1 MB, once per process; False where there is no
    glibc (macOS, musl), which keeps its own policy."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return _done
