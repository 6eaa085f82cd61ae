"""Every setting, declared once with its default and help text.

Each setting is read from the environment as ``FEEDS_<NAME>`` and can be
overridden by the command line or by ``create_app(config)``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


SETTINGS: tuple[Setting, ...] = (
    Setting("collection", "seeds", "Folder of article files (`*.txt`, read recursively)."),
    Setting(
        "base_url",
        "",
        "Public URL the feeds are served from; every link and self link is built from it. "
        "Default: `http://HOST:PORT`, from `FEEDS_HOST` and `FEEDS_PORT`.",
    ),
    Setting("title", "feeds", "Site name, used in feed titles and pages."),
    Setting("author", "feeds", "Feed-level author name (Atom requires one)."),
    Setting("language", "en", "Language of the collection (RSS `language`, HTML `lang`)."),
    Setting(
        "index",
        "",
        "Folder for the persistent index (first-seen dates). "
        "Default: `~/.cache/feeds/<collection name>-<hash>`, outside the collection.",
    ),
    Setting(
        "taxonomy", "", "Extra taxonomy TOML file, applied after the collection's `topics.toml`."
    ),
    Setting("feed_items", 20, "Items per feed when no `?limit=` is given.", int),
    Setting("max_age", 300, "`Cache-Control: max-age` in seconds for feeds and pages.", int),
    Setting(
        "reload_interval",
        2.0,
        "Seconds between checks of the collection for changes where file-system events do not "
        "tell of them (no inotify, a shared file system), and for a new folder at its path; 0 "
        "turns live reload off.",
        float,
    ),
    Setting("host", "127.0.0.1", "Address `feeds serve` listens on."),
    Setting("port", 8000, "Port `feeds serve` listens on.", int),
    Setting("server", "granian", "WSGI server for `feeds serve`: `granian` or `gunicorn`."),
    Setting("workers", 1, "Worker processes for `feeds serve`; each holds its own index.", int),
    Setting("threads", 2, "Threads per worker process for `feeds serve`.", int),
    Setting("access_log", False, "Log every request of `feeds serve` to standard output.", _bool),
    Setting("git_dates", True, "Date undated articles from the collection's git history.", _bool),
    Setting(
        "websub_hubs",
        "",
        "WebSub hubs, space-separated URLs; every feed advertises them and they are told of each "
        "changed feed. Empty: no push.",
    ),
    Setting(
        "purge_urls",
        "",
        "Caches to purge, space-separated URLs; each gets a soft purge of the surrogate keys "
        "that changed. Empty: no purges.",
    ),
    Setting(
        "shared_max_age",
        0,
        "`Cache-Control: s-maxage` in seconds for shared caches that are purged (such as "
        "Varnish); 0: one day when `FEEDS_PURGE_URLS` is set, else none.",
        int,
    ),
    Setting(
        "cache_bytes",
        64 * 1024 * 1024,
        "Bytes of rendered documents each worker keeps in memory, and as much again for "
        "stored responses; the least recently used go first.",
        int,
    ),
    Setting(
        "icon",
        "",
        "Square image file (PNG, JPEG, GIF or WebP) for the feeds' icon and the pages' favicon. "
        "Default: the shipped icon.",
    ),
    Setting(
        "logo",
        "",
        "Wide image file, about 2:1, for RSS `<image>` and Atom `<logo>` (scaled to fit "
        "144x400 pixels). Default: the shipped logo.",
    ),
)

DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    """The settings in force: one typed field per entry of :data:`SETTINGS`, whose defaults
    and help they take; built only by :meth:`load`."""

    collection: str
    base_url: str  # load() fills it in: http://HOST:PORT when none is given
    title: str
    author: str
    language: str
    index: str  # load() fills it in: the default folder when none is given
    taxonomy: str
    feed_items: int
    max_age: int
    reload_interval: float
    host: str
    port: int
    server: str
    workers: int
    threads: int
    access_log: bool
    git_dates: bool
    websub_hubs: str
    purge_urls: str
    shared_max_age: int
    cache_bytes: int
    icon: str
    logo: str

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Config:
        """Defaults, then ``FEEDS_*`` environment variables, then explicit overrides."""
        environ = os.environ if environ is None else environ
        values = dict(DEFAULTS)
        for setting in SETTINGS:
            raw = environ.get(variable(setting.name))
            if raw is not None and raw != "":
                try:
                    values[setting.name] = setting.parse(raw)
                except ValueError as exc:
                    raise ValueError(f"{variable(setting.name)}: {exc}") from exc
        for key, value in (overrides or {}).items():
            if value is None:
                continue
            if key not in values:
                raise ValueError(f"unknown setting {key!r}")
            values[key] = value
        config = cls(**values)
        base_url = config.base_url or f"http://{config.host}:{config.port}"
        index = config.index or str(default_index(config.collection_path, environ))
        return replace(config, base_url=base_url.rstrip("/"), index=index)

    def environ(self) -> dict[str, str]:
        """The settings as ``FEEDS_*`` variables, which :meth:`load` reads back to this config:
        how ``feeds serve`` hands them to its worker processes."""
        return {
            variable(name): str(int(value) if isinstance(value, bool) else value)
            for name, value in self.__dict__.items()
        }

    @property
    def hubs(self) -> tuple[str, ...]:
        return tuple(self.websub_hubs.split())

    @property
    def purges(self) -> tuple[str, ...]:
        return tuple(self.purge_urls.split())

    @property
    def collection_path(self) -> Path:
        """The collection folder as given, made absolute but with its links kept: a link
        swapped to a new release of the collection (``ln -sfn v2 seeds``) is followed."""
        return Path(os.path.abspath(Path(self.collection).expanduser()))

    @property
    def index_path(self) -> Path:
        return Path(self.index).expanduser().resolve()


def variable(name: str) -> str:
    """The environment variable of a setting."""
    return "FEEDS_" + name.upper()


def default_index(collection: Path, environ: Mapping[str, str]) -> Path:
    """The index folder when none is set: in the user's cache, one per collection path, so
    that the collection itself is never written to. The path as given, links kept, so a link
    switched to a new release keeps its index; an index made before, for the path with its
    links followed, is kept."""
    cache = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "feeds"
    index = cache / _index_name(collection)
    earlier = cache / _index_name(collection.resolve())
    return earlier if not index.exists() and earlier.exists() else index


def _index_name(collection: Path) -> str:
    return f"{collection.name}-{hashlib.sha256(str(collection).encode()).hexdigest()[:12]}"


assert {s.name for s in SETTINGS} == {f.name for f in fields(Config)}, "SETTINGS and Config differ"
