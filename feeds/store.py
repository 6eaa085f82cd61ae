"""The persistent index: one SQLite database in the index folder, outside the collection.

It remembers, per file, what parsing and tagging it gave (keyed by path, size,
modification time and content hash), so a restart re-reads only files that
changed; and, per article id, when it was first seen and when its current
content was first seen, the dates of articles that have no other.

Everything but the first-seen dates can be rebuilt from the collection.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .collection import FileEntry, display_path
from .models import Article, Problem

SCHEMA = 3

_FILES = """
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY,  -- the file name's bytes: names need not be valid UTF-8
    shown TEXT NOT NULL,    -- the same name as text, as articles carry it
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    digest TEXT,            -- sha256 of the bytes; NULL when the file could not be read
    article TEXT,           -- the parsed article without its body, as JSON; NULL when skipped
    body TEXT,              -- the body paragraphs, as JSON
    problems TEXT NOT NULL, -- [[reason, severity], ...]
    tagging TEXT,           -- fingerprint of the taxonomy and matcher the topics came from
    topics TEXT             -- the topics the article is in, as JSON
)"""
_SEEN = """
CREATE TABLE IF NOT EXISTS seen (
    id TEXT PRIMARY KEY,
    first_seen REAL NOT NULL,
    digest TEXT NOT NULL,
    changed_at REAL NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What the index knows of one file."""

    entry: FileEntry
    article: Article | None  # without body, dates or topics
    problems: tuple[Problem, ...]
    tagging: str | None = None
    topics: tuple[str, ...] = ()


def _key(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def _article_json(article: Article) -> str:
    return json.dumps(
        {
            "id": article.id, "title": article.title, "summary": article.summary,
            "digest": article.digest, "source": article.source, "author": article.author,
            "link": article.link, "declared_topics": list(article.declared_topics),
            "published": article.published.isoformat() if article.published else None,
            "updated": article.updated.isoformat() if article.updated else None,
        },
        ensure_ascii=False,
    )  # fmt: skip


def _article_from(path: str, text: str) -> Article:
    data = json.loads(text)
    for key in ("published", "updated"):
        data[key] = datetime.fromisoformat(data[key]) if data[key] else None
    data["declared_topics"] = tuple(data["declared_topics"])
    return Article(path=path, body=(), **data)


class IndexStore:
    """The SQLite database; safe to share between threads and between processes."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "index.sqlite3"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None or row[0] != str(SCHEMA):
                # The file cache is rebuilt from the collection; first-seen dates are kept.
                self._db.execute("DROP TABLE IF EXISTS files")
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
            self._db.execute(_FILES)
            self._db.execute("CREATE INDEX IF NOT EXISTS files_shown ON files (shown)")
            self._db.execute(_SEEN)

    # Files -----------------------------------------------------------------

    def files(self) -> Iterator[FileRecord]:
        """Every file the index knows, without article bodies."""
        with self._lock:
            rows = self._db.execute(
                "SELECT path, size, mtime_ns, article, problems, tagging, topics FROM files"
            ).fetchall()
        for key, size, mtime_ns, article, problems, tagging, topics in rows:
            path = bytes(key).decode("utf-8", "surrogateescape")
            shown = display_path(path)
            found = json.loads(problems)
            yield FileRecord(
                FileEntry(path, size, mtime_ns),
                _article_from(shown, article) if article else None,
                tuple(Problem(shown, reason, severity) for reason, severity in found),
                tagging,
                tuple(json.loads(topics)) if topics else (),
            )

    def save(self, records: Iterable[tuple[FileRecord, tuple[str, ...] | None]]) -> None:
        """Store files as parsed (with their bodies, given apart) and tagged."""
        rows = [
            (
                _key(r.entry.path), display_path(r.entry.path), r.entry.size, r.entry.mtime_ns,
                r.article.digest if r.article else None,
                _article_json(r.article) if r.article else None,
                json.dumps(body, ensure_ascii=False) if body is not None else None,
                json.dumps([[p.reason, p.severity] for p in r.problems], ensure_ascii=False),
                r.tagging, json.dumps(r.topics),
            )
            for r, body in records
        ]  # fmt: skip
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?)", rows)

    def forget(self, paths: Iterable[str]) -> None:
        with self._lock, self._db:
            self._db.executemany("DELETE FROM files WHERE path = ?", [(_key(p),) for p in paths])

    def body(self, shown: str) -> tuple[str, ...]:
        """The body of the article a file holds, by the file name as the article shows it."""
        with self._lock:
            row = self._db.execute("SELECT body FROM files WHERE shown = ?", (shown,)).fetchone()
        return tuple(json.loads(row[0])) if row and row[0] else ()

    # First-seen dates -----------------------------------------------------

    def record_seen(
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
            rows: list[tuple[str, float, float]] = []
            ids = [a.id for a in articles]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows += self._db.execute(
                    f"SELECT id, first_seen, changed_at FROM seen WHERE id IN ({marks})", chunk
                ).fetchall()
        return {
            key: (datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(changed, UTC))
            for key, first, changed in rows
        }

    def close(self) -> None:
        with self._lock:
            self._db.close()
