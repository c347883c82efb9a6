"""What a source kind declares about each table it copies."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableSpec:
    """One source table: how to find new rows and how to merge them.

    `cursor_kind` is 'epoch' (integer seconds, legacy rows may hold milliseconds) or
    'timestamp'; a table without a cursor is read whole on every run (small tables).
    `columns` are the columns the models read: a source version that lacks one of the
    `required` ones is refused; the others are added as NULL so models always compile.
    """

    name: str
    key: tuple[str, ...]
    columns: dict[str, str]
    required: tuple[str, ...] = ()
    cursor: str | None = None
    cursor_kind: str | None = None
    optional: bool = False
    # Columns copied only when the source lacks `heavy_unless_table` (stored as NULL
    # otherwise): large payloads that another table already holds.
    heavy_columns: tuple[str, ...] = ()
    heavy_unless_table: str | None = None
    # Columns never copied: message contents, passwords and other payloads the models
    # do not read (privacy and size).
    skip_columns: tuple[str, ...] = ()
    # How far before the watermark a run re-reads: rows may land late (e.g. LiteLLM
    # writes spend logs in batches, dated by the request's start).
    overlap_seconds: int = 300
    # Where a person appears, for `warehouse forget`: rows whose `person_columns` hold the
    # person's id or email are theirs (removed); `person_refs` name them in a row that is
    # not theirs (set to NULL: a key's owner); `person_lists` are JSON lists of user ids
    # (the person is taken out); rows whose `chat_column` names one of the person's chats
    # go with the chat.
    person_columns: tuple[str, ...] = ()
    person_refs: tuple[str, ...] = ()
    person_lists: tuple[str, ...] = ()
    chat_column: str | None = None


@dataclass(frozen=True)
class SourceKind:
    """A kind of source (an app's database): its tables and the tables that identify it."""

    name: str
    tables: tuple[TableSpec, ...]
    identifying_tables: tuple[str, ...]
    description: str  # with its article: "a LiteLLM proxy database"
    versions: str  # the versions whose schemas are known (and tested): "Open WebUI 0.5-0.12"
    dialects: tuple[str, ...] = ("sqlite", "postgres")
