"""SQL a user types (`warehouse query`, wh.sql, wh.fetch) reads the warehouse and nothing
else: no file read or written, no ATTACH of a source, no INSTALL or LOAD, no SET. Each
escape is a one-line error, and the warehouse and the source are byte for byte as before."""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner

import warehouse
from warehouse.cli import cli
from warehouse.errors import WarehouseError

ESCAPES = [
    "COPY (SELECT * FROM core.users) TO '{out}'",
    "COPY (SELECT 1) TO '{db}'",
    "EXPORT DATABASE '{folder}'",
    "ATTACH '{source}' AS s (TYPE sqlite, READ_WRITE)",
    "ATTACH '{source}' AS s",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_blob('{source}')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM '{source}'",
    "INSTALL httpfs",
    "LOAD sqlite_scanner",
    "LOAD '{extension}'",
    "SET threads = 1",
    "SET enable_external_access = true",
    "RESET lock_configuration",
]


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def paths(demo_dir, tmp_path_factory):
    from pathlib import Path

    import duckdb
    import duckdb_extension_sqlite

    out = tmp_path_factory.mktemp("escape")
    wheel = Path(duckdb_extension_sqlite.__file__).parent / "extensions"
    return {"db": demo_dir / "usage.duckdb", "source": demo_dir / "webui.db",
            "out": out / "people.csv", "folder": out / "export",
            "extension": wheel / f"v{duckdb.__version__}" / "sqlite.duckdb_extension"}


@pytest.mark.parametrize("escape", ESCAPES)
def test_typed_sql_reads_the_warehouse_and_nothing_else(demo_dir, paths, escape):
    sql = escape.format(**paths)
    before = sha(paths["db"]), sha(paths["source"])
    result = CliRunner().invoke(cli, ["--config", str(demo_dir / "warehouse.toml"), "query",
                                      sql])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith("Error: query failed:"), lines[0]
    with warehouse.open(paths["db"]) as wh:
        for call in (wh.sql, wh.fetch):
            with pytest.raises(WarehouseError, match="query failed"):
                call(sql)
        assert wh.fetch("SELECT count(*) FROM core.users")[1][0][0] > 0  # still reads
    assert (sha(paths["db"]), sha(paths["source"])) == before
    assert not paths["out"].exists() and not paths["folder"].exists()


def test_reports_and_queries_still_work_beside_each_other(demo_dir):
    """Two readers of one file in one process share its locked settings."""
    with warehouse.open(demo_dir / "usage.duckdb") as first, \
            warehouse.open(demo_dir / "usage.duckdb") as second:
        assert first.report("summary")["total_messages"][0] == \
            second.sql("SELECT sum(messages) AS n FROM marts.usage_hourly "
                       "WHERE model_id IS NOT NULL")["n"][0]


@pytest.mark.parametrize("command", [
    ["report", "summary", "--output", "{target}"],
    ["report", "daily", "--chart", "{target}"],
    ["query", "select 1", "--output", "{target}"],
    ["dashboard", "--output", "{target}"],
])
@pytest.mark.parametrize("target", ["usage.duckdb", "usage.duckdb.lock", "webui.db",
                                    ".usage.duckdb.building", "link-to-source.db"])
def test_an_output_never_lands_on_the_warehouse_or_a_source(demo_dir, command, target):
    link = demo_dir / "link-to-source.db"
    if not link.exists():
        link.symlink_to(demo_dir / "webui.db")
    before = sha(demo_dir / "usage.duckdb"), sha(demo_dir / "webui.db")
    args = [a.format(target=demo_dir / target) for a in command]
    result = CliRunner().invoke(cli, ["--config", str(demo_dir / "warehouse.toml"), *args])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert "choose another file" in lines[0], lines[0]
    assert (sha(demo_dir / "usage.duckdb"), sha(demo_dir / "webui.db")) == before


def test_every_file_the_tool_writes_for_people_is_owner_only(demo_dir, tmp_path):
    config = str(demo_dir / "warehouse.toml")
    runner = CliRunner()
    written = {"report": tmp_path / "users.csv", "parquet": tmp_path / "users.parquet",
               "chart": tmp_path / "daily.png", "query": tmp_path / "q.json",
               "dashboard": tmp_path / "d.html"}
    for args in (["report", "users", "--format", "csv", "--output", written["report"]],
                 ["report", "users", "--format", "parquet", "--output", written["parquet"]],
                 ["report", "daily", "--chart", written["chart"]],
                 ["query", "select * from core.users", "--format", "json", "--output",
                  written["query"]],
                 ["dashboard", "--output", written["dashboard"]],
                 ["export", "--output", tmp_path / "export"]):
        result = runner.invoke(cli, ["--config", config, *map(str, args)])
        assert result.exit_code == 0, result.output
    for path in written.values():
        assert path.stat().st_mode & 0o777 == 0o600, path
    export = [tmp_path / "export", *(tmp_path / "export").rglob("*")]
    assert len(export) > 10
    for path in export:
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path


def test_output_mode_shares_what_it_writes_with_a_group_when_asked(demo_dir, tmp_path):
    config = tmp_path / "warehouse.toml"
    config.write_text(f'[warehouse]\ndb = "{demo_dir / "usage.duckdb"}"\n'
                      'output_mode = "0640"\n')
    runner = CliRunner()
    report = tmp_path / "users.csv"
    for args in (["report", "users", "--format", "csv", "--output", report],
                 ["export", "--output", tmp_path / "export"]):
        result = runner.invoke(cli, ["--config", str(config), *map(str, args)])
        assert result.exit_code == 0, result.output
    assert report.stat().st_mode & 0o777 == 0o640
    for path in [tmp_path / "export", *(tmp_path / "export").rglob("*")]:
        if path.name != ".lock":  # the export's own lock stays the owner's
            assert path.stat().st_mode & 0o777 == (0o750 if path.is_dir() else 0o640), path
    for wrong in ("0755", "0440", "rw-r-----", "640x"):
        config.write_text(f'[warehouse]\ndb = "{demo_dir / "usage.duckdb"}"\n'
                          f'output_mode = "{wrong}"\n')
        result = runner.invoke(cli, ["--config", str(config), "report", "summary"])
        lines = result.output.strip().splitlines()
        assert result.exit_code == 1 and len(lines) == 1, result.output
        assert "output_mode must be an octal mode" in lines[0], lines[0]
