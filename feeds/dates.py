"""Stable dates for articles whose front matter gives none.

Order of preference for the published date: front matter ``date``; the commit
that first added the file when the collection is in a git repository; the
moment the index first saw the article (kept in the index database, outside
the collection). The updated date moves only when the file's content changes.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .models import Article
from .store import IndexStore, Seen

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileHistory:
    """What git says of one file: when it was first added and last changed."""

    added: datetime
    changed: datetime


class GitHistory:
    """File dates from ``git log``, read again only when HEAD moves."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._key: tuple[str, frozenset[str]] | None = None
        self._files: dict[str, FileHistory] = {}
        self.available = self._git("rev-parse", "--is-inside-work-tree") is not None

    def key(self) -> object:
        """What the dates depend on: HEAD and the files changed since."""
        self.lookup()
        return self._key

    def lookup(self) -> tuple[dict[str, FileHistory], frozenset[str]]:
        """Histories keyed by path relative to the collection, and the paths changed since HEAD."""
        if not self.available:
            return {}, frozenset()
        head = self._git("rev-parse", "-q", "--verify", "HEAD")
        if head is None:
            return {}, frozenset()
        status = self._git("status", "--porcelain", "--no-renames", "-uall", "-z", "--", ".") or ""
        prefix = (self._git("rev-parse", "--show-prefix") or "").strip()
        dirty = frozenset(
            item[3:].removeprefix(prefix) for item in status.split("\0") if len(item) > 3
        )
        head = head.strip()
        if self._key is None or self._key[0] != head:
            self._files = self._read_log()  # history moves only with HEAD, not the work tree
        self._key = (head, dirty)
        return self._files, dirty

    def _read_log(self) -> dict[str, FileHistory]:
        out = self._git(
            "-c", "core.quotePath=false", "log", "--no-renames", "--relative",
            "--format=%x01%ct", "--name-only", "--", ".",
        )  # fmt: skip
        files: dict[str, FileHistory] = {}
        moment = None
        for line in (out or "").splitlines():
            if line.startswith("\x01"):
                moment = datetime.fromtimestamp(int(line[1:]), UTC)
            elif line and moment is not None and not line.startswith('"'):
                known = files.get(line)
                # git log lists newest first: the last sighting is the oldest.
                files[line] = FileHistory(moment, known.changed if known else moment)
        return files

    def _git(self, *args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(self.root), *args],
                capture_output=True, text=True, timeout=120, check=False,
                encoding="utf-8", errors="surrogateescape",
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.info("git history unavailable: %s", exc)
            return None
        return done.stdout if done.returncode == 0 else None


class Dater:
    """Fills in ``published`` and ``updated`` for articles."""

    def __init__(self, root: Path, store: IndexStore, use_git: bool = True) -> None:
        self.git = GitHistory(root) if use_git else None
        self.store = store
        self._loaded: dict[str, Seen] | None = None

    @property
    def _seen(self) -> dict[str, Seen]:
        """Every id's first-seen dates, loaded when first needed and kept current."""
        if self._loaded is None:
            self._loaded = self.store.seen()
        return self._loaded

    def known(self) -> dict[str, Seen]:
        """The first-seen dates as this process knows them: what survives a damaged index."""
        return dict(self._seen)

    def git_key(self) -> object:
        return self.git.key() if self.git else None

    def date(self, articles: list[Article], now: datetime | None = None) -> list[Article]:
        if not articles:
            return []
        now = now or datetime.now(UTC).replace(microsecond=0)
        history, dirty = self.git.lookup() if self.git else ({}, frozenset())
        fresh = [a for a in articles if (s := self._seen.get(a.id)) is None or s.digest != a.digest]
        if fresh:
            self._seen.update(self.store.record_seen(fresh, now))
        return [self._dated(a, history.get(a.path), a.path in dirty, now) for a in articles]

    def _dated(
        self, article: Article, known: FileHistory | None, dirty: bool, now: datetime
    ) -> Article:
        seen = self._seen.get(article.id)
        first_seen, changed_at = (seen.first_seen, seen.changed_at) if seen else (now, now)
        last_change: datetime | None
        if known is None:
            last_change = changed_at if changed_at > first_seen else None
        elif dirty:
            last_change = max(known.changed, changed_at)
        else:
            last_change = known.changed if known.changed > known.added else None
        # The earliest sighting: a file seen before it was committed keeps its date.
        published = article.published or (min(known.added, first_seen) if known else first_seen)
        updated = article.updated or max(last_change or published, published)
        return Article(
            article.id, article.path, article.title, article.summary, article.body,
            article.digest, article.source, article.author, article.link, published, updated,
            article.declared_topics, article.topics,
        )  # fmt: skip
