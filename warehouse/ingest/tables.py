"""What a source kind declares about each table it copies."""

from __future__ import annotations

from dataclasses import dataclass, field

PREVIEW_COLUMN = "preview"


@dataclass(frozen=True)
class Derived:
    """A fact about a text column that the source computes in its own query, so the text
    itself never leaves it. SQL per dialect over `{c}`, the quoted column; `duckdb` is
    the same fact computed from a copy the warehouse already holds (older warehouses).
    `json` facts need a JSON-typed column on PostgreSQL (NULL otherwise: a cast of
    malformed text would fail the read)."""

    name: str
    column: str
    dtype: str
    sqlite: str
    postgres: str
    duckdb: str
    json: bool = False


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
    # A cursor that misses late edits of older rows: the whole table is read again when
    # its last whole read is this many days old.
    reconcile_days: int | None = None
    # (parent table, column naming its row): a row is read again when its parent row's
    # cursor moves (Open WebUI writes a chat's updated_at with each of its messages)
    changed_with: tuple[str, str] | None = None
    # Where a person appears, for `warehouse forget`: rows whose `person_columns` hold the
    # person's id or email are theirs (removed); `person_refs` name them in a row that is
    # not theirs (set to NULL: a key's owner); `person_lists` are JSON lists of user ids
    # (the person is taken out); rows whose `chat_column` names one of the person's chats
    # go with the chat.
    person_columns: tuple[str, ...] = ()
    person_refs: tuple[str, ...] = ()
    person_lists: tuple[str, ...] = ()
    chat_column: str | None = None
    # Text the users wrote or read (warehouse/ingest/content.py): column -> the least
    # content mode that keeps it ("preview" or "full"); NULL in the other modes.
    text_columns: dict[str, str] = field(default_factory=dict)
    derived: tuple[Derived, ...] = ()
    # JSON columns reduced to these keys unless the mode is "full" (a feedback's data
    # keeps its rating and model, not the comment)
    kept_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The column whose first user message per chat is kept as a preview (chat_message)
    preview_of: str | None = None
    # What the rows that may be a chat's first user message hold (column -> value, None
    # for NULL): a first copy from SQLite cuts their previews in its own pass
    # (content.with_first_previews) instead of looking each chat's first message up.
    preview_roots: dict[str, str | None] = field(default_factory=dict)
    # The JSON column holding the messages of versions without chat_message: they are
    # copied into raw chat_message as rows (chat), the JSON only kept in "full" mode
    history_in: str | None = None

    @property
    def raw_columns(self) -> dict[str, str]:
        """The columns of the raw table: the source's, the derived facts, the preview."""
        extra = {d.name: d.dtype for d in self.derived}
        if self.preview_of:
            extra[PREVIEW_COLUMN] = "VARCHAR"
        return dict(self.columns) | extra


@dataclass(frozen=True)
class SourceKind:
    """A kind of source (an app's database): its tables and the tables that identify it."""

    name: str
    tables: tuple[TableSpec, ...]
    identifying_tables: tuple[str, ...]
    description: str  # with its article: "a LiteLLM proxy database"
    versions: str  # the versions whose schemas are known (and tested): "Open WebUI 0.5-0.12"
    dialects: tuple[str, ...] = ("sqlite", "postgres")
