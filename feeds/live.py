"""The live index: builds snapshots from the collection and keeps them current.

Start-up reads the persistent index (:mod:`feeds.store`) and re-reads only the
files whose size, modification time or content changed; a cold start with
thousands of files spreads parsing and tagging over every core. While serving,
file-system events (inotify through watchdog) or, where those are missing,
periodic scans name the files that changed; only those are re-read, re-dated
and re-tagged, and :meth:`Snapshot.apply` swaps in a new snapshot that shares
everything else. Requests in flight finish on the snapshot they started with.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

from . import collection, topics
from .collection import FileEntry
from .config import Config
from .dates import Dater
from .index import EVERYTHING, Snapshot, departures
from .models import Article, Problem
from .store import RETRY_SECONDS, FileRecord, IndexStore, pack, unpack
from .taxonomy import Taxonomy, TaxonomyError, load_taxonomy
from .topics import Matcher

log = logging.getLogger(__name__)

PARALLEL_FROM = 2000  # files; below this a process pool costs more than it saves
CHUNK = 500  # files parsed, tagged and stored at a time
STATE_VERSION = 2
RESCAN_SECONDS = 300.0  # a full scan now and then, in case file-system events were lost


def tagging_fingerprint(taxonomy: Taxonomy) -> str:
    """Changes whenever tagging could give another answer: new topics or new matching code."""
    digest = hashlib.sha256(repr(taxonomy).encode())
    package = Path(topics.__file__).parent
    for module in ("topics.py", "taxonomy.py", "collection.py"):
        if (package / module).exists():
            digest.update((package / module).read_bytes())
    return digest.hexdigest()[:16]


def read_and_tag(
    root: Path, entries: Iterable[FileEntry], matcher: Matcher, fingerprint: str
) -> list[tuple[FileRecord, tuple[str, ...] | None]]:
    """Parse and tag files: records without bodies, each with its body apart."""
    done: list[tuple[FileRecord, tuple[str, ...] | None]] = []
    for entry in entries:
        article, problems = collection.read_article(root, entry)
        if article is None:
            done.append((FileRecord(entry, None, tuple(problems)), None))
            continue
        unknown = [s for s in article.declared_topics if s not in matcher.taxonomy]
        if unknown:
            reason = f"unknown topics ignored: {', '.join(unknown)}"
            problems.append(Problem(article.path, reason, "warning"))
        tagged = replace(article, body=(), summary="", topics=matcher.topics_of(article))
        record = FileRecord(entry, tagged, tuple(problems), fingerprint)
        done.append((record, (article.summary, *article.body)))
    return done


_worker: tuple[Matcher, str] | None = None


def _start_worker(taxonomy: Taxonomy, fingerprint: str) -> None:
    global _worker
    _worker = (Matcher(taxonomy), fingerprint)


@contextmanager
def _package_first() -> Iterator[None]:
    """Spawned processes import this package from where this process did, never from a
    ``feeds`` folder in the working directory that happens to come first on the path."""
    home = str(Path(__file__).resolve().parent.parent)
    saved = sys.path[:]
    sys.path[:] = [home, *(p for p in saved if p not in ("", ".", os.getcwd(), home))]
    try:
        yield
    finally:
        sys.path[:] = saved


def _work(root: Path, entries: list[FileEntry]) -> list[tuple[FileRecord, tuple[str, ...] | None]]:
    assert _worker is not None
    return read_and_tag(root, entries, *_worker)


class LiveIndex:
    """Holds the current snapshot and replaces it when the collection changes."""

    def __init__(self, config: Config, fast_start: bool = False) -> None:
        self.config = config
        self.root = config.collection_path
        if not self.root.is_dir():
            raise FileNotFoundError(f"collection folder not found: {self.root}")
        self.store = IndexStore(config.index_path)
        self.dater = Dater(self.root, self.store, use_git=config.git_dates)
        self._files: dict[str, FileEntry] = {}  # every article file, as last read
        self._problems_of: dict[str, tuple[Problem, ...]] = {}  # files that have problems
        self._articles: dict[str, Article] = {}  # path -> dated and tagged, without body
        self._paths_of: dict[str, list[str]] = {}  # id -> the paths that claim it, sorted
        self._duplicates: set[str] = set()  # ids claimed by more than one path
        self._scan_problems: list[Problem] = []
        self._reported: set[Problem] = set()  # problems already logged
        self._taxonomy: Taxonomy | None = None
        self._taxonomy_key: object = None
        self._taxonomy_problem: Problem | None = None
        self._matcher: Matcher | None = None
        self._fingerprint = ""
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: object = None
        self._pending: set[str] = set()
        self._stale: set[str] = set()  # files whose text the index lost: to read again
        self._wake = threading.Event()
        self.last_error: str | None = None
        self.checked_at = time.time()  # the last time the snapshot was known to be current
        # Told of each snapshot that replaces another (the old one, then the new), after the
        # swap; it must return at once (feeds.push does its work in the background).
        self.on_change: Callable[[Snapshot, Snapshot], None] | None = None
        self._load_taxonomy()
        started = self._resume() if fast_start else None
        self._reconcile = started is not None
        self.resumed = started is not None  # else made whole: what changed since is unknown
        self.snapshot: Snapshot = started or self._rebuild(self._known_records(), offline=True)
        if not self._reconcile:
            self._save_state()

    # Building ------------------------------------------------------------------------

    def _resume(self) -> Snapshot | None:
        """The snapshot the last run left, if it was made with these topics and code.

        It is served at once; the watcher then compares it with the collection and applies
        whatever changed meanwhile, as for any other change.
        """
        state = self.store.load_state()
        if state is None:
            return None
        if not isinstance(state, tuple) or len(state) != 6 or state[0] != STATE_VERSION:
            log.info("snapshot %s is from another version: building anew", self.store.state_path)
            return None
        _, generation, fingerprint, git_key, scan_problems, files = state
        if generation != self.store.generation:
            # The database is not the one the snapshot was made with (rebuilt, replaced).
            log.warning("snapshot %s does not match the index %s: building anew",
                        self.store.state_path, self.store.path)  # fmt: skip
            return None
        if fingerprint != self._fingerprint or self._taxonomy_problem is not None:
            return None
        try:
            self._unpack_state(files, scan_problems)
        except Exception as exc:  # a whole file of the wrong shape: it was not ours
            self._files, self._problems_of, self._articles = {}, {}, {}
            self.store.discard_state(exc)
            return None
        if git_key != self.dater.git_key():  # commits since: date again from the index
            known = [r for p, r in self._known_records().items() if p in self._files]
            self._articles = self._date(known)
        self._index_ids()
        owners = self._owners()
        ordered = [a for a in self._articles.values() if owners[a.id] is a]
        log.info("resumed the last snapshot: %d articles", len(owners))
        presorted = git_key == self.dater.git_key()  # the dates, and so the order, still hold
        return self._snapshot(ordered, presorted=presorted)

    def _unpack_state(self, files: list[tuple], scan_problems: list[tuple]) -> None:  # type: ignore[type-arg]
        gc.disable()  # a hundred thousand objects at once: skip the collector's passes
        try:
            for packed in files:
                entry, problems, dated = unpack(packed)
                self._files[entry.path] = entry
                if problems:
                    self._problems_of[entry.path] = problems
                if dated is not None:
                    self._articles[entry.path] = dated
        finally:
            gc.enable()
        self._scan_problems = [Problem(*p) for p in scan_problems]

    def _snapshot(self, articles: Iterable[Article], presorted: bool = False) -> Snapshot:
        """A whole new snapshot of these articles, with what the index knows of departures."""
        assert self._taxonomy is not None
        return Snapshot(
            articles, self._reported_problems(), self._taxonomy, self.config, self._matcher,
            self.store, presorted=presorted, reread=self.reread, changes=self.store.changes(),
            gone=self.store.gone(),
        )  # fmt: skip

    def reread(self, article: Article) -> tuple[str, ...] | None:
        """The text of an article read again from its file, when the index cannot give it.

        The file is also queued for the watcher, which stores what it reads.
        """
        claims = self._paths_of.get(article.id, [])
        path = next((p for p in claims if self._articles.get(p) is article), None)
        entry = self._files.get(path) if path is not None else None
        if path is None or entry is None:
            return None
        found, _ = collection.read_article(self.root, entry)
        if path not in self._stale:  # once: the watcher reads and stores it again
            self._stale.add(path)
            log.warning("%s: text not in the index %s; read from the file", path, self.store.path)
        self._pending.add(path)
        self._wake.set()
        return (found.summary, *found.body) if found is not None else None

    def _save_state(self) -> None:
        # Newest first, as the snapshot holds them: a resumed snapshot need not sort again.
        order = {a.id: n for n, a in enumerate(self.snapshot.articles)}
        paths = sorted(self._files, key=lambda p: order.get(self._articles[p].id, len(order))
                       if p in self._articles else len(order))  # fmt: skip
        files = [pack(self._files[p], self._problems_of.get(p, ()), self._articles.get(p))
                 for p in paths]  # fmt: skip
        problems = [(p.path, p.reason, p.severity) for p in self._scan_problems]
        state = (STATE_VERSION, self.store.generation, self._fingerprint, self.dater.git_key(),
                 problems, files)  # fmt: skip
        try:
            self.store.save_state(state)
        except OSError as exc:
            log.warning("could not keep the snapshot for a fast start: %s", exc)

    def _keep(self, record: FileRecord) -> None:
        path = record.entry.path
        self._files[path] = record.entry
        if record.problems:
            self._problems_of[path] = record.problems
        else:
            self._problems_of.pop(path, None)

    def _known_records(self) -> dict[str, FileRecord]:
        return {record.entry.path: record for record in self.store.files()}

    def catch_up(self) -> None:
        """Compare a resumed snapshot with the collection now, as the watcher does first; for
        a one-off command such as ``feeds build``, which starts no watcher."""
        if self._reconcile and self.refresh():
            self._reconcile = False  # the state kept for the next start has changed: save it

    def refresh(self, paths: Iterable[str] | None = None) -> bool:
        """Bring the snapshot up to date: the named files, or the whole collection.

        Returns whether the snapshot changed.
        """
        with self._lock:
            if self._taxonomy_files_key() != self._taxonomy_key:
                before = self.snapshot
                after = self._rebuild(self._known_records())
                after.requested = before.requested
                self._date_change(before, after)
                self.snapshot = after
                self._tell(before)
                return True
            if paths is None:
                return self._full_scan()
            return self._update(set(paths))

    def _full_scan(self) -> bool:
        entries, scan_problems = collection.scan(self.root)
        now = {e.path: e for e in entries}
        changed = {p for p, e in now.items() if self._files.get(p) != e}
        removed = self._files.keys() - now.keys()
        problems_moved = scan_problems != self._scan_problems
        self._scan_problems = scan_problems
        if not changed and not removed and not problems_moved:
            return False
        self._apply([now[p] for p in sorted(changed)], removed)
        return True

    def _update(self, paths: set[str]) -> bool:
        """Bring the named files, and the folders named with a trailing ``/``, up to date."""
        entries: list[FileEntry] = []
        gone: set[str] = set()
        for path in sorted(paths):
            if any(part.startswith(".") for part in path.split("/")):
                continue
            if path.endswith("/"):
                if not self._update_folder(path.rstrip("/"), entries, gone):
                    return self._full_scan()
                continue
            if not path.endswith(".txt"):
                continue
            try:
                info = (self.root / path).stat()
            except OSError:
                gone.add(path)
                continue
            if not collection.stat.S_ISREG(info.st_mode) or (self.root / path).is_symlink():
                return self._full_scan()  # anything unusual: let the full scan judge it
            entry = FileEntry(path, info.st_size, min(info.st_mtime_ns, collection.MAX_MTIME_NS))
            if self._files.get(path) != entry or path in self._stale:
                entries.append(entry)
        gone &= self._files.keys()
        if not entries and not gone:
            return False
        self._apply(entries, gone)
        return True

    def _update_folder(self, folder: str, entries: list[FileEntry], gone: set[str]) -> bool:
        """A folder that appeared, moved or went: scan just it. False: scan everything."""
        if not folder or (self.root / folder).is_symlink():
            return False
        prefix = folder + "/"
        found, problems = collection.scan(self.root, folder) if (self.root / folder).is_dir() \
            else ([], [])  # fmt: skip
        if problems:
            return False  # links, special files: the full scan reports them
        inside = {e.path: e for e in found}
        entries += [e for p, e in inside.items() if self._files.get(p) != e]
        gone |= {p for p in self._files if p.startswith(prefix) and p not in inside}
        return True

    def _apply(self, entries: list[FileEntry], gone: Iterable[str]) -> None:
        """Re-read ``entries``, drop ``gone``, and swap in a snapshot with just that changed."""
        gone = set(gone)
        # Everything that can fail comes first: nothing is marked as known before it is done.
        fresh = self._read(entries)
        dated = self._date(fresh)
        self.store.forget(gone)
        touched_ids = {self._articles[p].id for p in gone | {e.path for e in entries}
                       if p in self._articles}  # fmt: skip
        before = {i: self.snapshot.by_id[i] for i in touched_ids if i in self.snapshot.by_id}
        for path in gone:
            self._files.pop(path, None)
            self._problems_of.pop(path, None)
            self._set_article(path, None)
        for record in fresh:
            self._keep(record)
            self._set_article(record.entry.path, None)
            self._stale.discard(record.entry.path)
        for path, article in dated.items():
            self._set_article(path, article)
            touched_ids.add(article.id)
        after = {i: owner for i in touched_ids if (owner := self._owner(i)) is not None}
        removed = [a for i, a in before.items() if after.get(i) is not a]
        added = [a for i, a in after.items() if before.get(i) is not a]
        before_snapshot = self.snapshot
        self.snapshot = self.snapshot.apply(
            removed, added, self._reported_problems(), self._change_moment()
        )
        self.store.record_gone(self.snapshot.departed)
        self.store.record_changes(self.snapshot.stamped)
        log.info("snapshot: %d changed, %d removed files", len(entries), len(gone))
        self._tell(before_snapshot)

    def _tell(self, before: Snapshot) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(before, self.snapshot)
        except Exception:  # whoever listens never takes the index down
            log.exception("telling of a new snapshot failed")

    def _change_moment(self) -> datetime:
        """When a change is dated: the next whole second, and after every earlier change, so
        a client that saw the previous state never has a date as late as this change."""
        latest = max((t.timestamp() for t in self.store.changes().values()), default=0.0)
        return datetime.fromtimestamp(max(int(time.time()) + 1, int(latest) + 1), UTC)

    def _date_change(self, before: Snapshot, after: Snapshot) -> None:
        """Date a change found by comparing whole snapshots (new topics, a rebuilt index)."""
        removed = [a for a in before.articles if after.by_id.get(a.id) != a]
        added = [a for a in after.articles if before.by_id.get(a.id) != a]
        retitled = before.taxonomy != after.taxonomy  # names and links may differ anywhere
        if not removed and not added and not retitled:
            return
        at = self._change_moment()
        touched = Snapshot.touched_by(removed, added)
        if retitled:
            touched |= set(before.taxonomy.topics) | set(after.taxonomy.topics)
        stamped = {s: at for s in touched if not s.startswith("@")}
        self.store.record_changes(stamped | {EVERYTHING: at})
        self.store.record_gone(departures(removed, added, at))
        after.changes, after.gone = self.store.changes(), self.store.gone()
        after.last_change = max(after.last_change, at)

    def _rebuild(self, known: dict[str, FileRecord], offline: bool = False) -> Snapshot:
        """A whole new snapshot: at start-up, and when the topics change."""
        if self._taxonomy_files_key() != self._taxonomy_key:
            self._load_taxonomy()
        entries, self._scan_problems = collection.scan(self.root)
        current = {e.path for e in entries}
        # Files that changed, and files tagged by other topics or other matching code.
        stale = [
            e for e in entries
            if e.path not in known or known[e.path].entry != e
            or (known[e.path].article is not None and known[e.path].tagging != self._fingerprint)
        ]  # fmt: skip
        results = self._read(stale)
        self.store.forget(known.keys() - current)
        records = {p: r for p, r in known.items() if p in current}
        records.update((r.entry.path, r) for r in results)
        self._files, self._problems_of = {}, {}
        for record in records.values():
            self._keep(record)
        self._articles = self._date(list(records.values()))
        self._index_ids()
        if offline and known:
            self._date_offline_changes(known)
        snapshot = self._snapshot(self._owners().values())
        log.info("snapshot: %d articles, %d re-read", len(snapshot.articles), len(results))
        return snapshot

    def _date_offline_changes(self, known: dict[str, FileRecord]) -> None:
        """Date the changes made while no server followed the collection, found by comparing
        what the index knew with what the files hold now, as a change seen now."""
        before = {p: r.article for p, r in known.items() if r.article is not None}
        after = self._articles
        moved = [
            p
            for p, a in before.items()
            if p not in after or (after[p].digest, after[p].topics) != (a.digest, a.topics)
        ]
        arrived = [after[p] for p in after.keys() - before.keys()]
        if not moved and not arrived:
            return
        seen = self.dater.known()
        removed = [
            replace(before[p], published=before[p].published or seen[before[p].id].first_seen)
            for p in moved if before[p].published or before[p].id in seen
        ]  # fmt: skip
        added = arrived + [after[p] for p in moved if p in after]
        at = self._change_moment()
        stamped = {s: at for s in Snapshot.touched_by(removed, added) if not s.startswith("@")}
        self.store.record_changes(stamped | {EVERYTHING: at})
        self.store.record_gone(departures(removed, added, at))

    def _read(self, entries: list[FileEntry]) -> list[FileRecord]:
        """Parse and tag files and store what they gave; the texts go to disk, not memory."""
        records: list[FileRecord] = []
        for results in self._read_chunks(entries):
            self.store.save(results)
            records += (record for record, _ in results)
        return records

    def _read_chunks(
        self, entries: list[FileEntry]
    ) -> Iterator[list[tuple[FileRecord, tuple[str, ...] | None]]]:
        assert self._matcher is not None
        chunks = [entries[i : i + CHUNK] for i in range(0, len(entries), CHUNK)]
        workers = min(os.cpu_count() or 1, 8)
        if len(entries) < PARALLEL_FROM or workers < 2:
            for chunk in chunks:
                yield read_and_tag(self.root, chunk, self._matcher, self._fingerprint)
            return
        context = get_context("spawn")  # never fork a process that runs threads
        done = 0
        try:
            with _package_first(), ProcessPoolExecutor(
                workers, mp_context=context,
                initializer=_start_worker,  # type: ignore[arg-type]  # typeshed wants no arguments
                initargs=(self._taxonomy, self._fingerprint),  # type: ignore[arg-type]
            ) as pool:  # fmt: skip
                for results in pool.map(_work, [self.root] * len(chunks), chunks):
                    done += 1
                    yield results
        except (BrokenProcessPool, OSError) as exc:
            log.warning("parallel indexing failed (%s); indexing in one process", exc)
            for chunk in chunks[done:]:
                yield read_and_tag(self.root, chunk, self._matcher, self._fingerprint)

    def _date(self, records: list[FileRecord]) -> dict[str, Article]:
        """Dated and tagged articles, by file path."""
        records = [r for r in records if r.article is not None]
        mtimes = {r.article.path: r.entry.mtime_ns for r in records}  # type: ignore[union-attr]
        dated = self.dater.date([r.article for r in records], mtimes=mtimes)  # type: ignore[misc]
        return {r.entry.path: a for r, a in zip(records, dated, strict=True)}

    def _index_ids(self) -> None:
        """Which paths claim each id, after ``_articles`` was replaced whole."""
        self._paths_of, self._duplicates = {}, set()
        for path in sorted(self._articles):
            claims = self._paths_of.setdefault(self._articles[path].id, [])
            claims.append(path)
            if len(claims) > 1:
                self._duplicates.add(self._articles[path].id)

    def _set_article(self, path: str, article: Article | None) -> None:
        """Replace (or drop) the article a path holds, keeping the claims on ids current."""
        old = self._articles.pop(path, None)
        if old is not None:
            claims = self._paths_of[old.id]
            claims.remove(path)
            if len(claims) < 2:
                self._duplicates.discard(old.id)
            if not claims:
                del self._paths_of[old.id]
        if article is not None:
            self._articles[path] = article
            claims = self._paths_of.setdefault(article.id, [])
            bisect.insort(claims, path)
            if len(claims) > 1:
                self._duplicates.add(article.id)

    def _owner(self, article_id: str) -> Article | None:
        """The article that holds an id: of files sharing one, the first path."""
        claims = self._paths_of.get(article_id)
        return self._articles[claims[0]] if claims else None

    def _owners(self) -> dict[str, Article]:
        return {i: self._articles[claims[0]] for i, claims in self._paths_of.items()}

    def _reported_problems(self) -> list[Problem]:
        """The problems, each new one also logged once, for whoever runs the server."""
        problems = self._problems()
        for problem in problems:
            if problem not in self._reported:
                log.warning("%s", problem)
        self._reported = set(problems)
        return problems

    def _problems(self) -> list[Problem]:
        problems = list(self._scan_problems)
        if self._taxonomy_problem:
            problems.append(self._taxonomy_problem)
        for path in sorted(self._problems_of):
            problems.extend(self._problems_of[path])
        for article_id in sorted(self._duplicates):
            first, *others = self._paths_of[article_id]
            for path in others:
                shown = self._articles[first].path
                reason = f"duplicate id {article_id!r}: {shown} has it already; skipped"
                problems.append(Problem(self._articles[path].path, reason))
        return problems

    # Topics --------------------------------------------------------------------------

    def _taxonomy_paths(self) -> list[Path]:
        paths = [self.root / "topics.toml"]
        if self.config.taxonomy:
            paths.append(Path(self.config.taxonomy))
        return paths

    def _taxonomy_files_key(self) -> tuple[tuple[str, int, int], ...]:
        key = []
        for path in self._taxonomy_paths():
            try:
                info = path.stat()
                key.append((str(path), info.st_size, info.st_mtime_ns))
            except OSError:
                key.append((str(path), -1, -1))
        return tuple(key)

    def _load_taxonomy(self) -> None:
        key = self._taxonomy_files_key()
        try:
            taxonomy = load_taxonomy(*[p for p in self._taxonomy_paths() if p.is_file()])
            self._taxonomy_problem = None
        except TaxonomyError as exc:
            # Keep the topics we had (or the shipped ones) rather than serve nothing.
            taxonomy = self._taxonomy or load_taxonomy()
            self._taxonomy_problem = Problem("topics.toml", f"{exc}; previous topics kept")
        self._taxonomy_key = key
        if taxonomy != self._taxonomy:
            self._taxonomy, self._matcher = taxonomy, Matcher(taxonomy)
            self._fingerprint = tagging_fingerprint(taxonomy)

    # Watching ------------------------------------------------------------------------

    def start(self) -> None:
        """Follow the collection: file-system events where available, else periodic scans."""
        if self.config.reload_interval <= 0 or self._thread is not None:
            return
        self._observer = self._observe()
        self._thread = threading.Thread(target=self._watch, name="feeds-reload", daemon=True)
        self._thread.start()

    def _observe(self) -> object:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return None
        index = self

        class Handler(FileSystemEventHandler):  # type: ignore[misc]
            def on_any_event(self, event) -> None:  # type: ignore[no-untyped-def]
                if event.event_type in ("opened", "closed_no_write"):
                    return
                if event.is_directory and event.event_type in ("modified", "closed"):
                    return  # a file inside changed: its own event says which
                for raw in (event.src_path, getattr(event, "dest_path", "")):
                    if raw:
                        index.notice(os.fsdecode(raw), event.is_directory)

        observer = Observer()
        try:
            observer.schedule(Handler(), str(self.root), recursive=True)
            observer.start()
        except OSError as exc:  # e.g. the inotify watch limit: fall back to scanning
            log.warning("file-system events unavailable (%s); scanning instead", exc)
            return None
        return observer

    def notice(self, path: str, is_directory: bool) -> None:
        """Note a changed path; the watcher thread picks it up at once."""
        try:
            relative = Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return
        if relative == ".":
            relative = ""
        self._pending.add(relative + "/" if is_directory else relative)
        self._wake.set()

    def check(self) -> bool:
        """One check for changes; a failure is logged and the previous snapshot kept serving."""
        pending, self._pending = self._pending, set()
        try:
            if self.store.damaged:
                self._heal()
            changed = self.refresh(None if (not pending or "/" in pending) else pending)
        except Exception as exc:
            self._pending |= pending or {"/"}  # tried again at the next check
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
            before, after = self.snapshot, self._rebuild({})
            after.requested = before.requested
            self._date_change(before, after)
            self.snapshot = after
            self._tell(before)
            self._save_state()

    def _watch(self) -> None:
        interval = self.config.reload_interval
        last_scan = time.monotonic()
        if self._reconcile:
            self._pending.add("/")  # a resumed snapshot: compare it with the collection first
            self.check()
            self._reconcile = False
            self._save_state()
        while not self._stop.is_set():
            if self._observer is None:
                self._stop.wait(interval)
                self.check()
                continue
            timeout = RESCAN_SECONDS - (time.monotonic() - last_scan)
            if self.store.pending or self.store.damaged:
                timeout = min(timeout, RETRY_SECONDS)  # an index to write or heal
            woke = self._wake.wait(max(timeout, 0.0))
            if self._stop.is_set():
                break
            self._wake.clear()
            if woke:
                self._stop.wait(min(interval, 0.05))  # let a burst of events settle
                self._wake.clear()
            elif time.monotonic() - last_scan >= RESCAN_SECONDS:
                self._pending.add("/")
                last_scan = time.monotonic()
            self.check()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()  # type: ignore[attr-defined]
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            # A snapshot is kept only for an index that holds all it describes.
            if self.store.retry(now=True) and not self._reconcile:
                self._save_state()
            self.store.close()
