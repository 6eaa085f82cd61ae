"""The persistent index: one SQLite database in the index folder, outside the collection.

It remembers, per file, what parsing and tagging gave (keyed by path, size,
modification time and content hash), so a restart re-reads only files that
changed; and, per article id, when it was first seen and when its current
content was first seen: the dates of articles that have no other.

Everything but the first-seen dates can be rebuilt from the collection.
"""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .collection import FileEntry, display_path
from .models import Article, Problem

SCHEMA = 5
SEP = "\x1f"  # joins lists of slugs in one column; never part of a slug

_FILES = """
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY,  -- the file name's bytes: names need not be valid UTF-8
    shown TEXT NOT NULL,    -- the same name as text, as articles carry it
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    problems TEXT,          -- [[reason, severity], ...] as JSON; NULL when there are none
    id TEXT,                -- NULL when the file could not be published
    title TEXT, digest TEXT, source TEXT, author TEXT, link TEXT,
    published TEXT, updated TEXT,  -- from front matter, ISO 8601
    declared TEXT,          -- front matter topics
    tagging TEXT,           -- fingerprint of the taxonomy and code the topics came from
    topics TEXT,            -- the topics the article is in
    text TEXT               -- summary and body paragraphs as JSON: read only to render
)"""
_SEEN = """
CREATE TABLE IF NOT EXISTS seen (
    id TEXT PRIMARY KEY,
    first_seen REAL NOT NULL,
    digest TEXT NOT NULL,
    changed_at REAL NOT NULL
)"""
# Ids whose first_seen is their file's modification time rather than a sighting: for
# `feeds check`, which says where dates come from.
_FROM_FILE = "CREATE TABLE IF NOT EXISTS seen_from_file (id TEXT PRIMARY KEY)"
_COLUMNS = "path, size, mtime_ns, problems, id, title, digest, source, author, link, " \
    "published, updated, declared, tagging, topics"  # fmt: skip


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What the index knows of one file."""

    entry: FileEntry
    article: Article | None  # tagged; without summary, body or dates
    problems: tuple[Problem, ...]
    tagging: str | None = None


@dataclass(frozen=True, slots=True)
class Seen:
    """When an article id was first seen, and when its current content was."""

    first_seen: datetime
    digest: str
    changed_at: datetime


def _key(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(SEP)) if text else ()


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _record(row: tuple) -> FileRecord:  # type: ignore[type-arg]
    (key, size, mtime_ns, problems, id_, title, digest, source, author, link,
     published, updated, declared, tagging, topics) = row  # fmt: skip
    path = bytes(key).decode("utf-8", "surrogateescape")
    shown = display_path(path)
    article = None
    if id_ is not None:
        article = Article(
            id_, shown, title, "", (), digest, source, author, link,
            _moment(published), _moment(updated), _split(declared), _split(topics),
        )  # fmt: skip
    found = tuple(Problem(shown, reason, severity) for reason, severity in json.loads(problems)) \
        if problems else ()  # fmt: skip
    return FileRecord(FileEntry(path, size, mtime_ns), article, found, tagging)


def _row(record: FileRecord, text: tuple[str, ...] | None) -> tuple:  # type: ignore[type-arg]
    a = record.article
    problems = (
        json.dumps([[p.reason, p.severity] for p in record.problems], ensure_ascii=False)
        if record.problems else None
    )  # fmt: skip
    return (
        _key(record.entry.path), display_path(record.entry.path), record.entry.size,
        record.entry.mtime_ns, problems,
        a and a.id, a and a.title, a and a.digest, a and a.source, a and a.author, a and a.link,
        a and a.published and a.published.isoformat(), a and a.updated and a.updated.isoformat(),
        a and SEP.join(a.declared_topics), record.tagging, a and SEP.join(a.topics),
        json.dumps(text, ensure_ascii=False) if text is not None else None,
    )  # fmt: skip


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
            self._db.execute(_FROM_FILE)

    # Files -----------------------------------------------------------------

    def files(self) -> Iterator[FileRecord]:
        """Every file the index knows, without article bodies."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM files").fetchall()
        return map(_record, rows)

    def save(self, records: Iterable[tuple[FileRecord, tuple[str, ...] | None]]) -> None:
        """Store files as parsed and tagged, each with its text (summary and body) apart."""
        rows = [_row(record, text) for record, text in records]  # in the table's column order
        with self._lock, self._db:
            self._db.executemany(
                f"INSERT OR REPLACE INTO files VALUES ({', '.join('?' * 17)})", rows
            )

    def forget(self, paths: Iterable[str]) -> None:
        with self._lock, self._db:
            self._db.executemany("DELETE FROM files WHERE path = ?", [(_key(p),) for p in paths])

    def text(self, shown: str) -> tuple[str, ...]:
        """The summary and body of the article a file holds, by the file name it shows."""
        with self._lock:
            row = self._db.execute("SELECT text FROM files WHERE shown = ?", (shown,)).fetchone()
        return tuple(json.loads(row[0])) if row and row[0] else ()

    # First-seen dates -----------------------------------------------------

    def seen(self) -> dict[str, Seen]:
        """Every id the index has seen."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, first_seen, digest, changed_at FROM seen"
            ).fetchall()
        return {
            key: Seen(datetime.fromtimestamp(first, UTC), digest, datetime.fromtimestamp(at, UTC))
            for key, first, digest, at in rows
        }

    def record_seen(
        self, articles: list[Article], now: datetime, moments: Mapping[str, datetime] = {}
    ) -> dict[str, Seen]:
        """Record new ids and changed content, at ``now`` or at the id's time in ``moments``;
        return what the index now holds for them."""
        stamps = {a.id: int(moments.get(a.id, now).timestamp()) for a in articles}
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO seen VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE"
                " SET digest = excluded.digest, changed_at = excluded.changed_at"
                " WHERE seen.digest != excluded.digest",
                [(a.id, stamps[a.id], a.digest, stamps[a.id]) for a in articles],
            )
            rows: list[tuple[str, float, str, float]] = []
            ids = [a.id for a in articles]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows += self._db.execute(
                    f"SELECT id, first_seen, digest, changed_at FROM seen WHERE id IN ({marks})",
                    chunk,
                ).fetchall()
        return {
            key: Seen(datetime.fromtimestamp(first, UTC), digest, datetime.fromtimestamp(at, UTC))
            for key, first, digest, at in rows
        }

    def from_file(self) -> set[str]:
        """The ids whose first-seen date is their file's modification time."""
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT id FROM seen_from_file")}

    def record_from_file(self, ids: Iterable[str]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO seen_from_file VALUES (?)", [(i,) for i in ids]
            )

    # The last snapshot, for a fast start ----------------------------------

    @property
    def state_path(self) -> Path:
        return self.path.with_name("snapshot.pickle")

    def save_state(self, state: object) -> None:
        """Keep the last snapshot's records, written whole or not at all."""
        partial = self.state_path.with_name(f".snapshot.{os.getpid()}.tmp")
        with open(partial, "wb") as out:
            pickle.dump(state, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, self.state_path)

    def load_state(self) -> object | None:
        try:
            with open(self.state_path, "rb") as handle:
                return pickle.load(handle)  # noqa: S301  # written by this program, in its own folder
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            return None

    def reopen(self) -> None:
        """A connection of this process's own, for a forked process: SQLite connections do
        not survive a fork. The inherited one is left alone, as the parent still uses it."""
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def pack(entry: FileEntry, problems: tuple[Problem, ...], dated: Article | None) -> tuple:  # type: ignore[type-arg]
    """One file of a snapshot as a plain tuple: quick to pickle and to load."""
    fields = None
    if dated is not None:
        a = dated
        assert a.published is not None and a.updated is not None  # dated: both are set
        fields = (
            a.id, a.path, a.title, a.digest, a.source, a.author, a.link,
            a.published.timestamp(), a.updated.timestamp(), a.declared_topics, a.topics,
        )  # fmt: skip
    found = tuple((p.path, p.reason, p.severity) for p in problems)
    return (entry.path, entry.size, entry.mtime_ns, found, fields)


def unpack(packed: tuple) -> tuple[FileEntry, tuple[Problem, ...], Article | None]:  # type: ignore[type-arg]
    path, size, mtime_ns, problems, fields = packed
    found = tuple(Problem(*p) for p in problems) if problems else ()
    dated = None
    if fields is not None:
        (id_, shown, title, digest, source, author, link, published, updated, declared,
         topics) = fields  # fmt: skip
        when = datetime.fromtimestamp(published, UTC)
        changed = when if updated == published else datetime.fromtimestamp(updated, UTC)
        dated = Article(
            id_, shown, title, "", (), digest, source, author, link, when, changed, declared, topics
        )
    return FileEntry(path, size, mtime_ns), found, dated
