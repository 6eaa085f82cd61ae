"""The topics articles are tagged with: the shipped taxonomy, then the collection's
``topics.toml``, then the configured extra file; reloaded when those files change."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .. import topics
from ..config import Config
from ..models import Problem
from ..topics import Matcher, Taxonomy, TaxonomyError, load_taxonomy


def tagging_fingerprint(taxonomy: Taxonomy) -> str:
    """Changes whenever tagging could give another answer: new topics or new matching code."""
    digest = hashlib.sha256(repr(taxonomy).encode())
    package = Path(topics.__file__).parent
    for module in ("topics.py", "taxonomy.py", "collection.py"):
        if (package / module).exists():
            digest.update((package / module).read_bytes())
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


class TaxonomySource:
    """The current taxonomy, its matcher and fingerprint; a broken file keeps the last good
    topics and is reported as a problem."""

    def __init__(self, config: Config) -> None:
        self.config = config
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
            taxonomy = load_configured(self.config)
            self.problem = None
        except TaxonomyError as exc:
            # Keep the topics we had (or the shipped ones) rather than serve nothing.
            taxonomy = self.taxonomy or load_taxonomy()
            self.problem = Problem("topics.toml", f"{exc}; previous topics kept")
        self._key = key
        if taxonomy != self.taxonomy:
            self.taxonomy, self.matcher = taxonomy, Matcher(taxonomy)
            self.fingerprint = tagging_fingerprint(taxonomy)
