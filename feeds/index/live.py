"""The live index: builds snapshots from the collection and keeps them current.

Start-up reads the persistent index (:mod:`feeds.store`) and re-reads only the
files whose size, modification time or content changed; a cold start with
thousands of files spreads parsing and tagging over every core. A warm start
serves the snapshot the last run kept (:mod:`.state`) at once and compares it
with the collection in the background, while changes noticed meanwhile go
through. While serving, the :class:`~.watch.Watcher` names the files that
changed; only those are re-read, re-dated and re-tagged, and
:meth:`Snapshot.apply` swaps in a new snapshot that shares everything else.
Requests in flight finish on the snapshot they started with.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable

from .. import collection, store
from ..collection import FileEntry
from ..config import Config
from ..dates import Dater
from ..models import Article, Problem
from ..search import Query
from ..snapshot import Requested, Snapshot
from ..store import FileRecord, IndexStore
from . import compare
from .files import FileTable
from .history import ChangeLog
from .readers import CHUNK, Readers
from .requested import SharedRequests
from .state import FastStart, no_collection
from .tagging import TaxonomySource
from .watch import EVERYTHING as SCAN_ALL
from .watch import Watcher

log = logging.getLogger(__name__)


class StoredTexts:
    """Articles' texts from the index, or read again from their files when it lacks them."""

    def __init__(self, store: IndexStore, reread: Callable[[Article], tuple[str, ...] | None]):
        self.store = store
        self.reread = reread

    def text(self, article: Article) -> tuple[str, ...] | None:
        return self.store.text(article.path) or self.reread(article)

    def reasons(self, article: Article) -> str | None:
        return self.store.reasons(article.path)

    def search(self, query: Query) -> set[str] | None:
        return self.store.search(query)


class LiveIndex:
    """Holds the current snapshot and replaces it when the collection changes."""

    def __init__(self, config: Config, fast_start: bool = False) -> None:
        self.config = config
        self.root = config.collection_path
        if not self.root.is_dir():
            raise FileNotFoundError(f"collection folder not found: {self.root}")
        # A resumed start checks the database's pages in the background (:meth:`_verify`):
        # what it serves first comes from the checksummed snapshot file.
        self.store = IndexStore(config.index_path, verify=not fast_start)
        self.dater = Dater(self.root, self.store, use_git=config.git_dates)
        self.topics = TaxonomySource(config, cache=self.store.folder / "taxonomy.pickle")
        self.readers = Readers(self.root)
        self.files = FileTable()
        self.fast_start = FastStart(self.store)
        self.history = ChangeLog(self.store)
        self.requested = Requested(SharedRequests(self.store.folder))
        self.texts = StoredTexts(self.store, self.reread)
        self.watcher = Watcher(
            self.root, config.reload_interval, self.check,
            busy=lambda: bool(self.store.pending or self.store.damaged),
            retry_seconds=lambda: store.RETRY_SECONDS,
        )  # fmt: skip
        self._lock = threading.RLock()
        self._reported: set[Problem] = set()  # problems already logged
        self._stale: set[str] = set()  # files whose text the index lost: to read again
        self.last_error: str | None = None
        self.checked_at = time.time()  # the last time the snapshot was known to be current
        self._saver: tuple[int, Snapshot] | None = None  # a process keeping the state apart
        self._kept: Snapshot | None = None  # the snapshot whose state was kept last
        # Told of each snapshot that replaces another (the old one, then the new), after the
        # swap; it must return at once (feeds.push does its work in the background).
        self.on_change: Callable[[Snapshot, Snapshot], None] | None = None
        with no_collection():
            started = self._resume() if fast_start else None
        self.reconciling = started is not None  # served, not yet compared with the files
        self.resumed = started is not None  # else made whole: what changed since is unknown
        if started is None and not self.store.verify():  # about to build on it: check first
            self.store.heal({})
        self.snapshot: Snapshot = started or self._rebuild(self._known_records(), offline=True)
        if not self.reconciling:
            self._save_state()

    # Building ------------------------------------------------------------------------

    def _resume(self) -> Snapshot | None:
        """The snapshot the last run left, if it was made with these topics and code.

        It is served at once; :meth:`reconcile` then compares it with the collection and
        applies whatever changed meanwhile, as for any other change.
        """
        if self.topics.problem is not None:
            return None
        kept = self.fast_start.load(self.topics.fingerprint)
        if kept is None:
            return None
        self.files, git_key = kept
        presorted = git_key == self.dater.git_key()  # the dates, and so the order, still hold
        if not presorted:  # commits since: date again from the index
            known = [r for p, r in self._known_records().items() if p in self.files.entries]
            self.files.set_articles(self._date(known))
        ordered = self.files.held()
        log.info("resumed the last snapshot: %d articles", len(ordered))
        return self._snapshot(ordered, presorted=presorted)

    def _snapshot(self, articles: Iterable[Article], presorted: bool = False) -> Snapshot:
        """A whole new snapshot of these articles, with what the index knows of departures."""
        assert self.topics.taxonomy is not None
        return Snapshot.build(
            articles, self._reported_problems(), self.topics.taxonomy, self.config,
            self.topics.matcher, texts=self.texts, presorted=presorted,
            changes=self.store.changes(), gone=self.store.gone(), requested=self.requested,
        )  # fmt: skip

    def reread(self, article: Article) -> tuple[str, ...] | None:
        """The text of an article read again from its file, when the index cannot give it.

        The file is also queued for the watcher, which stores what it reads.
        """
        path = self.files.path_of(article)
        entry = self.files.entries.get(path) if path is not None else None
        if path is None or entry is None:
            return None
        found, _ = collection.read_article(self.root, entry)
        if path not in self._stale:  # once: the watcher reads and stores it again
            self._stale.add(path)
            log.warning("%s: text not in the index %s; read from the file", path, self.store.path)
        self.watcher.queue({path})
        return (found.summary, *found.body) if found is not None else None

    def _save_state(self) -> None:
        self.fast_start.save(
            self.files, self.snapshot.articles, self.topics.fingerprint, self.dater.git_key()
        )
        self._kept = self.snapshot

    def _known_records(self) -> dict[str, FileRecord]:
        return {record.entry.path: record for record in self.store.files()}

    def catch_up(self) -> None:
        """Compare a resumed snapshot with the collection now, as the watcher does first; for
        a one-off command such as ``feeds build``, which starts no watcher. The pages of the
        database are checked meanwhile, as :meth:`reconcile` does; a damaged one is rebuilt
        from the collection, the comparison's work with it."""
        if not self.reconciling:
            return
        self.dater.lazy = True  # no server outlives this index: date only what changed
        checking = threading.Thread(target=self.store.verify, name="feeds-verify", daemon=True)
        checking.start()
        try:
            changed = self.refresh()
        finally:
            checking.join()
        if not self._verify() or changed:
            self.reconciling = False  # the state kept for the next start has changed: save it
            self._save_state_apart()

    def _save_state_apart(self) -> None:
        """Keep the state for the next start from a forked process, on another core, while
        this one goes on (a build renders meanwhile); :meth:`close` waits for it. Only for
        an index that holds all the snapshot describes, and where forking is safe."""
        if self.store.pending or threading.active_count() > 1:
            return  # close() keeps it, once the index holds it all
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        saving = self.snapshot
        pid = os.fork()
        if pid == 0:  # the forked process, which never returns
            code = 1
            try:
                self._save_state()
                code = 0
            finally:
                os._exit(code)
        self._saver = (pid, saving)

    def _saved_apart(self) -> None:
        """Wait for the process keeping the state apart, if there is one."""
        if self._saver is None:
            return
        pid, saving = self._saver
        self._saver = None
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0:
            self._kept = saving

    def reconcile(self) -> None:
        """Compare a resumed snapshot with the collection and apply what changed meanwhile.

        The scan runs without the lock and the differences are applied a chunk at a time,
        each file looked at again then, so changes noticed meanwhile are published at once
        rather than after the whole comparison. The pages of the database are checked
        beside it (SQLite reads them without holding the interpreter); the state for the next
        start is kept only once they are found sound."""
        checking = threading.Thread(target=self.store.verify, name="feeds-verify", daemon=True)
        checking.start()
        try:
            now, scan_problems, unread = compare.scan(self.root)
            with self._lock:
                found = compare.difference(now, self.files.entries, unread, self.watcher.writing())
            ordered = sorted({e.path for e in found.changed} | found.gone)
            log.info("comparing the resumed snapshot: %d files changed meanwhile", len(ordered))
            for start in range(0, len(ordered), CHUNK):
                self.refresh(ordered[start : start + CHUNK])
            with self._lock:
                if scan_problems != self.files.scan_problems:
                    self.files.scan_problems = scan_problems
                    self._apply([], set())
        except Exception:
            log.exception("comparing the resumed snapshot with the collection failed")
            self.watcher.queue({SCAN_ALL})
        checking.join()
        sound = self._verify()  # if not, rebuilt from the collection: made whole anew
        with self._lock:
            self.reconciling = False
            if sound:
                self._save_state()
        log.info("the resumed snapshot is up to date with the collection")

    def _verify(self) -> bool:
        """Check the pages of a database a resumed start did not check before serving; a
        damaged one is set aside and rebuilt from the collection, replacing the snapshot
        resumed with it. Whether the database was sound."""
        if self.store.verify():
            return True
        self._heal()
        return False

    def refresh(self, paths: Iterable[str] | None = None) -> bool:
        """Bring the snapshot up to date: the named files, or the whole collection.

        Returns whether the snapshot changed.
        """
        with self._lock:
            if self.topics.changed():
                self._replace(self._rebuild(self._known_records()))
                return True
            if paths is None:
                return self._full_scan()
            return self._update(set(paths))

    def _replace(self, after: Snapshot) -> None:
        """Swap in a snapshot made whole, dating what it changed."""
        before = self.snapshot
        self.history.whole(before, after)
        self.snapshot = after
        self._tell(before)

    def _full_scan(self) -> bool:
        now, scan_problems, unread = compare.scan(self.root)
        found = compare.difference(now, self.files.entries, unread, self.watcher.writing())
        problems_moved = scan_problems != self.files.scan_problems
        self.files.scan_problems = scan_problems
        if not found and not problems_moved:
            return False
        self._apply(found.changed, found.gone)
        return True

    def _update(self, paths: set[str]) -> bool:
        """Bring the named files, and the folders named with a trailing ``/``, up to date."""
        found = compare.named(self.root, paths, self.files.entries, self._stale)
        if found is None:
            return self._full_scan()
        if not found:
            return False
        self._apply(found.changed, found.gone)
        return True

    def _apply(self, entries: list[FileEntry], gone: Iterable[str]) -> None:
        """Re-read ``entries``, drop ``gone``, and swap in a snapshot with just that changed."""
        gone = set(gone)
        # Everything that can fail comes first: nothing is marked as known before it is done.
        fresh = self._read(entries)
        dated = self._date(fresh)
        self.store.forget(gone)
        articles = self.files.articles
        touched_ids = {articles[p].id for p in gone | {e.path for e in entries} if p in articles}
        before = {i: self.snapshot.by_id[i] for i in touched_ids if i in self.snapshot.by_id}
        for path in gone:
            self.files.drop(path)
        for record in fresh:
            self.files.keep(record)
            self.files.set_article(record.entry.path, None)
            self._stale.discard(record.entry.path)
        for path, article in dated.items():
            self.files.set_article(path, article)
            touched_ids.add(article.id)
        after = {i: owner for i in touched_ids if (owner := self.files.owner(i)) is not None}
        removed = [a for i, a in before.items() if after.get(i) is not a]
        added = [a for i, a in after.items() if before.get(i) is not a]
        before_snapshot = self.snapshot
        self.snapshot = self.snapshot.apply(
            removed, added, self._reported_problems(), self.history.moment()
        )
        self.history.applied(self.snapshot)
        log.info("snapshot: %d changed, %d removed files", len(entries), len(gone))
        self._tell(before_snapshot)

    def _tell(self, before: Snapshot) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(before, self.snapshot)
        except Exception:  # whoever listens never takes the index down
            log.exception("telling of a new snapshot failed")

    def _rebuild(self, known: dict[str, FileRecord], offline: bool = False) -> Snapshot:
        """A whole new snapshot: at start-up, and when the topics change."""
        if self.topics.changed():
            self.topics.load()
        unread: set[str] = set()
        entries, scan_problems = collection.scan(self.root, unread=unread)
        # Files known under a folder that cannot be read now are kept as they were.
        current = {e.path for e in entries} | {p for p in known if compare.under(p, unread)}
        fingerprint = self.topics.fingerprint
        # Files that changed, and files tagged by other topics or other matching code.
        stale = [
            e for e in entries
            if e.path not in known or known[e.path].entry != e
            or (known[e.path].article is not None and known[e.path].tagging != fingerprint)
        ]  # fmt: skip
        results = self._read(stale)
        self.store.forget(known.keys() - current)
        records = {p: r for p, r in known.items() if p in current}
        records.update((r.entry.path, r) for r in results)
        self.files = FileTable()
        self.files.scan_problems = scan_problems
        self.files.fill(records.values(), self._date(list(records.values())))
        if offline and known:
            before = {p: r.article for p, r in known.items() if r.article is not None}
            self.history.offline(before, self.files.articles, self.dater.known())
        snapshot = self._snapshot(self.files.owners().values())
        self.store.refilling = False  # every file is in the index again: it can search
        log.info("snapshot: %d articles, %d re-read", len(snapshot.articles), len(results))
        return snapshot

    def _read(self, entries: list[FileEntry]) -> list[FileRecord]:
        """Parse and tag files and store what they gave; the texts go to disk, not memory."""
        taxonomy, matcher = self.topics.taxonomy, self.topics.matcher
        assert taxonomy is not None and matcher is not None
        records: list[FileRecord] = []
        for results in self.readers.read(entries, taxonomy, matcher, self.topics.fingerprint):
            self.store.save_stored(results)
            records += (record for record, _ in results)
        return records

    def _date(self, records: list[FileRecord]) -> dict[str, Article]:
        """Dated and tagged articles, by file path."""
        records = [r for r in records if r.article is not None]
        mtimes = {r.article.path: r.entry.mtime_ns for r in records}  # type: ignore[union-attr]
        dated = self.dater.date([r.article for r in records], mtimes=mtimes)  # type: ignore[misc]
        return {r.entry.path: a for r, a in zip(records, dated, strict=True)}

    def _reported_problems(self) -> list[Problem]:
        """The problems, each new one also logged once, for whoever runs the server."""
        problems = self.files.problems([self.topics.problem] if self.topics.problem else [])
        for problem in problems:
            if problem not in self._reported:
                log.warning("%s", problem)
        self._reported = set(problems)
        return problems

    # Watching ------------------------------------------------------------------------

    def start(self) -> None:
        """Follow the collection: file-system events where available, else periodic scans;
        a resumed snapshot is compared with the collection beside."""
        if self.config.reload_interval <= 0:
            return
        self.watcher.start(self.reconcile if self.reconciling else None)

    def notice(self, path: str, is_directory: bool) -> None:
        """Note a changed path; the watcher thread picks it up at once."""
        self.watcher.notice(path, is_directory)

    def check(self) -> bool:
        """One check for changes; a failure is logged and the previous snapshot kept serving."""
        pending = self.watcher.take()
        try:
            if self.store.damaged:
                self._heal()
            changed = self.refresh(None if (not pending or SCAN_ALL in pending) else pending)
        except Exception as exc:
            self.watcher.again(pending or {SCAN_ALL})  # tried again at the next check
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("reloading the collection failed; previous snapshot kept")
            return False
        self.store.retry()
        self.last_error = None
        self.checked_at = time.time()
        return changed

    def _heal(self) -> None:
        """The index was found damaged while serving: a new one, filled from the collection.
        The snapshot in service keeps serving meanwhile, reading texts from the files."""
        with self._lock:
            self.store.heal(self.dater.known())
            self._replace(self._rebuild({}))
            self._save_state()

    def close(self) -> None:
        self.watcher.stop()
        with self._lock:
            self._saved_apart()
            # A snapshot is kept only for an index that holds all it describes, and only
            # once (a cold start keeps it as soon as it is made).
            if (self.store.retry(now=True) and not self.reconciling
                    and self._kept is not self.snapshot):  # fmt: skip
                self._save_state()
            self.store.close()
