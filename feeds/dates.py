"""Stable dates for articles whose front matter gives none.

Order of preference for the published date: front matter ``date``; the commit
that first added the file when the collection is in a git repository; the
file's modification time when the index first saw it, if that time is
plausible, else the moment it was seen (kept in the index database, outside
the collection). The updated date moves only when the file's content changes.

Articles dated together never share a second: a bulk import (300 files copied
at once, a commit of 300 files) would otherwise give every entry of a feed the
same ``updated``, which readers cannot order and validators warn about. Ties
are broken by going back a second at a time, in path order, so the last file
by name keeps the shared time and the dates stay the same on every run.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .collection import file_identity
from .models import Article, Indexed
from .store import IndexStore, Seen

log = logging.getLogger(__name__)

# Before this a file's modification time says nothing of when it was written: archives
# without times unpack to 1980 (zip) or 1970, and no collection of these files is older.
EARLIEST_FILE_TIME = datetime(1990, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
LOOKED_UP_ALONE = 1000  # articles a one-off command dates by looking their dates up alone


def distinct_seconds(
    wanted: Mapping[str, datetime],
    order: Mapping[str, str],
    taken: Iterable[datetime] = (),
    used: set[int] | None = None,
) -> dict[str, datetime]:
    """Each key's wanted moment as a whole second that no other key and nothing in ``taken``
    or ``used`` has: on a tie the key later in ``order`` keeps the moment, the others go
    back. The seconds given are added to ``used``."""
    used = set() if used is None else used
    used.update(int(moment.timestamp()) for moment in taken)
    placed: dict[str, datetime] = {}
    below: int | None = None  # the last second given: every one above it, up to here, is used
    for key in sorted(wanted, key=lambda k: (wanted[k].timestamp(), order[k]), reverse=True):
        second = int(wanted[key].timestamp())
        if below is not None and second >= below:
            second = below - 1  # skip the run of seconds given already: linear, not quadratic
        while second in used:
            second -= 1
        used.add(second)
        below = second
        placed[key] = datetime.fromtimestamp(second, UTC)
    return placed


def file_time(mtime_ns: int | None, now: datetime) -> datetime | None:
    """A file's modification time, when it is plausible as the moment the article was written."""
    if mtime_ns is None:
        return None
    moment = datetime.fromtimestamp(mtime_ns // 1_000_000_000, UTC)
    return moment if EARLIEST_FILE_TIME <= moment <= now else None


@dataclass(frozen=True, slots=True)
class FileHistory:
    """What git says of one file: when it was first added and last changed."""

    added: datetime
    changed: datetime


class GitHistory:
    """File dates from ``git log``, read again only when HEAD moves, or when the collection
    path comes to name another folder (a link switched to a new release)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._key: tuple[str, frozenset[str]] | None = None
        self._files: dict[str, FileHistory] = {}
        self._folder: tuple[int, int] | None = None
        self._available: bool | None = None  # not yet asked

    @property
    def available(self) -> bool:
        """Whether the collection is in a git work tree: asked again of each folder the
        collection path names, so a release that is a checkout is dated by its history."""
        folder = file_identity(self.root)
        if self._available is None or folder != self._folder:
            self._folder = folder
            self._key = None  # another folder: its history, if any, is read anew
            self._available = self._git("rev-parse", "--is-inside-work-tree") is not None
        return self._available

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
        # Files of one commit share its time: give each its own second, the same in every clone.
        order = {path: path for path in files}
        added = distinct_seconds({p: h.added for p, h in files.items()}, order)
        changed = distinct_seconds(
            {p: h.changed for p, h in files.items() if h.changed > h.added}, order, added.values()
        )
        return {p: FileHistory(added[p], changed.get(p, added[p])) for p in files}

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
        # A one-off command (``feeds build``) dating a few articles looks their dates up
        # alone, rather than load every id's; a server loads them all, to outlive damage.
        self.lazy = False
        self._some: dict[str, Seen] = {}
        self._used_seconds: set[int] | None = None
        self._from_file_ids: set[str] | None = None
        self.origins: dict[str, str] = {}  # id -> where its published date came from

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

    def date(
        self,
        articles: list[Indexed],
        now: datetime | None = None,
        mtimes: Mapping[str, int] | None = None,
    ) -> list[Article]:
        """Dated articles; ``mtimes`` gives files' modification times (ns) by article path."""
        if not articles:
            return []
        now = now or datetime.now(UTC).replace(microsecond=0)
        history, dirty = self.git.lookup() if self.git else ({}, frozenset())
        seen = self._seen_of([a.id for a in articles])
        fresh = [a for a in articles if (s := seen.get(a.id)) is None or s.digest != a.digest]
        if fresh:
            moments = self._moments(fresh, now, mtimes or {})
            placed = distinct_seconds(
                {i: m or now for i, m in moments.items()},
                {a.id: a.path for a in fresh},
                [a.published for a in fresh if a.published],
                self._used,
            )
            new = {a.id for a in fresh if a.id not in seen}
            seen.update(self.store.record_seen(fresh, now, placed))
            dated_by_file = {i for i in new if moments[i] is not None}
            if dated_by_file:
                self.store.record_from_file(dated_by_file)
                self._from_file.update(dated_by_file)
        return [self._dated(a, seen.get(a.id), history.get(a.path), a.path in dirty, now)
                for a in articles]  # fmt: skip

    def _seen_of(self, ids: list[str]) -> dict[str, Seen]:
        """First-seen dates that hold those of these ids (and are kept current with them)."""
        if self._loaded is not None or not self.lazy or len(ids) > LOOKED_UP_ALONE:
            return self._seen
        self._some.update(self.store.seen_of([i for i in ids if i not in self._some]))
        return self._some

    @staticmethod
    def _moments(
        fresh: list[Indexed], now: datetime, mtimes: Mapping[str, int]
    ) -> dict[str, datetime | None]:
        """For each new or changed article, its file's time if plausible, else None (now)."""
        return {a.id: file_time(mtimes.get(a.path), now) for a in fresh}

    @property
    def _from_file(self) -> set[str]:
        """The ids whose first-seen date is their file's modification time."""
        if self._from_file_ids is None:
            self._from_file_ids = self.store.from_file()
        return self._from_file_ids

    @property
    def _used(self) -> set[int]:
        """Seconds that first-seen dates hold, kept current as dates are recorded."""
        if self._used_seconds is None and self._loaded is None and self.lazy:
            self._used_seconds = self.store.seen_seconds()
        if self._used_seconds is None:
            self._used_seconds = {
                int(moment.timestamp())
                for seen in self._seen.values()
                for moment in (seen.first_seen, seen.changed_at)
            }
        return self._used_seconds

    def _dated(
        self,
        article: Indexed,
        seen: Seen | None,
        known: FileHistory | None,
        dirty: bool,
        now: datetime,
    ) -> Article:
        first_seen, changed_at = (seen.first_seen, seen.changed_at) if seen else (now, now)
        last_change: datetime | None
        if known is None:
            last_change = changed_at if changed_at > first_seen else None
        elif dirty:
            last_change = max(known.changed, changed_at)
        else:
            last_change = known.changed if known.changed > known.added else None
        from_file = seen is not None and article.id in self._from_file
        # The earliest sighting: a file seen before it was committed keeps its date. A file's
        # own time never beats git's, which is the same in every clone.
        use_git = known is not None and (from_file or known.added <= first_seen)
        published = article.published or (known.added if known and use_git else first_seen)
        self.origins[article.id] = (
            "front matter" if article.published
            else "git history" if use_git
            else "file time" if from_file
            else "first seen"
        )  # fmt: skip
        updated = article.updated or max(last_change or published, published)
        return article.dated(published, updated)
