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

from .cache import ByteCache
from .compose import FeedRequest, render_document
from .config import Config
from .models import Article, Problem, Rendered, Selection
from .search import matches, parse_query
from .store import Gone
from .taxonomy import Taxonomy
from .topics import Matcher
from .urls import selection_key, topic_path

if TYPE_CHECKING:
    from .store import IndexStore

Reread = Callable[[Article], "tuple[str, ...] | None"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_LIMIT = 100
EVERYTHING = ""  # the key of the feed of every article, beside the topic slugs
REQUESTED_KEPT = 4096  # combinations readers asked for, remembered from snapshot to snapshot


_requested_lock = threading.Lock()


class UnknownTopic(LookupError):
    """A selection names a topic the taxonomy does not have."""


class TextUnavailable(LookupError):
    """An article's text is neither in the index nor readable from its file just now."""


def in_selection(topics: Iterable[str], selection: Selection) -> bool:
    """Whether an article with these topics belongs to a selection."""
    held = set(topics)
    return (
        held.issuperset(selection.all_of)
        and (not selection.any_of or not held.isdisjoint(selection.any_of))
        and held.isdisjoint(selection.none_of)
    )


def departures(removed: Iterable[Article], added: Iterable[Article], at: datetime) -> list[Gone]:
    """The articles of a change that left some feeds: removed, or no longer in a topic.

    Each keeps every topic it was in, so it keeps its place in those feeds' archives.
    """
    now_in = {a.id: set(a.topics) for a in added}
    return [
        Gone(a.id, a.published, a.topics, at)
        for a in removed
        if a.published is not None and (a.id not in now_in or not now_in[a.id] >= set(a.topics))
    ]


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
        reread: Reread | None = None,
        changes: dict[str, datetime] | None = None,
        gone: dict[str, Gone] | None = None,
    ) -> None:
        self.config = config
        self.taxonomy = taxonomy
        self.matcher = matcher or Matcher(taxonomy)
        self.store = store
        self.reread = reread
        self.changes = changes or {}  # feed (slug, or EVERYTHING) -> last article in or out
        self.gone = gone or {}  # id -> the article as it was when it left some feeds
        self.problems = tuple(problems)
        self.articles = tuple(articles) if presorted else tuple(sorted(articles, key=newest_first))
        self.by_id = {a.id: a for a in self.articles}
        by_topic: dict[str, list[Article]] = {slug: [] for slug in taxonomy.topics}
        for article in self.articles:
            for slug in article.topics:
                by_topic[slug].append(article)
        self.by_topic = {slug: tuple(items) for slug, items in by_topic.items()}
        self._finish()
        self._rendered: ByteCache[tuple[str, ...], _Cached] = ByteCache(config.cache_bytes)
        # What changed since the snapshot this one replaced (topic slugs and "@<id>" marks);
        # None: a snapshot made whole, which may differ in anything.
        self.touched: frozenset[str] | None = None
        # Combinations of topics readers asked for, shared with the snapshots that follow:
        # the feeds a change may reach beyond the topics themselves.
        self.requested: OrderedDict[Selection, None] = OrderedDict()

    def _finish(self, newest_change: datetime | None = None) -> None:
        self.topic_names = {slug: t.name for slug, t in self.taxonomy.topics.items()}
        # Combinations and archive sequences, computed when first asked for: 8 bytes an article.
        self._selected: ByteCache[tuple[str, Selection], tuple[Article, ...]] = ByteCache(
            max(self.config.cache_bytes // 4, 1 << 20)
        )
        self._found: ByteCache[tuple[str, object], set[str]] = ByteCache(
            max(self.config.cache_bytes // 8, 1 << 20)
        )  # the files that hold the words of a search
        if newest_change is None:
            newest_change = max((a.updated for a in self.articles if a.updated), default=EPOCH)
        self.newest_change = newest_change  # of the articles: what bodies say
        # And of articles leaving: what Last-Modified says, as it must never go back.
        self.last_change = max(newest_change, self.changes.get(EVERYTHING, EPOCH))
        self._lock = threading.Lock()

    @staticmethod
    def touched_by(removed: Iterable[Article], added: Iterable[Article]) -> set[str]:
        """What a change touches: the slugs of every topic an article left or joined, and
        ``@<id>`` for each article; every document that depends on none of them is unchanged
        (apart from the documents of every article, which any change touches)."""
        changed = [*removed, *added]
        return {slug for a in changed for slug in a.topics} | {"@" + a.id for a in changed}

    def apply(
        self,
        removed: Iterable[Article],
        added: Iterable[Article],
        problems: Iterable[Problem],
        at: datetime | None = None,
    ) -> Snapshot:
        """A new snapshot with some articles replaced, sharing all that did not change.

        ``at``, when given, is when the change was seen: every feed it touches is dated
        then (:attr:`stamped`), and articles that left feeds keep their archive places
        (:attr:`departed`).
        """
        removed, added = list(removed), sorted(added, key=newest_first)
        gone = {a.id for a in removed}
        touched = self.touched_by(removed, added)
        new = object.__new__(Snapshot)
        new.config, new.taxonomy, new.matcher, new.store, new.reread = (
            self.config, self.taxonomy, self.matcher, self.store, self.reread,
        )  # fmt: skip
        new.changes, new.gone = self.changes, self.gone
        new.stamped, new.departed = {}, []
        if at is not None and (removed or added):
            new.stamped = {s: at for s in touched if not s.startswith("@")} | {EVERYTHING: at}
            new.changes = self.changes | new.stamped
            new.departed = departures(removed, added, at)
            new.gone = self.gone | {g.id: _merged(self.gone.get(g.id), g) for g in new.departed}
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
            new._rendered = self._rendered.copy(
                lambda cached: (
                    cached.depends_on is not None and cached.depends_on.isdisjoint(touched)
                )
            )
        return new

    stamped: dict[str, datetime] = {}  # the feeds the change that made this snapshot dated
    departed: list[Gone] = []  # the articles that change took out of some feeds

    def full(self, article: Article) -> Article:
        """The article with its text, which the snapshot keeps on disk rather than in memory.

        The index is only a cache of the text: when it does not have it, the file is read
        again; when neither can give it, :class:`TextUnavailable` is raised, as an article is
        never published without its text.
        """
        if article.summary or (self.store is None and self.reread is None):
            return article
        text = self.store.text(article.path) if self.store is not None else None
        if not text and self.reread is not None:
            text = self.reread(article)
        if not text:
            raise TextUnavailable(article.path)
        return replace(article, summary=text[0], body=text[1:])

    def search(self, articles: tuple[Article, ...], query: str) -> Iterable[Article]:
        """The articles, in order, that hold every word of ``query`` (or its phrase)."""
        wanted = parse_query(query)
        if not wanted.words:
            return articles
        key = ("search", wanted)
        found = self._found.get(key)
        if found is None:
            found = self.store.search(wanted) if self.store is not None else None
            if found is None:  # no word index to ask: read the texts
                return (a for a in articles if matches(self.full(a), query))
            self._found.put(key, found, 100 * len(found) + 64)  # every format and limit
        return (a for a in articles if a.path in found)

    def changed_at(self, selection: Selection) -> datetime:
        """The last time an article joined or left the feeds of a selection, as far as known."""
        if selection.is_everything:
            return self.changes.get(EVERYTHING, EPOCH)
        return max((self.changes.get(s, EPOCH) for s in selection.slugs), default=EPOCH)

    def slots(self, selection: Selection) -> tuple[Article, ...]:
        """The articles of a selection and those that left it, newest first: the places
        archive pages are cut from, so a removal never moves another article's page."""
        articles = self.select(selection)
        if not self.gone:
            return articles
        key = ("slots", selection)
        found = self._selected.get(key)
        if found is None:
            live = {a.id for a in articles}
            left = [
                Article(g.id, "", "", "", (), "", published=g.published, topics=g.topics)
                for g in self.gone.values()
                if g.id not in live and in_selection(g.topics, selection)
            ]
            found = tuple(sorted([*articles, *left], key=newest_first)) if left else articles
            self._selected.put(key, found, 8 * len(found) + 64)
        return found

    def is_live(self, article: Article) -> bool:
        return self.by_id.get(article.id) is article

    def select(self, selection: Selection) -> tuple[Article, ...]:
        """The articles of a selection, newest first."""
        unknown = [s for s in selection.slugs if s not in self.taxonomy]
        if unknown:
            raise UnknownTopic(unknown[0])
        if selection.is_everything:
            return self.articles
        if len(selection.all_of) == 1 and not selection.none_of:
            return self.by_topic[selection.all_of[0]]
        found = self._selected.get(("select", selection))
        if found is None:
            found = self._combine(selection)
            self._remember(selection)
            self._selected.put(("select", selection), found, 8 * len(found) + 64)
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
        found = self._rendered.get(key)
        if found is not None:
            return found.rendered
        rendered = make()
        size = len(rendered.body) + len(rendered.gzip or b"") + 256
        self._rendered.put(key, _Cached(rendered, depends_on), size)
        return rendered


def _merged(before: Gone | None, now: Gone) -> Gone:
    """An article that left feeds again: it keeps its place in every feed it was ever in."""
    if before is None:
        return now
    return replace(now, topics=tuple(dict.fromkeys((*before.topics, *now.topics))))


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
