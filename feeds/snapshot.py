"""The snapshot: the collection at one moment, immutable.

A :class:`Snapshot` holds every article dated and tagged, newest first, and the
articles of each topic; it selects them (topics, combinations, searches,
archive places). It holds no text and renders nothing: the texts come from an
injected :class:`TextSource`, and what later stages make from a snapshot
(rendered documents) is kept beside it as :class:`Derived`. A change to the
collection makes a new snapshot with :meth:`Snapshot.apply`, which shares
everything the change does not touch.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from .cache import ByteCache
from .config import Config
from .models import Article, Gone, Problem, Selection, Story
from .search import Query, matches_text, parse_query
from .taxonomy import Taxonomy
from .topics import Matcher

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_LIMIT = 100
EVERYTHING = ""  # the key of the feed of every article, beside the topic slugs
REQUESTED_KEPT = 4096  # combinations readers asked for, remembered from snapshot to snapshot


class UnknownTopic(LookupError):
    """A selection names a topic the taxonomy does not have."""


class SharedSelections(Protocol):
    """Where the processes serving one index tell each other of the combinations asked for."""

    def add(self, selection: Selection) -> None: ...

    def load(self) -> list[Selection]: ...


class Requested:
    """The combinations of topics readers asked for, oldest first, at most ``REQUESTED_KEPT``:
    the feeds a change may reach beyond the topics themselves. One is shared by the snapshots
    that follow each other; with ``shared``, by the workers serving one index too, since the
    worker that tells hubs of a change is not always the one a reader asked."""

    def __init__(self, shared: SharedSelections | None = None) -> None:
        self.shared = shared
        self._local: OrderedDict[Selection, None] = OrderedDict()
        self._in_shared: frozenset[Selection] = frozenset()  # as ``shared`` last gave them
        self._lock = threading.Lock()

    def remember(self, selection: Selection) -> None:
        with self._lock:
            new = selection not in self._local and selection not in self._in_shared
            self._local[selection] = None
            self._local.move_to_end(selection)
            while len(self._local) > REQUESTED_KEPT:
                self._local.popitem(last=False)
        if new and self.shared is not None:
            self.shared.add(selection)

    def selections(self) -> list[Selection]:
        with self._lock:
            local = list(self._local)
        if self.shared is None:
            return local
        loaded = self.shared.load()
        with self._lock:  # the pinging worker selects these next: no need to write them back
            self._in_shared = frozenset(loaded)
        merged = OrderedDict.fromkeys(loaded)
        for selection in local:  # this process's own are the newest it knows
            merged[selection] = None
            merged.move_to_end(selection)
        return list(merged)[-REQUESTED_KEPT:]


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
        if a.id not in now_in or not now_in[a.id] >= set(a.topics)
    ]


def newest_first(article: Article) -> tuple[float, str]:
    return (-article.published.timestamp(), article.id)


def merged(ordered: tuple[Article, ...], more: list[Article]) -> tuple[Article, ...]:
    """``ordered`` (newest first) with ``more`` put in their places: each found by bisection,
    so a few departures cost no sort of a whole collection's articles."""
    parts: list[tuple[Article, ...]] = []
    done = 0
    for article in sorted(more, key=newest_first):
        at = bisect.bisect_left(ordered, newest_first(article), lo=done, key=newest_first)
        parts += (ordered[done:at], (article,))
        done = at
    parts.append(ordered[done:])
    return tuple(a for part in parts for a in part)


class TextSource(Protocol):
    """Where the texts of a snapshot's articles are: the snapshot keeps only their metadata."""

    def text(self, article: Article) -> tuple[str, ...] | None:
        """The summary and body paragraphs, or None when they cannot be had just now."""

    def search(self, query: Query) -> set[str] | None:
        """The files (by shown path) whose articles hold the words; None: no word index."""

    def reasons(self, article: Article) -> str | None:
        """Why the article is in its topics, as the tagging gave it (JSON, feeds.reasons);
        None when it is not kept."""


class Derived(Protocol):
    """Something made from a snapshot that the snapshot following it may keep in part."""

    def follow(self, touched: frozenset[str]) -> Derived:
        """What of this still holds after a change that touched these slugs and marks."""


class Snapshot:
    """The collection at one moment: its articles, by topic and by id, newest first."""

    def __init__(
        self,
        *,
        config: Config,
        taxonomy: Taxonomy,
        matcher: Matcher,
        articles: tuple[Article, ...],
        by_id: dict[str, Article],
        by_topic: dict[str, tuple[Article, ...]],
        problems: tuple[Problem, ...],
        texts: TextSource | None = None,
        changes: dict[str, datetime] | None = None,
        gone: dict[str, Gone] | None = None,
        newest_change: datetime | None = None,
        touched: frozenset[str] | None = None,
        stamped: dict[str, datetime] | None = None,
        departed: list[Gone] | None = None,
        requested: Requested | None = None,
        derived: dict[str, Derived] | None = None,
    ) -> None:
        self.config = config
        self.taxonomy = taxonomy
        self.matcher = matcher
        self.texts = texts  # the articles' texts, for composing and searching
        self.articles = articles  # newest first
        self.by_id = by_id
        self.by_topic = by_topic
        self.problems = problems
        self.changes = changes or {}  # feed (slug, or EVERYTHING) -> last article in or out
        self.gone = gone or {}  # id -> the article as it was when it left some feeds
        # What changed since the snapshot this one replaced (topic slugs and "@<id>" marks);
        # None: a snapshot made whole, which may differ in anything.
        self.touched = touched
        self.stamped = stamped or {}  # the feeds the change that made this snapshot dated
        self.departed = departed or []  # the articles that change took out of some feeds
        self.requested = Requested() if requested is None else requested
        self._derived = derived or {}
        self.topic_names = {slug: t.name for slug, t in taxonomy.topics.items()}
        # Combinations and archive sequences, computed when first asked for: 8 bytes an article.
        self._selected: ByteCache[tuple[str, Selection], tuple[Article, ...]] = ByteCache(
            max(config.cache_bytes // 4, 1 << 20)
        )
        self._found: ByteCache[tuple[str, object], set[str]] = ByteCache(
            max(config.cache_bytes // 8, 1 << 20)
        )  # the files that hold the words of a search
        if newest_change is None:
            newest_change = max((a.updated for a in articles), default=EPOCH)
        self.newest_change = newest_change  # of the articles: what bodies say
        # And of articles leaving: what Last-Modified says, as it must never go back.
        self.last_change = max(newest_change, self.changes.get(EVERYTHING, EPOCH))
        self._lock = threading.Lock()

    @classmethod
    def build(
        cls,
        articles: Iterable[Article],
        problems: Iterable[Problem],
        taxonomy: Taxonomy,
        config: Config,
        matcher: Matcher | None = None,
        *,
        texts: TextSource | None = None,
        presorted: bool = False,
        changes: dict[str, datetime] | None = None,
        gone: dict[str, Gone] | None = None,
        requested: Requested | None = None,
    ) -> Snapshot:
        """A whole snapshot of these articles (``presorted``: already newest first)."""
        ordered = tuple(articles) if presorted else tuple(sorted(articles, key=newest_first))
        by_topic: dict[str, list[Article]] = {slug: [] for slug in taxonomy.topics}
        for article in ordered:
            for slug in article.topics:
                by_topic[slug].append(article)
        return cls(
            config=config, taxonomy=taxonomy, matcher=matcher or Matcher(taxonomy),
            articles=ordered, by_id={a.id: a for a in ordered},
            by_topic={slug: tuple(items) for slug, items in by_topic.items()},
            problems=tuple(problems), texts=texts, changes=changes, gone=gone,
            requested=requested,
        )  # fmt: skip

    def derived(self, name: str, make: Callable[[], Derived]) -> Derived:
        """What later stages make from this snapshot (rendered documents), made once and
        followed by :meth:`apply` into the next snapshot."""
        with self._lock:
            found = self._derived.get(name)
            if found is None:
                found = self._derived[name] = make()
            return found

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
        touched = frozenset(self.touched_by(removed, added))
        changes, departed_all = self.changes, self.gone
        stamped: dict[str, datetime] = {}
        departed: list[Gone] = []
        if at is not None and (removed or added):
            stamped = {s: at for s in touched if not s.startswith("@")} | {EVERYTHING: at}
            changes = self.changes | stamped
            departed = departures(removed, added, at)
            departed_all = self.gone | {g.id: _merged(self.gone.get(g.id), g) for g in departed}
        by_id = dict(self.by_id)
        for article in removed:
            by_id.pop(article.id, None)
        by_id.update((a.id, a) for a in added)
        by_topic = dict(self.by_topic)
        for slug in touched & self.by_topic.keys():
            by_topic[slug] = _merge(
                self.by_topic[slug], gone, [a for a in added if slug in a.topics]
            )
        newest = None  # recounted only if the newest change itself went away
        if all(a.updated != self.newest_change for a in removed):
            newest = max([self.newest_change, *(a.updated for a in added)])
        with self._lock:
            derived = {name: d.follow(touched) for name, d in self._derived.items()}
        return Snapshot(
            config=self.config, taxonomy=self.taxonomy, matcher=self.matcher, texts=self.texts,
            articles=_merge(self.articles, gone, added), by_id=by_id, by_topic=by_topic,
            problems=tuple(problems), changes=changes, gone=departed_all, newest_change=newest,
            touched=touched, stamped=stamped, departed=departed, requested=self.requested,
            derived=derived,
        )  # fmt: skip

    def search(self, articles: tuple[Article, ...], query: str) -> Iterable[Article]:
        """The articles, in order, that hold every word of ``query`` (or its phrase)."""
        wanted = parse_query(query)
        if not wanted.words:
            return articles
        key = ("search", wanted)
        found = self._found.get(key)
        if found is None:
            found = self.texts.search(wanted) if self.texts is not None else None
            if found is None:  # no word index to ask: read the texts
                return (a for a in articles if self._holds(a, query))
            self._found.put(key, found, 100 * len(found) + 64)  # every format and limit
        return (a for a in articles if a.path in found)

    def _holds(self, article: Article, query: str) -> bool:
        if isinstance(article, Story):
            text: tuple[str, ...] | None = article.paragraphs
        else:
            text = self.texts.text(article) if self.texts is not None else None
        return matches_text(article.title, text or (), query)

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
                Article(
                    id=g.id,
                    path="",
                    title="",
                    digest="",
                    published=g.published,
                    updated=g.published,
                    topics=g.topics,
                )  # fmt: skip
                for g in self.gone.values()
                if g.id not in live and in_selection(g.topics, selection)
            ]
            found = merged(articles, left) if left else articles
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
            self.requested.remember(selection)
            self._selected.put(("select", selection), found, 8 * len(found) + 64)
        return found

    def requested_selections(self) -> list[Selection]:
        """The combinations of topics readers asked for, oldest first."""
        return self.requested.selections()

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


def _merged(before: Gone | None, now: Gone) -> Gone:
    """An article that left feeds again: it keeps its place in every feed it was ever in."""
    if before is None:
        return now
    return replace(now, topics=tuple(dict.fromkeys((*before.topics, *now.topics))))


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
