"""The index: an immutable snapshot of the collection.

A :class:`Snapshot` holds every article dated and tagged, newest first, the
articles of each topic, and the documents rendered from it, each once. A
change to the collection makes a new snapshot with :meth:`Snapshot.apply`,
which shares everything the change does not touch: the articles of unrelated
topics and the documents already rendered for them.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .compose import FeedRequest, render_document
from .config import Config
from .models import Article, Problem, Rendered, Selection
from .topics import Matcher, Taxonomy
from .urls import selection_key, topic_path

if TYPE_CHECKING:
    from .store import IndexStore

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_LIMIT = 100
RENDER_CACHE_SIZE = 2048
SELECTIONS_KEPT = 256  # combinations of topics computed, kept for the life of a snapshot
REQUESTED_KEPT = 4096  # combinations readers asked for, remembered from snapshot to snapshot


_requested_lock = threading.Lock()


class UnknownTopic(LookupError):
    """A selection names a topic the taxonomy does not have."""


def newest_first(article: Article) -> tuple[float, str]:
    assert article.published is not None
    return (-article.published.timestamp(), article.id)


@dataclass(frozen=True)
class _Cached:
    rendered: Rendered
    depends_on: frozenset[str] | None  # topic slugs and "@<id>" marks; None: everything


class Snapshot:
    """The collection at one moment: articles, topics and their rendered documents."""

    def __init__(
        self,
        articles: Iterable[Article],
        problems: Iterable[Problem],
        taxonomy: Taxonomy,
        config: Config,
        matcher: Matcher | None = None,
        store: IndexStore | None = None,
        presorted: bool = False,
    ) -> None:
        self.config = config
        self.taxonomy = taxonomy
        self.matcher = matcher or Matcher(taxonomy)
        self.store = store
        self.problems = tuple(problems)
        self.articles = tuple(articles) if presorted else tuple(sorted(articles, key=newest_first))
        self.by_id = {a.id: a for a in self.articles}
        by_topic: dict[str, list[Article]] = {slug: [] for slug in taxonomy.topics}
        for article in self.articles:
            for slug in article.topics:
                by_topic[slug].append(article)
        self.by_topic = {slug: tuple(items) for slug, items in by_topic.items()}
        self._finish()
        self._rendered: OrderedDict[tuple[str, ...], _Cached] = OrderedDict()
        # What changed since the snapshot this one replaced (topic slugs and "@<id>" marks);
        # None: a snapshot made whole, which may differ in anything.
        self.touched: frozenset[str] | None = None
        # Combinations of topics readers asked for, shared with the snapshots that follow:
        # the feeds a change may reach beyond the topics themselves.
        self.requested: OrderedDict[Selection, None] = OrderedDict()

    def _finish(self, newest_change: datetime | None = None) -> None:
        self.topic_names = {slug: t.name for slug, t in self.taxonomy.topics.items()}
        self._selected: dict[Selection, tuple[Article, ...]] = {}
        if newest_change is None:
            newest_change = max((a.updated for a in self.articles if a.updated), default=EPOCH)
        self.newest_change = newest_change
        self._lock = threading.Lock()

    def apply(
        self, removed: Iterable[Article], added: Iterable[Article], problems: Iterable[Problem]
    ) -> Snapshot:
        """A new snapshot with some articles replaced, sharing all that did not change."""
        removed, added = list(removed), sorted(added, key=newest_first)
        gone = {a.id for a in removed}
        touched = {slug for a in (*removed, *added) for slug in a.topics}
        touched |= {"@" + a.id for a in (*removed, *added)}
        new = object.__new__(Snapshot)
        new.config, new.taxonomy, new.matcher, new.store = (
            self.config, self.taxonomy, self.matcher, self.store,
        )  # fmt: skip
        new.problems = tuple(problems)
        new.articles = _merge(self.articles, gone, added)
        new.by_id = dict(self.by_id)
        for article in removed:
            new.by_id.pop(article.id, None)
        new.by_id.update((a.id, a) for a in added)
        new.by_topic = dict(self.by_topic)
        for slug in touched & self.by_topic.keys():
            new.by_topic[slug] = _merge(
                self.by_topic[slug], gone, [a for a in added if slug in a.topics]
            )
        newest = None  # recounted only if the newest change itself went away
        if all(a.updated != self.newest_change for a in removed):
            newest = max([self.newest_change, *(a.updated for a in added if a.updated)])
        new._finish(newest)
        new.touched, new.requested = frozenset(touched), self.requested
        with self._lock:
            new._rendered = OrderedDict(
                (key, cached)
                for key, cached in self._rendered.items()
                if cached.depends_on is not None and cached.depends_on.isdisjoint(touched)
            )
        return new

    def full(self, article: Article) -> Article:
        """The article with its text, which the snapshot keeps on disk rather than in memory."""
        if article.summary or self.store is None:
            return article
        text = self.store.text(article.path)
        return replace(article, summary=text[0], body=text[1:]) if text else article

    def select(self, selection: Selection) -> tuple[Article, ...]:
        """The articles of a selection, newest first."""
        unknown = [s for s in selection.slugs if s not in self.taxonomy]
        if unknown:
            raise UnknownTopic(unknown[0])
        if selection.is_everything:
            return self.articles
        if len(selection.all_of) == 1 and not selection.none_of:
            return self.by_topic[selection.all_of[0]]
        found = self._selected.get(selection)
        if found is None:
            found = self._combine(selection)
            self._remember(selection)
            if len(self._selected) >= SELECTIONS_KEPT:
                self._selected.clear()
            self._selected[selection] = found
        return found

    def requested_selections(self) -> list[Selection]:
        """The combinations of topics readers asked for, oldest first."""
        with _requested_lock:
            return list(self.requested)

    def _remember(self, selection: Selection) -> None:
        with _requested_lock:  # shared by snapshots, so not this snapshot's lock
            self.requested[selection] = None
            self.requested.move_to_end(selection)
            while len(self.requested) > REQUESTED_KEPT:
                self.requested.popitem(last=False)

    def _combine(self, selection: Selection) -> tuple[Article, ...]:
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
        return self.cached(key, lambda: render_document(self, request), depends_on(request))

    def cached(
        self,
        key: tuple[str, ...],
        make: Callable[[], Rendered],
        depends_on: frozenset[str] | None = None,
    ) -> Rendered:
        """Memoise a rendered document for the life of this snapshot (and later ones it
        does not depend on)."""
        with self._lock:
            if key in self._rendered:
                self._rendered.move_to_end(key)
                return self._rendered[key].rendered
        rendered = make()
        with self._lock:
            self._rendered[key] = _Cached(rendered, depends_on)
            while len(self._rendered) > RENDER_CACHE_SIZE:
                self._rendered.popitem(last=False)
        return rendered


def depends_on(request: FeedRequest) -> frozenset[str] | None:
    """The topics a feed document depends on; None: every article."""
    selection = request.selection
    return None if selection.is_everything or request.query else frozenset(selection.slugs)


def _merge(
    articles: tuple[Article, ...], gone: set[str], added: list[Article]
) -> tuple[Article, ...]:
    """Articles without those ``gone``, with ``added`` (sorted) merged in, newest first."""
    kept = [a for a in articles if a.id not in gone] if gone else list(articles)
    if len(added) > 64:
        return tuple(sorted(kept + added, key=newest_first))  # Timsort merges sorted runs
    for article in added:
        bisect.insort(kept, article, key=newest_first)
    return tuple(kept)
