"""The reference pages in docs/, written from what the code declares, so they cannot drift:
docs/reports.md from the report declarations (warehouse/reports/catalog.py, options.py)
and docs/models.md from the model files and a built warehouse's columns. `warehouse docs`
writes them; a test checks the committed pages equal what the code writes today.
"""

from __future__ import annotations

from pathlib import Path

from warehouse import lineage, models
from warehouse.reports.catalog import REPORTS
from warehouse.reports.options import OPTIONS

GENERATED = "<!-- written by `warehouse docs` from the code; edit the code, not this page -->"


def reports_page(found: dict[str, models.Model]) -> str:
    lines = [GENERATED, "", "# Reports", "",
             "`warehouse report NAME [options]`, `wh.report(\"NAME\", ...)` in Python. Every "
             "report refuses an option it does not list here.", ""]
    for name in sorted(REPORTS):
        spec = REPORTS[name]
        lines += [f"## {name}", "", spec.description[0].upper() + spec.description[1:] + ".",
                  ""]
        defaults = []
        if spec.default_limit:
            defaults.append(f"--limit {spec.default_limit}")
        if "granularity" in spec.options:
            defaults.append(f"--granularity {spec.default_granularity}")
        if defaults:
            lines += [f"Defaults: {', '.join(f'`{d}`' for d in defaults)}.", ""]
        lines += ["| option | meaning |", "|---|---|"]
        for option in sorted(spec.honoured(None)):
            declared = OPTIONS[option]
            choices = spec.choices.get(option) or declared.choices
            shown = f" ({', '.join(map(str, choices))})" if choices else ""
            lines.append(f"| `{declared.flag}` | {declared.help}{shown} |")
        lines.append("")
        for mode, honoured in sorted(spec.compat.items()):
            lines += [f"`--compat {mode}` answers as the upstream app does and takes: "
                      + ", ".join(f"`{OPTIONS[o].flag}`" for o in sorted(honoured)) + ".", ""]
        lines += ["Where its figures come from:", ""]
        lines += [f"- {layer}: {names}" for layer, names in lineage.chain(found, name)]
        lines.append("")
    return "\n".join(lines)


def models_page(found: dict[str, models.Model], con) -> str:
    """Each model by layer and name: what it holds, how it is built, what it reads, its
    columns."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, dtype in con.execute(
            "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name IN "
            "('staging', 'core', 'marts') ORDER BY schema_name, table_name, "
            "column_index").fetchall():
        columns.setdefault(f"{schema}.{table}", []).append((column, dtype))
    lines = [GENERATED, "", "# Models", "",
             "The SQL models in `warehouse/models_sql/`: the marts reports read, the core "
             "facts, the staging views over the raw tables (each model is built after what it "
             "reads). Columns as a built warehouse holds them.", ""]
    for layer in ("marts", "core", "staging"):
        lines += [f"## {layer}", ""]
        for name in sorted(n for n in found if n.startswith(layer + ".")):
            model = found[name]
            built = model.materialized + (
                f", incremental by {model.incremental}" if model.incremental else
                f", extended by each build with the {model.key[1]} values not yet keyed"
                if model.key else "")
            lines += [f"### {name}", "", models.description(model) or "(no description)", "",
                      f"Built as a {built}; file `warehouse/models_sql/"
                      f"{model.path.parent.name}/{model.path.name}`. Reads: "
                      + ", ".join(f"`{t}`" for t in sorted(model.depends_on | model.external))
                      + ".", ""]
            if name in columns:
                lines += ["| column | type |", "|---|---|"]
                lines += [f"| `{c}` | {t} |" for c, t in columns[name]]
                lines.append("")
    return "\n".join(lines)


def write(folder: Path, con, found: dict[str, models.Model]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pages = {"reports.md": reports_page(found), "models.md": models_page(found, con)}
    for name, text in pages.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    return [folder / name for name in pages]
