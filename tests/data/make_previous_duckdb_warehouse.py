"""Make tests/data/warehouse-duckdb-1.4.5.duckdb.gz: a warehouse file written by the previous
DuckDB minor release, for the upgrade test (tests/test_restore.py).

The warehouse is built with this install (the sample of `sample.generate(**SAMPLE)`), moved
through EXPORT DATABASE, and imported by DuckDB 1.4.5 in another interpreter, which writes
the file in its own storage format. Run once, by hand:

    python3 -m venv /tmp/v14 && /tmp/v14/bin/pip install duckdb==1.4.5
    python tests/data/make_previous_duckdb_warehouse.py /tmp/v14/bin/python
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from warehouse import sample

PREVIOUS = "1.4.5"
SAMPLE = {"seed": 5, "users": 4, "days": 6, "chats_per_user": 3}
TARGET = Path(__file__).with_name(f"warehouse-duckdb-{PREVIOUS}.duckdb.gz")

# The tables only, in DuckDB 1.4.5's storage format: the staging views and macros are
# SQL this install's models define, which 1.4.5 does not all accept; the first job on
# the file creates them again (as it does for any model missing from a file).
_IMPORT = """
import duckdb, pathlib, re, sys
assert duckdb.__version__ == sys.argv[3], duckdb.__version__
schema = pathlib.Path(sys.argv[2]) / "schema.sql"
statements = [s for s in schema.read_text().split(";\\n")
              if re.match(r"\\s*CREATE (SCHEMA|TABLE)", s)]
schema.write_text(";\\n".join(statements) + ";\\n")
con = duckdb.connect(sys.argv[1])
con.execute(f"IMPORT DATABASE '{sys.argv[2]}'")
con.execute("UPDATE _warehouse.meta SET value = ? WHERE key = 'duckdb_version'", [sys.argv[3]])
con.execute("CHECKPOINT")
con.close()
"""


def main(previous_python: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        conn = sqlite3.connect(folder / "webui.db")
        sample.write(conn, sample.generate(**SAMPLE))
        conn.close()
        current = folder / "current.duckdb"
        subprocess.run([sys.executable, "-m", "warehouse.cli", "--db", str(current), "ingest",
                        "--url", str(folder / "webui.db")], check=True)
        subprocess.run([sys.executable, "-m", "warehouse.cli", "--db", str(current), "build"],
                       check=True)
        con = duckdb.connect(str(current))
        con.execute(f"EXPORT DATABASE '{folder / 'dump'}' (FORMAT parquet)")
        con.close()
        old = folder / "previous.duckdb"
        subprocess.run([previous_python, "-c", _IMPORT, str(old), str(folder / "dump"),
                        PREVIOUS], check=True)
        with open(old, "rb") as raw, gzip.open(TARGET, "wb", compresslevel=9) as packed:
            shutil.copyfileobj(raw, packed)
    print(f"wrote {TARGET} ({TARGET.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
