"""usage-warehouse: a DuckDB analytics warehouse for LLM usage.

    import warehouse
    wh = warehouse.open("usage.duckdb")
    wh.report("users", since="2026-10-01", tz="Europe/Berlin")
"""

from __future__ import annotations

__all__ = ["open"]


def open(path):  # noqa: A001 - mirrors the built-in on purpose: warehouse.open(path)
    """Open a warehouse file read-only (see warehouse.api.Warehouse)."""
    from warehouse.api import open as _open

    return _open(path)
