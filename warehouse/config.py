"""warehouse.toml: where the sources are, which kind each is, and warehouse-wide settings."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

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


@dataclass
class Config:
    db: Path = Path(DEFAULT_DB)
    sources: dict[str, Source] = field(default_factory=dict)
    user_models: Path | None = None
    prices: Path | None = None  # the admin's price file, loaded by every build
    path: Path | None = None
    # Reports show stable pseudonyms instead of names and emails; None: as stored last
    pseudonymize: bool | None = None


def parse_url(url: str, base_dir: Path | None = None) -> SourceURL:
    """Parse `sqlite:///...`, a plain file path, or `postgresql://...`.

    SQLite URLs follow SQLAlchemy's (and so Open WebUI's DATABASE_URL) convention:
    `sqlite:////abs/path.db` is absolute, `sqlite:///rel/path.db` relative to the config file.
    """
    base_dir = base_dir or Path.cwd()
    lowered = url.lower()
    if lowered.startswith(("postgresql://", "postgres://", "postgresql+psycopg2://")):
        parts = urlsplit(url)
        password = unquote(parts.password or "")
        dsn = "postgresql://" + url.split("://", 1)[1]
        return SourceURL("postgres", dsn=dsn, password=password)
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


def make_source(name: str, kind: str, url: str, base_dir: Path | None = None) -> Source:
    if kind not in KINDS:
        raise WarehouseError(
            f"source {name!r}: unknown kind {kind!r} (known: {', '.join(KINDS)})"
        )
    return Source(name=name, kind=kind, url=parse_url(url, base_dir))


def load(config_path: str | None, db: str | None) -> Config:
    """Read the config file if given or present; command-line values win over it."""
    path = Path(config_path) if config_path else Path(DEFAULT_CONFIG)
    config = Config()
    if config_path and not path.exists():
        raise WarehouseError(f"config file {path} does not exist")
    if path.exists():
        config = _read(path)
    if db:
        config.db = Path(db)
    return config


def _read(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise WarehouseError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WarehouseError(f"cannot read config file {path}: {exc}") from None
    base = path.parent.resolve()
    settings = data.get("warehouse", {})
    config = Config(path=path)
    if "db" in settings:
        db = Path(settings["db"])
        config.db = db if db.is_absolute() else base / db
    if "prices" in settings:
        prices = Path(settings["prices"])
        config.prices = prices if prices.is_absolute() else base / prices
    if "models" in settings:
        models = Path(settings["models"])
        config.user_models = models if models.is_absolute() else base / models
    if "pseudonymize" in settings:
        if not isinstance(settings["pseudonymize"], bool):
            raise WarehouseError(f"{path}: [warehouse] pseudonymize must be true or false, "
                                 f"not {settings['pseudonymize']!r}")
        config.pseudonymize = settings["pseudonymize"]
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise WarehouseError(f"{path}: [sources] must be a table of [sources.NAME] sections")
    for name, spec in sources.items():
        if not isinstance(spec, dict) or "url" not in spec:
            raise WarehouseError(f"{path}: [sources.{name}] needs url = \"...\"")
        kind = spec.get("kind", "openwebui")
        source = make_source(name, kind, spec["url"], base)
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
    if source.kind != "openwebui" or not isinstance(routed, str):
        raise WarehouseError(f"{path}: [sources.{source.name}] routed_through = \"NAME\" "
                             "goes on an Open WebUI source and names its LiteLLM proxy")
    if isinstance(window, bool) or not isinstance(window, int) or not 0 < window <= 3600:
        raise WarehouseError(f"{path}: [sources.{source.name}] match_window_seconds must be "
                             f"a whole number of seconds from 1 to 3600, not {window!r}")
    return Source(source.name, source.kind, source.url, routed, window)
