"""Where a figure comes from: report -> marts -> core -> staging -> raw source tables.

The models' dependencies come from their SQL (sqlglot, warehouse/models.py); a report's
from the SQL files it may run (its own, its fast paths, its compat modes, the snippets
they include, and the fact relations its grain reads), by the schema-qualified names in
them.
"""

from __future__ import annotations

import re
from importlib import resources

from warehouse.models import Model
from warehouse.reports import RELATIONS
from warehouse.reports.catalog import REPORTS

_QUALIFIED = re.compile(r'\b(marts|core|staging|raw_[a-z0-9_]+|_warehouse)\."?([A-Za-z0-9_]+)"?')


def _file(name: str) -> str:
    folder = resources.files("warehouse.reports")
    return folder.joinpath(name).read_text() if folder.joinpath(name).is_file() else ""


def report_reads(name: str) -> set[str]:
    """The tables and views a report may read directly."""
    spec = REPORTS[name]
    stem = name.replace("-", "_")
    files = [file for mode in (None, *spec.compat) for variant in spec.variants(stem, mode)
             for file in variant.files(mode)]
    if spec.grain != "credits":
        files += ["facts.sql", "_tag_days.sql", *RELATIONS.values()]
    text = "\n".join(_file(f) for f in files)
    return {f"{schema}.{table}" for schema, table in _QUALIFIED.findall(text)}


def upstream(models: dict[str, Model], tables: set[str]) -> list[str]:
    """Every model and source table `tables` rest on, marts first, raw tables last."""
    seen: set[str] = set()
    todo = list(tables)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in models:
            todo += models[name].depends_on | models[name].external
    layer = {"marts": 0, "core": 1, "staging": 2}
    return sorted(seen, key=lambda n: (layer.get(n.split(".")[0], 3), n))


def chain(models: dict[str, Model], name: str) -> list[tuple[str, str]]:
    """(layer, names) rows for a report or a model, from what it reads down to raw."""
    reads = report_reads(name) if name in REPORTS else (
        models[name].depends_on | models[name].external)
    rows = []
    for prefix, label in (("marts.", "marts"), ("core.", "core"), ("staging.", "staging"),
                          ("raw_", "raw (copied from the sources)"),
                          ("_warehouse.", "warehouse inputs (prices, routes, ...)")):
        names = [n for n in upstream(models, reads) if n.startswith(prefix)]
        if names:
            rows.append((label, ", ".join(names)))
    return rows
