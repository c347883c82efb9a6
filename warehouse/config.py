"""warehouse.toml: where the sources are, which kind each is, and warehouse-wide settings."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from warehouse import config_schema, files
from warehouse.errors import WarehouseError, redact

KINDS = ("openwebui", "litellm")
DEFAULT_DB = "usage.duckdb"
DEFAULT_CONFIG = "warehouse.toml"


@dataclass(frozen=True)
class SourceURL:
    """A parsed source location; `dsn` may hold a password and must never be printed."""

    dialect: str  # 'sqlite' | 'postgres'
    path: Path | None = None
    dsn: str = ""
    password: str = ""

    def display(self) -> str:
        """A printable form with the password removed."""
        if self.dialect == "sqlite":
            return str(self.path)
        return redact(self.dsn, (self.password,))


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    url: SourceURL
    # the LiteLLM source this Open WebUI sends its model calls through, and how far apart
    # (seconds) the two records of one call may be dated
    routed_through: str | None = None
    match_window_seconds: int = 120
    # how much of the users' text is kept: "none", "preview" or "full" (ingest/content.py)
    content: str = "preview"


@dataclass
class Config:
    db: Path = Path(DEFAULT_DB)
    sources: dict[str, Source] = field(default_factory=dict)
    user_models: Path | None = None
    prices: Path | None = None  # the admin's price file, loaded by every build
    path: Path | None = None
    # Reports show stable pseudonyms instead of names and emails; None: as stored last
    pseudonymize: bool | None = None
    found_by: str | None = None  # how the config file was found, for messages
    # previously published files kept beside the warehouse (warehouse/snapshots.py)
    keep: int = 1
    # files written for people (reports, charts, dashboard, exports): owner-only by default
    output_mode: int = 0o600
    # [serve] api_keys: the hashes of the keys `warehouse serve` accepts (warehouse/serve/)
    api_key_hashes: tuple[str, ...] = ()
    # [serve] openwebui_secret_key_file: Open WebUI's signing key, to accept its admins'
    # session tokens (warehouse/serve/sessions.py)
    openwebui_secret_file: Path | None = None


def parse_url(url: str, base_dir: Path | None = None) -> SourceURL:
    """Parse `sqlite:///...`, a plain file path, or `postgresql://...`.

    SQLite URLs follow SQLAlchemy's (and so Open WebUI's DATABASE_URL) convention:
    `sqlite:////abs/path.db` is absolute, `sqlite:///rel/path.db` relative to the config file.
    """
    base_dir = base_dir or Path.cwd()
    lowered = url.lower()
    if lowered.startswith(("postgresql://", "postgres://", "postgresql+psycopg2://")):
        return _postgres_url(url)
    if lowered.startswith("sqlite:"):
        rest = url.split(":", 1)[1]
        if not rest.startswith("///"):
            raise WarehouseError(f"invalid SQLite URL {url!r}: expected sqlite:///path/to/webui.db")
        rest = rest[3:]
        path = Path(rest) if rest.startswith("/") else base_dir / rest
        if not rest.startswith("/") and not path.exists() and Path("/" + rest).exists():
            path = Path("/" + rest)
        return SourceURL("sqlite", path=path)
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise WarehouseError(
            f"unsupported source URL scheme {scheme!r}: use sqlite:///path or postgresql://..."
        )
    return SourceURL("sqlite", path=(base_dir / url) if not os.path.isabs(url) else Path(url))


def _postgres_url(url: str) -> SourceURL:
    """The credentials run to the URL's last '@', so a password that was not
    percent-encoded (holding ':', '/', '#' or '@') is still read whole; the DSN handed to
    libpq carries it encoded."""
    rest = url.split("://", 1)[1]
    userinfo, at, hostpart = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    user, password = unquote(user), unquote(password)
    try:
        urlsplit("postgresql://" + hostpart).port  # noqa: B018 - validates host and port
    except ValueError as exc:
        raise WarehouseError(f"invalid PostgreSQL URL {redact(url)}: {exc}") from None
    credentials = (quote(user, safe="") + (":" + quote(password, safe="") if colon else "")
                   + "@") if at else ""
    return SourceURL("postgres", dsn="postgresql://" + credentials + hostpart,
                     password=password)


def make_source(name: str, kind: str, url: str, base_dir: Path | None = None,
                content: str = "preview") -> Source:
    if kind not in KINDS:
        raise WarehouseError(
            f"source {name!r}: unknown kind {kind!r} (known: {', '.join(KINDS)})"
        )
    return Source(name=name, kind=kind, url=parse_url(url, base_dir), content=content)


def user_config_path() -> Path:
    """The user's own config: $XDG_CONFIG_HOME/usage-warehouse/warehouse.toml."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "usage-warehouse" / DEFAULT_CONFIG


def load(config_path: str | None, db: str | None) -> Config:
    """Read the config file named by --config, else $WAREHOUSE_CONFIG, else the first of
    ./warehouse.toml and the user's config folder that exists; command-line values win
    over it. `found_by` says which, for messages."""
    named_by = "--config"
    if not config_path and os.environ.get("WAREHOUSE_CONFIG"):
        config_path, named_by = os.environ["WAREHOUSE_CONFIG"], "WAREHOUSE_CONFIG"
    config = Config()
    if config_path:
        path = Path(config_path)
        if not path.is_file():
            raise WarehouseError(f"config file {path} ({named_by}) does not exist")
        config = _read(path)
        config.found_by = named_by
    else:
        for path, where in ((Path(DEFAULT_CONFIG), "the current folder"),
                            (user_config_path(), "the user's config folder")):
            if path.is_file():
                config = _read(path)
                config.found_by = where
                break
    if db:
        config.db = Path(db)
    if not config.db.name or config.db.is_dir():
        raise WarehouseError(f"warehouse {config.db} is a folder: name the warehouse file, "
                             f"e.g. {config.db / DEFAULT_DB}")
    if config.db.is_symlink():
        # jobs lock, copy and publish beside the real file, so that a job through the
        # link and one through the real path exclude each other and the link stays
        config.db = config.db.resolve()
    return config


def missing_warehouse(config: Config) -> str:
    """Why there is no warehouse where a reader looked: never built, or no config found."""
    if config.path is not None:
        return (f"warehouse {config.db} does not exist (config {config.path}, found by "
                f"{config.found_by}): run 'warehouse run' first")
    return (f"warehouse {config.db} does not exist, and no config file was found (looked "
            f"for ./{DEFAULT_CONFIG} and {user_config_path()}; WAREHOUSE_CONFIG is not set):"
            " pass --config FILE, or run 'warehouse demo' to try it")


def _read(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WarehouseError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WarehouseError(f"cannot read config file {path}: {exc}") from None
    config_schema.check(data, text, path)
    base = path.parent.resolve()
    settings = data.get("warehouse", {})
    config = Config(path=path, db=base / DEFAULT_DB)
    if "db" in settings:
        db = Path(settings["db"])
        config.db = db if db.is_absolute() else base / db
    if "prices" in settings:
        prices = Path(settings["prices"])
        config.prices = prices if prices.is_absolute() else base / prices
    if "models" in settings:
        models = Path(settings["models"])
        config.user_models = models if models.is_absolute() else base / models
    config.pseudonymize = settings.get("pseudonymize")
    config.keep = settings.get("keep", config.keep)
    if "output_mode" in settings:
        mode = files.parse_mode(settings["output_mode"])
        if mode is None:
            raise WarehouseError(
                f"{path}: [warehouse] output_mode must be an octal mode in quotes that lets "
                f"the owner read and write and executes nothing, e.g. \"0640\", not "
                f"{settings['output_mode']!r}")
        config.output_mode = mode
    config.api_key_hashes = tuple(data.get("serve", {}).get("api_keys", ()))
    if "openwebui_secret_key_file" in data.get("serve", {}):
        secret = Path(data["serve"]["openwebui_secret_key_file"])
        config.openwebui_secret_file = secret if secret.is_absolute() else base / secret
    for name, spec in data.get("sources", {}).items():
        kind = spec.get("kind", "openwebui")
        source = make_source(name, kind, spec["url"], base,
                             content=spec.get("content", "preview"))
        config.sources[name] = _with_route(path, source, spec)
    for source in config.sources.values():
        upstream = config.sources.get(source.routed_through or "")
        if source.routed_through and (upstream is None or upstream.kind != "litellm"):
            raise WarehouseError(
                f"{path}: [sources.{source.name}] routed_through = "
                f"{source.routed_through!r} must name a [sources.NAME] of kind \"litellm\"")
    return config


def _with_route(path: Path, source: Source, spec: dict) -> Source:
    routed = spec.get("routed_through")
    window = spec.get("match_window_seconds", 120)
    if routed is None and "match_window_seconds" not in spec:
        return source
    if source.kind != "openwebui" or routed is None:
        raise WarehouseError(f"{path}: [sources.{source.name}] routed_through = \"NAME\" "
                             "goes on an Open WebUI source and names its LiteLLM proxy")
    return dataclasses.replace(source, routed_through=routed, match_window_seconds=window)
