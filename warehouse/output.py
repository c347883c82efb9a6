"""Writing a report's rows as a terminal table, JSON, CSV or Parquet."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from warehouse.errors import WarehouseError, did_you_mean

FORMATS = ("table", "json", "csv", "parquet")


def plain(value):
    """A value as JSON has it: exact decimals as numbers, dates as ISO text."""
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def to_json(columns: list[str], rows: list[tuple]) -> str:
    """An array of flat row objects (the upstream analytics APIs' field names)."""
    records = [{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    return json.dumps(records, indent=2, ensure_ascii=False)


def to_csv(columns: list[str], rows: list[tuple]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else plain(v) for v in row])
    return buffer.getvalue()


def checked_format(fmt: str) -> str:
    """--format, any case; a misspelling gets a suggestion."""
    lowered = fmt.strip().lower()
    if lowered not in FORMATS:
        raise WarehouseError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}"
                             + did_you_mean(lowered, FORMATS))
    return lowered


def number_text(value: float | Decimal) -> str:
    """Two decimals, or as many as it takes to show two significant digits of a small
    non-zero amount (0.003654 EUR is 0.0037, never 0.00)."""
    if value and abs(value) < Decimal("0.005"):
        digits = 1 - Decimal(abs(value)).adjusted()
        return f"{value:,.{min(digits, 12)}f}"
    return f"{value:,.2f}"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        return number_text(value)
    return str(plain(value))


def to_table(columns: list[str], rows: list[tuple], width: int | None = None) -> str:
    """Aligned columns, numbers right-aligned with thousands separators; text columns are
    cut (with "...") so that each line fits `width` characters, when a width is given."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(r[i], int | float | Decimal) and not isinstance(r[i], bool)
                   for r in rows if r[i] is not None) and any(r[i] is not None for r in rows)
               for i in range(len(columns))]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if width:
        widths = _fit(widths, numeric, width)
    cut = [[_cut(v, w) for v, w in zip(row, widths, strict=True)]
           for row in [list(columns), *cells]]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(cut[0]), line(["-" * w for w in widths])]
    out += [line(r) for r in cut[1:]]
    if not rows:
        out.append("(no rows)")
    return "\n".join(out) + "\n"


MIN_TEXT_WIDTH = 8


def _fit(widths: list[int], numeric: list[bool], width: int) -> list[int]:
    """Narrow the widest text column, one character at a time, until the line fits;
    numbers are never cut."""
    widths = list(widths)
    while sum(widths) + 2 * (len(widths) - 1) > width:
        text = [i for i, w in enumerate(widths) if not numeric[i] and w > MIN_TEXT_WIDTH]
        if not text:
            break
        widest = max(text, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def terminal_width() -> int | None:
    """The terminal's width when standard output is one; pipes and files get whole rows."""
    import shutil
    import sys

    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def write_parquet(columns: list[str], rows: list[tuple], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(
        [dict(zip(columns, row, strict=True)) for row in rows],
        schema=None if rows else pa.schema([(c, pa.string()) for c in columns]))
    pq.write_table(table, path)


def render(columns: list[str], rows: list[tuple], fmt: str, output: str | None,
           width: int | None = None) -> str | None:
    """Return text for standard output (tables fitted to `width`), or write `output` and
    return None."""
    fmt = checked_format(fmt)
    if fmt == "parquet":
        if not output:
            raise WarehouseError("--format parquet needs --output FILE")
        _check_output(output)
        write_parquet(columns, rows, Path(output))
        return None
    text = (to_table(columns, rows, None if output else width) if fmt == "table"
            else {"json": to_json, "csv": to_csv}[fmt](columns, rows))
    if fmt == "json":
        text += "\n"
    if output:
        _check_output(output)
        Path(output).write_text(text)
        return None
    return text


def _check_output(output: str) -> None:
    parent = Path(output).resolve().parent
    if not parent.is_dir():
        raise WarehouseError(f"--output {output}: folder {parent} does not exist")
