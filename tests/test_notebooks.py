"""The analyst notebooks run top to bottom on the demo warehouse, in a real Jupyter kernel,
and every chart they draw renders."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# notebook -> the charts it draws (a chart that silently disappears fails the test)
CHARTS = {"usage_overview": 4, "cost_chargeback": 4, "active_users_retention": 5}
DATA_MARK = re.compile(r'role="graphics-symbol" aria-roledescription="(bar|point|rect mark|'
                       r'area mark|line mark)"')


def test_every_notebook_is_listed_and_kept_without_outputs():
    assert {p.stem for p in NOTEBOOKS.glob("*.ipynb")} == set(CHARTS)
    for path in NOTEBOOKS.glob("*.ipynb"):
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), path


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_notebook_runs_and_draws_its_charts(name, demo_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_DB", str(demo_dir / "usage.duckdb"))
    monkeypatch.setenv("WAREHOUSE_EXPORT_DIR", str(tmp_path / "exports"))
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    # raises CellExecutionError, naming the cell, on any error
    NotebookClient(book, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()

    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    svgs = [o.data["image/svg+xml"] for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == CHARTS[name]
    for svg in svgs:
        ET.fromstring(svg)
        assert DATA_MARK.search(svg), "a chart without data marks"
    if name == "cost_chargeback":
        exported = sorted(p.name for p in (tmp_path / "exports").iterdir())
        assert exported[0] == "chargeback_Students.csv"
        assert exported[1] == "costs_by_group_monthly.csv"
