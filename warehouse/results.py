"""A report's answer: what reports produce and what output, charts and pseudonyms read."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Result:
    name: str
    columns: list[str]
    rows: list[tuple]
    notes: list[str] = field(default_factory=list)

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]
