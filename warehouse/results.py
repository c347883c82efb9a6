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

    def without(self, dropped: set[str]) -> Result:
        """The same answer without the columns named in `dropped`."""
        if not dropped & set(self.columns):
            return self
        keep = [i for i, c in enumerate(self.columns) if c not in dropped]
        return Result(self.name, [self.columns[i] for i in keep],
                      [tuple(row[i] for i in keep) for row in self.rows], self.notes)
