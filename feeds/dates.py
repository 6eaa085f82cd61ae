"""Stable dates for articles whose front matter gives none.

Order of preference for the published date: front matter ``date``; the commit
that first added the file when the collection is in a git repository; the
moment the index first saw the article (kept in the index database, outside
the collection). The updated date moves only when the file's content changes.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from .models import Article

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileHistory:
    """What git says of one file: when it was first added and last changed."""

    added: datetime
    changed: datetime


class GitHistory:
    """File dates from ``git log``, recomputed only when HEAD or the work tree moves."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._key: tuple[str, frozenset[str]] | None = None
        self._files: dict[str, FileHistory] = {}
        self._dirty: frozenset[str] = frozenset()

    def lookup(self) -> tuple[dict[str, FileHistory], frozenset[str]]:
        """Histories keyed by path relative to the collection, and the paths changed since HEAD."""
        head = self._git("rev-parse", "-q", "--verify", "HEAD")
        if head is None:
            return {}, frozenset()
        status = self._git("status", "--porcelain", "--no-renames", "-uall", "-z", "--", ".") or ""
        prefix = (self._git("rev-parse", "--show-prefix") or "").strip()
        dirty = frozenset(
            item[3:].removeprefix(prefix) for item in status.split("\0") if len(item) > 3
        )
        key = (head.strip(), dirty)
        if key != self._key:
            self._files = self._read_log()
            self._dirty, self._key = dirty, key
        return self._files, self._dirty

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


class FirstSeenStore:
    """When each article id was first seen, and when its current content was first seen."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS seen ("
                " id TEXT PRIMARY KEY, first_seen REAL NOT NULL,"
                " digest TEXT NOT NULL, changed_at REAL NOT NULL)"
            )

    def record(
        self, articles: list[Article], now: datetime
    ) -> dict[str, tuple[datetime, datetime]]:
        """Record new ids and changed content; return (first seen, changed at) per id."""
        stamp = int(now.timestamp())
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO seen VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE"
                " SET digest = excluded.digest, changed_at = excluded.changed_at"
                " WHERE seen.digest != excluded.digest",
                [(a.id, stamp, a.digest, stamp) for a in articles],
            )
            rows = self._lookup([a.id for a in articles])
        return {
            key: (datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(changed, UTC))
            for key, first, changed in rows
        }

    def _lookup(self, ids: list[str]) -> list[tuple[str, float, float]]:
        rows: list[tuple[str, float, float]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self._db.execute(
                f"SELECT id, first_seen, changed_at FROM seen WHERE id IN ({marks})", chunk
            ).fetchall()
        return rows

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Dater:
    """Fills in ``published`` and ``updated`` for every article."""

    def __init__(self, root: Path, store: FirstSeenStore, use_git: bool = True) -> None:
        self.git = GitHistory(root) if use_git else None
        self.store = store

    def date(self, articles: list[Article], now: datetime | None = None) -> list[Article]:
        now = now or datetime.now(UTC).replace(microsecond=0)
        history, dirty = self.git.lookup() if self.git else ({}, frozenset())
        seen = self.store.record(articles, now)
        dated = []
        for article in articles:
            first_seen, changed_at = seen.get(article.id, (now, now))
            known = history.get(article.path)
            last_change: datetime | None
            if known is None:
                last_change = changed_at if changed_at > first_seen else None
            elif article.path in dirty:
                last_change = max(known.changed, changed_at)
            else:
                last_change = known.changed if known.changed > known.added else None
            published = article.published or (known.added if known else first_seen)
            updated = article.updated or max(last_change or published, published)
            dated.append(replace(article, published=published, updated=updated))
        return dated
