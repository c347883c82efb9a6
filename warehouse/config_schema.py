"""What warehouse.toml may hold: every key, its type and its values, declared once.

A key the schema does not know is an error naming the file, the line and the nearest
known key (`pseudonymise = true` would otherwise run with real names shown), and so is
a value of the wrong type. A small declarative table, not a library: the config is read
by every command, and pydantic alone adds 0.13 s to each start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import WarehouseError, did_you_mean


@dataclass(frozen=True)
class Key:
    kind: type  # str, bool, int or list (of texts matching `pattern`)
    meaning: str  # what a valid value is, for the message
    choices: tuple = ()
    low: int | None = None
    high: int | None = None
    pattern: str | None = None


WAREHOUSE_KEYS = {
    "db": Key(str, "a file path"),
    "prices": Key(str, "a file path"),
    "models": Key(str, "a folder path"),
    "pseudonymize": Key(bool, "true or false"),
    "keep": Key(int, "a whole number of snapshots from 0 to 100", low=0, high=100),
    "output_mode": Key(str, 'an octal file mode in quotes that lets the owner read and '
                            'write and executes nothing, e.g. "0640"'),
}
SOURCE_KEYS = {
    "kind": Key(str, '"openwebui" or "litellm"', choices=("openwebui", "litellm")),
    "url": Key(str, 'a URL in quotes, e.g. "sqlite:////srv/webui.db"'),
    "routed_through": Key(str, "the name of a [sources.NAME] of kind litellm"),
    "match_window_seconds": Key(int, "a whole number of seconds from 1 to 3600", low=1,
                                high=3600),
    "content": Key(str, '"none", "preview" or "full" (how much of the users\' text is kept)',
                   choices=("none", "preview", "full")),
}
SERVE_KEYS = {
    "api_keys": Key(list, 'a list of key hashes in quotes, each "sha256:" and 64 hex digits '
                          "(warehouse new-api-key prints one)",
                    pattern=r"sha256:[0-9a-f]{64}"),
    "openwebui_secret_key_file": Key(str, "a file path (a file holding Open WebUI's "
                                          "WEBUI_SECRET_KEY)"),
}
SECTIONS = ("warehouse", "sources", "serve")


def check(data: dict, text: str, path: Path) -> None:
    """Raise a one-line error for the first key or value the schema refuses."""
    where = _Lines(text, path)
    for section, value in data.items():
        if section not in SECTIONS:
            raise where.error(section, None, f"unknown section [{section}]"
                              + did_you_mean(section, SECTIONS) + f" (sections: "
                              f"{', '.join(SECTIONS)})")
        if not isinstance(value, dict):
            raise where.error(section, None, f"{section} must be a [{section}] section, not "
                              f"{_shown(value)}")
    _check_table(where, "warehouse", data.get("warehouse", {}), WAREHOUSE_KEYS)
    _check_table(where, "serve", data.get("serve", {}), SERVE_KEYS)
    for name, source in data.get("sources", {}).items():
        if not isinstance(source, dict):
            raise where.error("sources", name, f"[sources] {name} must be a [sources.{name}] "
                              f"section, not {_shown(source)}")
        if "url" not in source:
            raise where.error(f"sources.{name}", None,
                              f"[sources.{name}] needs url = \"...\"")
        _check_table(where, f"sources.{name}", source, SOURCE_KEYS)


def _check_table(where: _Lines, section: str, table: dict, keys: dict[str, Key]) -> None:
    for key, value in table.items():
        spec = keys.get(key)
        if spec is None:
            raise where.error(section, key, f"unknown key {key!r} in [{section}]"
                              + did_you_mean(key, keys) + f" (keys: {', '.join(keys)})")
        wrong_type = not isinstance(value, spec.kind) or (
            spec.kind is int and isinstance(value, bool))
        out_of_range = not wrong_type and (
            (spec.kind is list and not all(isinstance(v, str) and re.fullmatch(spec.pattern, v)
                                           for v in value))
            or (spec.choices and value not in spec.choices)
            or (spec.low is not None and not spec.low <= value <= spec.high)
            or (spec.kind is str and (not value.strip() or "\x00" in value)))
        if wrong_type or out_of_range:
            hint = did_you_mean(value, spec.choices) if spec.choices and not wrong_type else ""
            raise where.error(section, key, f"[{section}] {key} must be {spec.meaning}, not "
                              f"{_shown(value)}{hint}")


def _shown(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value) if isinstance(value, str) else str(value)


class _Lines:
    """Finds the line a key stands on (tomllib gives values, not positions)."""

    _HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")

    def __init__(self, text: str, path: Path):
        self.lines, self.path = text.splitlines(), path

    def error(self, section: str, key: str | None, message: str) -> WarehouseError:
        line = self._find(section, key)
        return WarehouseError(f"{self.path}{f':{line}' if line else ''}: {message}")

    def _find(self, section: str, key: str | None) -> int | None:
        current: list[str] = []
        wanted = [p.strip().strip('"') for p in section.split(".")]
        for number, line in enumerate(self.lines, 1):
            header = self._HEADER.match(line)
            if header:
                current = [p.strip().strip('"') for p in header.group(1).split(".")]
                if key is None and current == wanted:
                    return number
                continue
            match = re.match(r'^\s*"?([A-Za-z0-9_.-]+)"?\s*=', line)
            if match is None:
                continue
            dotted = [p.strip().strip('"') for p in match.group(1).split(".")]
            if key is not None and [*current, *dotted] == [*wanted, key]:
                return number
            if key is None and [*current, *dotted][: len(wanted)] == wanted:
                return number
        return None
