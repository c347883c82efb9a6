"""`warehouse demo`: a sample Open WebUI database and the whole pipeline run on it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from warehouse import sample
from warehouse.errors import WarehouseError

DEMO_CONFIG = """# Written by `warehouse demo`. The nightly job is:
#   warehouse --config {config} run
[warehouse]
db = "usage.duckdb"

[sources.demo]
kind = "openwebui"
url = "sqlite:///webui.db"
"""


def create(folder: Path, seed: int = 7) -> tuple[Path, Path]:
    """Write folder/webui.db (a fresh sample Open WebUI database) and folder/warehouse.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    webui = folder / "webui.db"
    for stale in (webui, folder / "usage.duckdb", folder / "usage.duckdb.wal"):
        if stale.exists():
            stale.unlink()
    try:
        conn = sqlite3.connect(webui)
        sample.write(conn, sample.generate(seed=seed))
        conn.close()
    except (sqlite3.Error, OSError) as exc:
        raise WarehouseError(f"cannot write the demo database {webui}: {exc}") from None
    config = folder / "warehouse.toml"
    config.write_text(DEMO_CONFIG.format(config=config))
    return webui, config
