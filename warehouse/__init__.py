"""usage-warehouse: a DuckDB analytics warehouse for LLM usage.

    import warehouse
    wh = warehouse.open("usage.duckdb")
    wh.report("users", since="2026-10-01", tz="Europe/Berlin")
"""

from __future__ import annotations

__all__ = ["__version__", "open"]


def open(path, pseudonymize=None):  # noqa: A001 - mirrors the built-in: warehouse.open(path)
    """Open a warehouse file read-only (see warehouse.api.Warehouse)."""
    from warehouse.api import open as _open

    return _open(path, pseudonymize)


def __getattr__(name: str):
    # the installed distribution's version, read only when asked (start-up stays fast)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("usage-warehouse")
        except PackageNotFoundError:
            return "0+unknown"
    raise AttributeError(f"module 'warehouse' has no attribute {name!r}")
