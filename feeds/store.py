"""The persistent index: one SQLite database in the index folder, outside the collection.

It remembers, per file, what parsing and tagging gave (keyed by path, size,
modification time and content hash), so a restart re-reads only files that
changed; the words of every article, for search (FTS5); per article id, when
it was first seen and when its current content was first seen: the dates of
articles that have no other; and when each feed last lost or gained an
article, and which articles went, so validators and archive pages never move
back.

The index is a cache of the collection, never the source of its text. A
database that is damaged or of another schema is moved aside with one warning
and rebuilt; one that cannot be written (a full disk, a read-only folder)
keeps every change in memory, is written again as soon as it can be, and is
read through that memory meanwhile.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import pickle
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .collection import FileEntry, display_path, file_identity
from .models import Gone, Indexed, Problem
from .search import Query, words

log = logging.getLogger(__name__)

SCHEMA = 7
SEP = "\x1f"  # joins lists of slugs in one column; never part of a slug
STATE_MAGIC = b"feeds-snapshot\n"
RETRY_SECONDS = 5.0  # between attempts to write an index that could not be written
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")  # error names that mean "not a sound database"

_FILES = """
CREATE TABLE files (
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
    text TEXT,              -- summary and body paragraphs as JSON: read only to render
    reasons TEXT            -- why it is in each topic as JSON (feeds.reasons): read to render
)"""
# The words of each published file (rowid: the file's), for search; contentless, as the
# text is in ``files`` already.
_WORDS = "CREATE VIRTUAL TABLE words USING fts5(" \
    "body, content='', tokenize='unicode61 remove_diacritics 0')"  # fmt: skip
_SEEN = """
CREATE TABLE seen (
    id TEXT PRIMARY KEY,
    first_seen REAL NOT NULL,
    digest TEXT NOT NULL,
    changed_at REAL NOT NULL
)"""
_GONE = """
CREATE TABLE gone (
    id TEXT PRIMARY KEY,    -- an article that left some feeds: removed, or its topics changed
    published REAL NOT NULL,
    topics TEXT NOT NULL,   -- the topics it was in
    at REAL NOT NULL        -- when that was seen
)"""
_CHANGES = """
CREATE TABLE changes (
    feed TEXT PRIMARY KEY,  -- a topic slug; '' for every article
    at REAL NOT NULL        -- the last time an article joined or left it
)"""
# Ids whose first_seen is their file's modification time rather than a sighting: for
# `feeds check`, which says where dates come from.
_FROM_FILE = """
CREATE TABLE seen_from_file (
    id TEXT PRIMARY KEY
)"""
# Rebuilt from the collection when they do not match; the others are kept if they can be.
_CACHE_TABLES = {"files": _FILES, "words": _WORDS}
_KEPT_TABLES = {"seen": _SEEN, "gone": _GONE, "changes": _CHANGES, "seen_from_file": _FROM_FILE}
# The columns of ``files`` in their order, as :data:`_FILES` creates them and ``_row`` fills them.
_FIELDS = ("path", "shown", "size", "mtime_ns", "problems", "id", "title", "digest", "source",
           "author", "link", "published", "updated", "declared", "tagging", "topics", "text",
           "reasons")  # fmt: skip
_AT = {name: n for n, name in enumerate(_FIELDS)}
_COLUMNS = "path, size, mtime_ns, problems, id, title, digest, source, author, link, " \
    "published, updated, declared, tagging, topics"  # fmt: skip


class DamagedIndex(Exception):
    """The database file is not a sound SQLite database of this schema, or not the one opened."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What the index knows of one file."""

    entry: FileEntry
    article: Indexed | None
    problems: tuple[Problem, ...]
    tagging: str | None = None
    reasons: str | None = None  # feeds.reasons as JSON, from the tagging


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


def _when(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def _record(row: tuple) -> FileRecord:  # type: ignore[type-arg]
    (key, size, mtime_ns, problems, id_, title, digest, source, author, link,
     published, updated, declared, tagging, topics) = row  # fmt: skip
    path = bytes(key).decode("utf-8", "surrogateescape")
    shown = display_path(path)
    article = None
    if id_ is not None:
        article = Indexed(
            id=id_, path=shown, title=title, digest=digest, source=source, author=author,
            link=link, published=_moment(published), updated=_moment(updated),
            declared_topics=_split(declared), topics=_split(topics),
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
        record.reasons,
    )  # fmt: skip


Stored = tuple[tuple, str | None]  # type: ignore[type-arg]  # a file's row, and its words


def stored(record: FileRecord, text: tuple[str, ...] | None) -> Stored:
    """A file's row in the index and the words search finds it by: made where the file is
    read (a process of the pool, for many), so that storing it is only writing."""
    row = _row(record, text)
    found = words((row[_AT["title"]] or "", *text)) if text else None
    return row, found


def _text(title: str | None, text: str | None) -> tuple[str, ...] | None:
    """The paragraphs of a stored text; None when there are none or they do not decode."""
    try:
        paragraphs = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(paragraphs, list) or not paragraphs:
        return None
    if not all(isinstance(p, str) for p in paragraphs):
        return None
    return tuple(paragraphs)


def _words(title: str | None, text: str | None) -> str | None:
    paragraphs = _text(title, text)
    return None if paragraphs is None else words((title or "", *paragraphs))


def is_damage(exc: BaseException) -> bool:
    """Whether an error says the database file is damaged, rather than unwritable or busy."""
    if isinstance(exc, DamagedIndex):
        return True
    name = getattr(exc, "sqlite_errorname", "") or ""
    return (
        name.startswith(_DAMAGED)
        or isinstance(exc, sqlite3.DatabaseError)
        and not isinstance(exc, sqlite3.OperationalError)
    )


@contextmanager
def locked(path: Path, how: int = fcntl.LOCK_EX, required: bool = True) -> Iterator[None]:
    """Hold a lock on the file at ``path`` (made if need be) against the other processes of
    the index folder. A lock file that cannot be opened raises, unless not ``required``:
    then the block runs unlocked (a read-only folder, where nothing can be changed anyway)."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if required:
            raise
        yield
        return
    try:
        fcntl.flock(descriptor, how)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


class SnapshotFile:
    """The last snapshot's records beside the database, for a fast start: a pickle behind a
    magic line and its SHA-256, written whole or not at all, and never trusted when damaged."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, state: object) -> None:
        """Write the records whole or not at all, with a checksum."""
        payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        partial = self.path.with_name(f".snapshot.{os.getpid()}.tmp")
        try:
            with open(partial, "wb") as out:
                out.write(STATE_MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(partial, self.path)
        except BaseException:
            with suppress(OSError):
                partial.unlink()
            raise

    def load(self) -> object | None:
        """The records, if the file is whole; a damaged file is moved aside."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("snapshot %s cannot be read (%s): building anew", self.path, exc)
            return None
        head, digest = data[: len(STATE_MAGIC)], data[len(STATE_MAGIC) : len(STATE_MAGIC) + 32]
        payload = data[len(STATE_MAGIC) + 32 :]
        try:
            if head != STATE_MAGIC or hashlib.sha256(payload).digest() != digest:
                raise ValueError("not a whole snapshot file")
            return pickle.loads(payload)  # noqa: S301  # written by this program, checksummed
        except Exception as exc:
            self.discard(exc)
            return None

    def discard(self, exc: BaseException | str) -> None:
        """Move a snapshot file that cannot be used aside, with one warning."""
        aside = self.path.with_name(f"{self.path.name}.damaged")
        try:
            os.replace(self.path, aside)
            where = f"moved aside to {aside}"
        except OSError:
            where = "left in place"
        log.warning("snapshot %s is damaged (%s): %s; building anew from the index",
                    self.path, str(exc)[:200] or type(exc).__name__, where)  # fmt: skip


class IndexStore:
    """The SQLite database; safe to share between threads and between processes.

    Writes go through a queue in memory (``_pending_*``) that is emptied into the
    database in one transaction; when that fails the queue stays, every read sees it,
    and the next write or :meth:`retry` tries again.
    """

    def __init__(self, folder: Path, verify: bool = True) -> None:
        """``verify``: check every page of the database before using it; without it the
        caller runs :meth:`verify` soon after (a resumed start, which serves first)."""
        self.folder = folder
        self.verified = verify
        self.path = folder / "index.sqlite3"
        self.snapshot_file = SnapshotFile(folder / "snapshot.pickle")
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._writable = False
        self.generation = ""  # changes whenever the file cache starts anew
        self.unwritable: str | None = None  # why the last write failed; None: all written
        self.damaged: str | None = None  # damage seen while serving; heal() rebuilds
        self.refilling = False  # healed, not yet filled again: its word index lacks articles
        self._next_try = 0.0
        self._pending_files: dict[bytes, tuple | None] = {}  # type: ignore[type-arg]  # None: forgotten
        self._pending_words: dict[bytes, str | None] = {}  # of the pending files, for search
        self._pending_shown: dict[str, bytes] = {}
        self._pending_seen: dict[str, tuple[str, float, str, float]] = {}
        self._pending_gone: dict[str, tuple[str, float, str, float]] = {}
        self._pending_changes: dict[str, float] = {}
        self._pending_from_file: set[str] = set()
        self._identity: tuple[int, int] | None = None  # the database file this one opened
        self._healing_depth = 0
        self._open()

    # Opening and healing ---------------------------------------------------------

    def _open(self) -> None:
        """Open the database; move a damaged one aside; fall back to reading only, or to
        memory alone, when it cannot be written."""
        try:
            self._db, self._writable = self._connect(), True
        except Exception as exc:
            if not is_damage(exc):
                self._db, self._writable = self._connect_readonly(), False
                self._cannot_write(exc, opening=True)
                return
            with self._healing():
                try:  # another worker may have replaced it while this one waited
                    self._db, self._writable = self._connect(), True
                    salvaged = {}
                except Exception:
                    salvaged = self._salvage()
                    self._move_aside(exc)
                    try:
                        self._db, self._writable = self._connect(), True
                    except Exception as again:  # e.g. the folder is read-only as well
                        self._cannot_write(again, opening=True)
            self._pending_seen.update(salvaged)
        self._flush()

    @contextmanager
    def _healing(self) -> Iterator[None]:
        """One process at a time replaces a damaged database. Workers sharing the index find
        the same damage: the first moves the file aside and makes a new one, the others open
        that one. Without this, a second worker would move aside the new database, and take
        its write-ahead log from under the first."""
        self._healing_depth += 1
        try:
            if self._healing_depth > 1:  # healing calls opening, which may heal
                yield
                return
            with locked(self.folder / "index.heal.lock", required=False):
                yield
        finally:
            self._healing_depth -= 1

    def _connect_readonly(self) -> sqlite3.Connection | None:
        """A connection that only reads an existing database of this schema, if there is one."""
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60,
                                 check_same_thread=False)  # fmt: skip
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if meta.get("schema") == str(SCHEMA) and all(
                _has_table(db, name, ddl) for name, ddl in (_CACHE_TABLES | _KEPT_TABLES).items()
            ):
                self.generation = meta.get("generation") or ""
                return db
            db.close()
        except sqlite3.Error:
            pass
        return None

    def _connect(self) -> sqlite3.Connection:
        self.folder.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        try:
            self._prepare(db)
        except BaseException:
            db.close()
            raise
        self._identity = file_identity(self.path)
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Check the file is sound and of this schema; recreate the tables that are not."""
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if self.verified:
            _check_pages(db)
        db.execute("BEGIN IMMEDIATE")  # one process at a time decides what to recreate
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            meta = dict(db.execute("SELECT key, value FROM meta"))
            fresh = meta.get("schema") != str(SCHEMA) or not meta.get("generation")
            for name, ddl in _KEPT_TABLES.items():
                if not _has_table(db, name, ddl):
                    if _exists(db, name):
                        log.warning("index %s: table %s is not as expected; started anew",
                                    self.path, name)  # fmt: skip
                    db.execute(f"DROP TABLE IF EXISTS {name}")
                    db.execute(ddl)
            for name, ddl in _CACHE_TABLES.items():
                if fresh or not _has_table(db, name, ddl):
                    db.execute(f"DROP TABLE IF EXISTS {name}")
                    db.execute(ddl)
                    fresh = True
            db.execute("CREATE INDEX IF NOT EXISTS files_shown ON files (shown)")
            if fresh:
                if meta.get("schema") not in (None, str(SCHEMA)):
                    log.warning("index %s has schema %s, not %s: rebuilt from the collection",
                                self.path, meta.get("schema"), SCHEMA)  # fmt: skip
                meta["generation"] = uuid.uuid4().hex
                db.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [("schema", str(SCHEMA)), ("generation", meta["generation"])],
                )
            self.generation = meta["generation"]

    def verify(self) -> bool:
        """Check every page of the database, on a connection of its own so that reads and
        writes go on meanwhile; damage is marked for :meth:`heal`. Whether it is sound."""
        if self.verified or self._db is None:
            return self.damaged is None
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60)
            try:
                _check_pages(db)
            finally:
                db.close()
        except sqlite3.Error as exc:
            if not is_damage(exc):  # busy or unreadable just now: checked again next time
                log.warning("index %s could not be checked: %s", self.path, exc)
                return self.damaged is None
            self._damage(exc)
        except DamagedIndex as exc:
            self._damage(exc)
        self.verified = True
        return self.damaged is None

    def _salvage(self) -> dict[str, tuple[str, float, str, float]]:
        """The first-seen dates of a damaged database, as far as they can still be read."""
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
            try:
                rows = db.execute("SELECT id, first_seen, digest, changed_at FROM seen").fetchall()
            finally:
                db.close()
            return {row[0]: row for row in rows if isinstance(row[0], str)}
        except Exception:  # nothing can be read: every date is dated anew
            return {}

    def _move_aside(self, exc: BaseException) -> None:
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
        moved = ""
        try:
            os.replace(self.path, aside)
            moved = f"moved aside to {aside}; "
        except OSError:
            pass
        for suffix in ("-wal", "-shm"):
            with suppress(OSError):
                os.remove(f"{self.path}{suffix}")
        log.warning("index %s is damaged (%s): %srebuilding it from the collection",
                    self.path, str(exc)[:200] or type(exc).__name__, moved)  # fmt: skip

    def heal(self, seen: dict[str, Seen]) -> None:
        """Replace a database found damaged while serving with a new one; keep ``seen``."""
        with self._lock:
            reason = self.damaged or "damaged"
            self.damaged = None
            self.refilling = True
            if self._db is not None:
                with suppress(sqlite3.Error):
                    self._db.close()
                self._db = None
            with self._healing():
                there = file_identity(self.path)
                if self._identity is not None and there is None:
                    log.warning("index %s was removed; making it anew", self.path)
                elif self._identity is not None and there != self._identity:
                    # another worker set the damaged file aside and made a new one
                    log.warning("index %s was rebuilt by another process; refilling it",
                                self.path)  # fmt: skip
                else:
                    self._pending_seen.update(self._salvage())
                    self._move_aside(DamagedIndex(reason))
                self._pending_files.clear()
                self._pending_words.clear()
                self._pending_shown.clear()
                self._pending_seen.update(
                    (key, (key, s.first_seen.timestamp(), s.digest, s.changed_at.timestamp()))
                    for key, s in seen.items()
                )
                self._open()

    def _cannot_write(self, exc: BaseException, opening: bool = False) -> None:
        reason = str(exc) or type(exc).__name__
        if self.unwritable is None:
            action = "cannot be opened" if opening else "cannot be written"
            log.warning("index %s %s (%s): serving from memory, retrying every %.0f s",
                        self.path, action, reason, RETRY_SECONDS)  # fmt: skip
        self.unwritable = reason
        self._next_try = time.monotonic() + RETRY_SECONDS

    def _damage(self, exc: BaseException) -> None:
        if self.damaged is None:
            log.warning("index %s: %s; it will be rebuilt from the collection", self.path, exc)
        self.damaged = str(exc) or type(exc).__name__

    # Writing -----------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """Whether some changes are only in memory yet."""
        return bool(self._pending_files or self._pending_seen or self._pending_gone
                    or self._pending_changes or self._pending_from_file)  # fmt: skip

    def retry(self, now: bool = False) -> bool:
        """Write what is pending if it is time to try again (or ``now``); whether all is
        written."""
        with self._lock:
            if now:
                self._next_try = 0.0
            self._flush()
            return not self.pending

    def _flush(self) -> None:
        """Write every pending change in one transaction, or keep them all for later."""
        if not self.pending or (self.unwritable and time.monotonic() < self._next_try):
            return
        if self._db is None or not self._writable:
            try:
                db = self._connect()
            except Exception as exc:
                self._cannot_write(exc, opening=True)
                return
            if self._db is not None:
                with suppress(sqlite3.Error):
                    self._db.close()
            self._db, self._writable = db, True
        if self._identity is not None and file_identity(self.path) != self._identity:
            # Deleted (a cache folder cleared by hand) or set aside by another worker's heal:
            # what is written to the file this one has open would be lost with it.
            self._damage(DamagedIndex("its file was removed or replaced while in use"))
            return
        try:
            # Workers sharing the index store the files each notices, often the same new
            # one at the same moment: the rows are looked up and replaced under one write
            # lock, or another's row, written in between, would look like damage.
            if not self._db.in_transaction:
                self._db.execute("BEGIN IMMEDIATE")
            with self._db:
                self._write_files(self._db)
                self._db.executemany(
                    "INSERT OR REPLACE INTO seen VALUES (?, ?, ?, ?)", self._pending_seen.values()
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO gone VALUES (?, ?, ?, ?)", self._pending_gone.values()
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO changes VALUES (?, ?)", self._pending_changes.items()
                )
                self._db.executemany(
                    "INSERT OR IGNORE INTO seen_from_file VALUES (?)",
                    [(i,) for i in self._pending_from_file],
                )
        except sqlite3.Error as exc:
            if is_damage(exc):
                self._damage(exc)
            self._cannot_write(exc)
            return
        for pending in (self._pending_files, self._pending_words, self._pending_shown,
                        self._pending_seen,
                        self._pending_gone, self._pending_changes,
                        self._pending_from_file):  # fmt: skip
            pending.clear()
        if self.unwritable is not None:
            log.warning("index %s written again", self.path)
            self.unwritable = None

    def _write_files(self, db: sqlite3.Connection) -> None:
        """Replace the rows of the pending files, and their words, a statement for many."""
        keys = list(self._pending_files)
        old: list[tuple[bytes, int, str | None]] = []  # path, rowid, the words it was given
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            held = db.execute(
                f"SELECT path, rowid, title, text FROM files WHERE path IN ({marks})", chunk
            )
            old += ((bytes(key), rowid, _words(title, text)) for key, rowid, title, text in held)
        # A contentless index deletes by the words it was given.
        db.executemany("INSERT INTO words (words, rowid, body) VALUES ('delete', ?, ?)",
                       [(rowid, body) for _, rowid, body in old if body is not None])  # fmt: skip
        db.executemany("DELETE FROM files WHERE path = ?", [(key,) for key, _, _ in old])
        rows = [row for row in self._pending_files.values() if row is not None]
        db.executemany(f"INSERT INTO files VALUES ({', '.join('?' * len(_FIELDS))})", rows)
        texts = [(body, row[0]) for row in rows if (body := self._words_of(row)) is not None]
        db.executemany(
            "INSERT INTO words (rowid, body) SELECT rowid, ? FROM files WHERE path = ?", texts
        )

    def _words_of(self, row: tuple) -> str | None:  # type: ignore[type-arg]
        """The words of a pending file, made when it was read, if it was."""
        key = row[0]
        if key in self._pending_words:
            return self._pending_words[key]
        return _words(row[_AT["title"]], row[_AT["text"]])

    def save(self, records: Iterable[tuple[FileRecord, tuple[str, ...] | None]]) -> None:
        """Store files as parsed and tagged, each with its text (summary and body) apart."""
        self.save_stored((record, stored(record, text)) for record, text in records)

    def save_stored(self, records: Iterable[tuple[FileRecord, Stored]]) -> None:
        """Store files whose rows were made by :func:`stored`."""
        with self._lock:
            for _, (row, found) in records:
                self._pending_files[row[0]] = row
                self._pending_words[row[0]] = found
                self._pending_shown[row[1]] = row[0]
            self._flush()

    def forget(self, paths: Iterable[str]) -> None:
        with self._lock:
            for path in paths:
                self._pending_files[_key(path)] = None
                self._pending_words.pop(_key(path), None)
                self._pending_shown.pop(display_path(path), None)
            self._flush()

    # Reading -----------------------------------------------------------------------

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:  # type: ignore[type-arg]
        """Rows from the database; none when it cannot be read (noted, for healing)."""
        if self._db is None:
            return []
        try:
            return self._db.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            if is_damage(exc):
                self._damage(exc)
            else:
                log.warning("index %s cannot be read: %s", self.path, exc)
            return []

    def files(self) -> Iterator[FileRecord]:
        """Every file the index knows, without article bodies."""
        with self._lock:
            rows = [r for r in self._read(f"SELECT {_COLUMNS} FROM files")
                    if bytes(r[0]) not in self._pending_files]  # fmt: skip
            rows += [(r[0], *r[2:16]) for r in self._pending_files.values() if r is not None]
        return map(_record, rows)

    def text(self, shown: str) -> tuple[str, ...] | None:
        """The summary and body of the article a file holds, by the file name it shows;
        None when the index does not have them (or cannot read them)."""
        held = self._held(shown, "title", "text")
        return _text(*held) if held is not None else None

    def reasons(self, shown: str) -> str | None:
        """Why the article a file holds is in its topics (JSON, see feeds.reasons), by the
        file name it shows; None when the index does not have it."""
        held = self._held(shown, "reasons")
        return held[0] if held is not None else None

    def _held(self, shown: str, *columns: str) -> tuple[Any, ...] | None:
        """Columns of the file that shows this name, pending or stored; None when the
        index has no such file."""
        with self._lock:
            key = self._pending_shown.get(shown)
            if key is not None:
                row = self._pending_files[key]
                return tuple(row[_AT[c]] for c in columns) if row is not None else None
            rows = self._read(
                f"SELECT path, {', '.join(columns)} FROM files WHERE shown = ?", (shown,)
            )
        rows = [r for r in rows if bytes(r[0]) not in self._pending_files]
        return tuple(rows[0][1:]) if rows else None

    def search(self, query: Query) -> set[str] | None:
        """The files (by shown name) whose articles hold every word or the phrase; None
        when the word index cannot answer."""
        with self._lock:
            if self._db is None or self.damaged or self.refilling:
                return None
            try:
                rows = self._db.execute(
                    "SELECT f.shown FROM words JOIN files f ON f.rowid = words.rowid"
                    " WHERE words MATCH ?", (query.fts(),)
                ).fetchall()  # fmt: skip
            except sqlite3.Error as exc:
                if is_damage(exc):
                    self._damage(exc)
                return None
            found = {shown for (shown,) in rows if shown not in self._pending_shown}
            for key, row in self._pending_files.items():
                if row is not None and self._pending_shown.get(row[1]) == key:
                    body = self._words_of(row) or ""
                    if _contains(f" {body} ", query):
                        found.add(row[1])
            forgotten = {k for k, r in self._pending_files.items() if r is None}
            if forgotten:
                found -= {display_path(bytes(k).decode("utf-8", "surrogateescape"))
                          for k in forgotten}  # fmt: skip
            return found

    # First-seen dates, departures and change times -----------------------------------

    def seen(self) -> dict[str, Seen]:
        """Every id the index has seen."""
        with self._lock:
            rows = {r[0]: r for r in self._read(
                "SELECT id, first_seen, digest, changed_at FROM seen")}  # fmt: skip
            rows.update(self._pending_seen)
        return {
            key: Seen(_when(first), digest, _when(at)) for key, first, digest, at in rows.values()
        }

    def seen_of(self, ids: list[str]) -> dict[str, Seen]:
        """When these ids were first seen, of those the index has seen."""
        with self._lock:
            rows = self._seen_rows(ids)
        return {
            key: Seen(_when(first), digest, _when(at)) for key, first, digest, at in rows.values()
        }

    def seen_seconds(self) -> set[int]:
        """The whole seconds first-seen dates hold: of every id's first sighting and change."""
        with self._lock:
            rows = self._read("SELECT first_seen, changed_at FROM seen")
            rows += [(first, at) for _, first, _, at in self._pending_seen.values()]
        return {int(moment) for row in rows for moment in row}

    def record_seen(
        self, articles: list[Indexed], now: datetime, moments: Mapping[str, datetime] = {}
    ) -> dict[str, Seen]:
        """Record new ids and changed content, at ``now`` or at the id's time in ``moments``;
        return what the index now holds for them."""
        with self._lock:
            known = self._seen_rows([a.id for a in articles])
            for a in articles:
                stamp = int(moments.get(a.id, now).timestamp())
                old = known.get(a.id)
                if old is None:
                    known[a.id] = self._pending_seen[a.id] = (a.id, stamp, a.digest, stamp)
                elif old[2] != a.digest:
                    known[a.id] = self._pending_seen[a.id] = (a.id, old[1], a.digest, stamp)
            self._flush()
        return {
            key: Seen(_when(first), digest, _when(at)) for key, first, digest, at in known.values()
        }

    def _seen_rows(self, ids: list[str]) -> dict[str, tuple[str, float, str, float]]:
        rows: dict[str, tuple[str, float, str, float]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows.update((r[0], r) for r in self._read(
                f"SELECT id, first_seen, digest, changed_at FROM seen WHERE id IN ({marks})",
                chunk))  # fmt: skip
        rows.update((i, self._pending_seen[i]) for i in ids if i in self._pending_seen)
        return rows

    def from_file(self) -> set[str]:
        """The ids whose first-seen date is their file's modification time."""
        with self._lock:
            found = {row[0] for row in self._read("SELECT id FROM seen_from_file")}
            return found | self._pending_from_file

    def record_from_file(self, ids: Iterable[str]) -> None:
        with self._lock:
            self._pending_from_file.update(ids)
            self._flush()

    def gone(self) -> dict[str, Gone]:
        """Every article that left some feeds, as it was then."""
        with self._lock:
            rows = {r[0]: r for r in self._read("SELECT id, published, topics, at FROM gone")}
            rows.update(self._pending_gone)
        return {i: Gone(i, _when(p), _split(t), _when(at)) for i, p, t, at in rows.values()}

    def record_gone(self, departed: Iterable[Gone]) -> None:
        with self._lock:
            for g in departed:
                self._pending_gone[g.id] = (
                    g.id,
                    g.published.timestamp(),
                    SEP.join(g.topics),
                    g.at.timestamp(),
                )
            self._flush()

    def changes(self) -> dict[str, datetime]:
        """When each feed (a topic slug; '' for all articles) last gained or lost an article."""
        with self._lock:
            rows = dict(self._read("SELECT feed, at FROM changes"))
            rows.update(self._pending_changes)
        return {feed: _when(at) for feed, at in rows.items()}

    def record_changes(self, changes: dict[str, datetime]) -> None:
        with self._lock:
            self._pending_changes.update((f, at.timestamp()) for f, at in changes.items())
            self._flush()

    def reopen(self) -> None:
        """A connection of this process's own, for a forked process: SQLite connections do
        not survive a fork. The inherited one is left alone, as the parent still uses it."""
        self._lock = threading.RLock()
        if self._db is not None:
            self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            self._writable = True

    def close(self) -> None:
        with self._lock:
            self._next_try = 0.0
            self._flush()
            if self.pending:
                log.warning("index %s: closing with changes it could not write", self.path)
            if self._db is not None:
                with suppress(sqlite3.Error):
                    self._db.close()


def _contains(text: str, query: Query) -> bool:
    if query.phrase:
        return f" {' '.join(query.words)} " in text
    return all(f" {word} " in text for word in query.words)


def _check_pages(db: sqlite3.Connection) -> None:
    """Raise :class:`DamagedIndex` unless SQLite finds every page of the file sound."""
    problems = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise DamagedIndex("; ".join(map(str, problems)))


def _exists(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


def _has_table(db: sqlite3.Connection, name: str, ddl: str) -> bool:
    """Whether table ``name`` exists as ``ddl`` creates it (compared as SQLite keeps it)."""
    row = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    wanted = ddl.replace("CREATE TABLE IF NOT EXISTS", "CREATE TABLE").strip()
    return row is not None and " ".join(str(row[0]).split()) == " ".join(wanted.split())
