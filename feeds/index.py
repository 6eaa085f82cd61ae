"""The index: an immutable snapshot of the collection, and the live holder that replaces it.

A :class:`Snapshot` holds every article dated and tagged, newest first, the
articles of each topic, and the rendered documents computed from it (each
once). :class:`LiveIndex` builds snapshots, re-reading only files that
changed, and swaps in a new one atomically when the collection changes.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import collection
from .collection import FileEntry
from .compose import FeedRequest, render_document
from .config import Config
from .dates import Dater, FirstSeenStore
from .models import Article, Problem, Rendered, Selection
from .topics import Matcher, Taxonomy, TaxonomyError, load_taxonomy
from .urls import selection_key, topic_path

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_LIMIT = 100
RENDER_CACHE_SIZE = 1024


class UnknownTopic(LookupError):
    """A selection names a topic the taxonomy does not have."""


def newest_first(article: Article) -> tuple[float, str]:
    assert article.published is not None
    return (-article.published.timestamp(), article.id)


class Snapshot:
    """The collection at one moment: articles, topics and their rendered documents."""

    def __init__(
        self,
        articles: list[Article],
        problems: list[Problem],
        taxonomy: Taxonomy,
        config: Config,
        matcher: Matcher | None = None,
    ) -> None:
        self.config = config
        self.taxonomy = taxonomy
        self.matcher = matcher or Matcher(taxonomy)
        self.problems = tuple(problems)
        self.articles = tuple(sorted(articles, key=newest_first))
        self.by_id = {a.id: a for a in self.articles}
        by_topic: dict[str, list[Article]] = {slug: [] for slug in taxonomy.topics}
        for article in self.articles:
            for slug in article.topics:
                by_topic[slug].append(article)
        self.by_topic = {slug: tuple(items) for slug, items in by_topic.items()}
        self.topic_names = {slug: t.name for slug, t in taxonomy.topics.items()}
        self.newest_change = max((a.updated for a in self.articles if a.updated), default=EPOCH)
        self._rendered: OrderedDict[tuple[str, ...], Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def select(self, selection: Selection) -> tuple[Article, ...]:
        """The articles of a selection, newest first."""
        unknown = [s for s in selection.slugs if s not in self.taxonomy]
        if unknown:
            raise UnknownTopic(unknown[0])
        if selection.is_everything:
            return self.articles
        if selection.all_of:
            wanted = set(selection.all_of)
            base = min((self.by_topic[s] for s in selection.all_of), key=len)
            found = [a for a in base if wanted.issubset(a.topics)]
        else:
            ids = {a.id for s in selection.any_of for a in self.by_topic[s]}
            found = [a for a in self.articles if a.id in ids]
        excluded = set(selection.none_of)
        return tuple(a for a in found if not excluded.intersection(a.topics))

    def title_of(self, selection: Selection) -> str:
        if selection.is_everything:
            return "All articles"
        names = [self.topic_names[s] for s in selection.all_of or selection.any_of]
        title = (" and " if selection.all_of else " or ").join(names)
        if selection.none_of:
            title += ", without " + " or ".join(self.topic_names[s] for s in selection.none_of)
        return title

    def html_path_of(self, selection: Selection) -> str:
        if selection.is_everything:
            return "/"
        if len(selection.all_of) == 1 and not selection.none_of:
            return topic_path(selection.all_of[0])
        return topic_path(selection_key(selection))

    def document(self, request: FeedRequest) -> Rendered:
        """One feed document, rendered once per snapshot."""
        key = ("feed", request.url(self))
        return self.cached(key, lambda: render_document(self, request))

    def cached(self, key: tuple[str, ...], make: Callable[[], Rendered]) -> Rendered:
        """Memoise a rendered document for the life of this snapshot."""
        with self._lock:
            if key in self._rendered:
                self._rendered.move_to_end(key)
                return self._rendered[key]
        rendered = make()
        with self._lock:
            self._rendered[key] = rendered
            while len(self._rendered) > RENDER_CACHE_SIZE:
                self._rendered.popitem(last=False)
        return rendered


@dataclass
class _Parsed:
    """A file's parse result, reused while its size and mtime stay the same."""

    entry: FileEntry
    article: Article | None
    problems: list[Problem]


class LiveIndex:
    """Holds the current snapshot and replaces it when the collection changes."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.root = config.collection_path
        if not self.root.is_dir():
            raise FileNotFoundError(f"collection folder not found: {self.root}")
        self.store = FirstSeenStore(config.index_path / "dates.sqlite3")
        self.dater = Dater(self.root, self.store, use_git=config.git_dates)
        self._parsed: dict[str, _Parsed] = {}
        self._taxonomy: Taxonomy | None = None
        self._matcher: Matcher | None = None
        self._taxonomy_key: tuple[tuple[str, int, int], ...] | None = None
        self._signature: object = None
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.snapshot: Snapshot = self._build()

    def refresh(self) -> bool:
        """Rebuild the snapshot if anything changed; return whether it did."""
        with self._refresh_lock:
            entries, scan_problems = collection.scan(self.root)
            signature = (tuple(entries), self._taxonomy_files_key(), tuple(scan_problems))
            if signature == self._signature:
                return False
            self.snapshot = self._build(entries, scan_problems, signature)
            return True

    def _build(
        self,
        entries: list[FileEntry] | None = None,
        scan_problems: list[Problem] | None = None,
        signature: object = None,
    ) -> Snapshot:
        if entries is None or scan_problems is None:
            entries, scan_problems = collection.scan(self.root)
            signature = (tuple(entries), self._taxonomy_files_key(), tuple(scan_problems))
        problems = list(scan_problems)
        taxonomy, taxonomy_problem = self._load_taxonomy()
        if taxonomy_problem:
            problems.append(taxonomy_problem)
        articles = self._read(entries, problems)
        articles = self.dater.date(articles)
        matcher = self._matcher_for(taxonomy)
        articles = matcher.tag(articles)
        for article in articles:
            unknown = [s for s in article.declared_topics if s not in taxonomy]
            if unknown:
                problems.append(
                    Problem(
                        article.path, f"unknown topics ignored: {', '.join(unknown)}", "warning"
                    )
                )
        for problem in problems:
            log.warning("%s", problem)
        self._signature = signature
        log.info("snapshot: %d articles, %d problems", len(articles), len(problems))
        return Snapshot(articles, problems, taxonomy, self.config, matcher)

    def _matcher_for(self, taxonomy: Taxonomy) -> Matcher:
        if self._matcher is None or self._matcher.taxonomy is not taxonomy:
            self._matcher = Matcher(taxonomy)
        return self._matcher

    def _read(self, entries: list[FileEntry], problems: list[Problem]) -> list[Article]:
        parsed: dict[str, _Parsed] = {}
        for entry in entries:
            known = self._parsed.get(entry.path)
            if known is None or known.entry != entry:
                known = _Parsed(entry, *collection.read_article(self.root, entry))
            parsed[entry.path] = known
        self._parsed = parsed
        articles: dict[str, Article] = {}
        for item in parsed.values():
            problems.extend(item.problems)
            if item.article is None:
                continue
            first = articles.get(item.article.id)
            if first is not None:
                problems.append(
                    Problem(
                        item.article.path,
                        f"duplicate id {item.article.id!r}: {first.path} has it already; skipped",
                    )
                )
                continue
            articles[item.article.id] = item.article
        return list(articles.values())

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

    def _load_taxonomy(self) -> tuple[Taxonomy, Problem | None]:
        key = self._taxonomy_files_key()
        if self._taxonomy is not None and key == self._taxonomy_key:
            return self._taxonomy, None
        try:
            taxonomy = load_taxonomy(*[p for p in self._taxonomy_paths() if p.is_file()])
        except TaxonomyError as exc:
            # Keep the topics we had (or the shipped ones) rather than serve nothing.
            fallback = self._taxonomy or load_taxonomy()
            return fallback, Problem("topics.toml", f"{exc}; previous topics kept")
        self._taxonomy, self._taxonomy_key = taxonomy, key
        return taxonomy, None

    def start(self) -> None:
        """Check for changes in the background every ``reload_interval`` seconds."""
        if self.config.reload_interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._watch, name="feeds-reload", daemon=True)
        self._thread.start()

    def check(self) -> bool:
        """One check for changes; a failure is logged and the previous snapshot kept serving."""
        try:
            changed = self.refresh()
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("reloading the collection failed; previous snapshot kept")
            return False
        self.last_error = None
        return changed

    def _watch(self) -> None:
        while not self._stop.wait(self.config.reload_interval):
            self.check()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.store.close()
