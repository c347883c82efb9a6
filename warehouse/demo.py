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
prices = "prices.toml"

[sources.demo]
kind = "openwebui"
url = "sqlite:///webui.db"
"""


DEMO_PRICES = """# Written by `warehouse demo`: prices per million tokens, in force from valid_from
# (UTC) until the same model's next entry. See README, "Prices and costs".
currency = "EUR"  # cost reports convert to it unless --currency says otherwise

[[price]]
model = "gpt-4o*"
input = 2.50
output = 10.00
cached_input = 1.25
currency = "USD"
valid_from = 2024-05-13

[[price]]
model = "claude-sonnet-4*"
input = 3.00
output = 15.00
currency = "USD"
valid_from = 2025-05-22

# self-hosted models: what an hour of the GPU server costs, spread over its tokens
[[price]]
model = "llama3.1:8b"
input = 0.05
output = 0.05
currency = "EUR"

[[price]]
model = "qwen2.5:14b"
input = 0.08
output = 0.08
currency = "EUR"

[[price]]
model = "mistral-small"
input = 0.10
output = 0.30
currency = "EUR"

[[rate]]
from = "USD"
to = "EUR"
rate = 0.92
valid_from = 2024-01-01

[[rate]]
from = "EUR"
to = "USD"
rate = 1.087
valid_from = 2024-01-01
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
    (folder / "prices.toml").write_text(DEMO_PRICES)
    return webui, config
