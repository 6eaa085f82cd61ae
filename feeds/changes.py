"""What a new snapshot changed: the feed URLs whose bytes differ, and the surrogate keys to purge.

Every response names what it depends on in its surrogate keys: the topic slugs of its
selection, ``@<id>`` for an article's page, ``all`` for what depends on every article (the
``all`` feeds, searches, the index page, the topic list), and ``feeds`` on every response, for
a change that may reach anything (new topics). A change purges exactly the keys of what it
touched. Hubs are told of the subscription documents whose bytes changed, in every format: the
topics the changed articles are in, the combinations of topics readers asked for, and ``all``,
each compared in the old and the new snapshot, so an unchanged feed is never named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from .compose import FeedRequest, archive_pages, document, links_archive, title_of
from .models import Article, Selection
from .render import FORMATS
from .snapshot import Snapshot

EVERYTHING = "all"  # the key of responses that depend on every article
SITE = "feeds"  # the key every response carries


def surrogate_keys(depends_on: frozenset[str] | None) -> str:
    """The keys of a response, space-separated, as Varnish's xkey and CDNs' Surrogate-Key read
    them."""
    keys = sorted(depends_on) if depends_on is not None else [EVERYTHING]
    return " ".join([SITE, *keys])


@dataclass(frozen=True)
class Change:
    """One snapshot replacing another: the keys to purge, and the snapshots to compare."""

    before: Snapshot
    after: Snapshot
    keys: frozenset[str]

    @classmethod
    def between(cls, before: Snapshot, after: Snapshot) -> Change:
        touched = after.touched
        keys = {SITE} if touched is None else {EVERYTHING, *touched}
        return cls(before, after, frozenset(keys))

    def then(self, later: Change) -> Change:
        """This change followed by ``later``, as one: what either touched."""
        return Change(self.before, later.after, self.keys | later.keys)


def candidate_selections(change: Change) -> list[Selection]:
    """The subscription feeds the change may have reached."""
    after = change.after
    if after.touched is None:
        slugs = {s for snap in (change.before, after) for s, a in snap.by_topic.items() if a}
    else:
        slugs = {key for key in change.keys if key in after.taxonomy}
    candidates = [Selection()] + [Selection(all_of=(slug,)) for slug in sorted(slugs)]
    for selection in after.requested_selections():
        if not slugs.isdisjoint(selection.slugs) or after.touched is None:
            candidates.append(selection)
    return candidates


def changed_feeds(change: Change) -> dict[str, str]:
    """The URLs of the subscription documents whose bytes differ, every format, each with
    its new ETag."""
    changed = {}
    after = change.after
    for selection in candidate_selections(change):
        differs = _differs(change, selection)
        for extension in FORMATS:
            if differs is None or (differs == ARCHIVE and not links_archive(extension)):
                continue
            request = FeedRequest(selection, extension, after.config.feed_items)
            changed[request.url(after)] = document(after, request).etag
    return changed


ITEMS = "items"  # the items or the name differ: every format
ARCHIVE = "archive"  # only the archive pages differ, which some formats do not link


def _differs(change: Change, selection: Selection) -> str | None:
    """Whether a selection's subscription documents differ, from what they are made of: the
    items shown, the archive pages linked, the names (None: they do not; :data:`ITEMS`: in
    every format; :data:`ARCHIVE`: only in the archive pages they link).

    (Rendering the old document again is no way to tell: an edited article's text is read
    from the index, which already holds the new text.)
    """
    before, after = change.before, change.after
    if any(slug not in snap.taxonomy for snap in (before, after) for slug in selection.slugs):
        return None  # a feed that appeared has no subscribers; one that went, no bytes
    limit = after.config.feed_items
    old, new = before.select(selection), after.select(selection)
    if _items_differ(change, old[:limit], new[:limit], selection):
        return ITEMS
    pages = archive_pages(len(before.slots(selection))), archive_pages(len(after.slots(selection)))
    return ARCHIVE if pages[0] != pages[1] else None


def _items_differ(
    change: Change, old: tuple[Article, ...], new: tuple[Article, ...], selection: Selection
) -> bool:
    """Whether the items shown or the feed's name differ."""
    before, after = change.before, change.after
    if not old and not new:  # an empty feed is dated by the newest change
        return before.newest_change != after.newest_change
    if title_of(before, selection) != title_of(after, selection):
        return True
    return [_shown(before, a) for a in old] != [_shown(after, a) for a in new]


def _shown(snap: Snapshot, article: Article) -> tuple[Article, tuple[str, ...]]:
    """What a feed shows of an article: all but the file it came from, and its topics' names."""
    return replace(article, path=""), tuple(snap.topic_names[s] for s in article.topics)


def batches(keys: Iterable[str], limit: int = 4000) -> list[str]:
    """Keys joined into headers of at most ``limit`` bytes (caches cap a header's length)."""
    found: list[str] = []
    current = ""
    for key in sorted(keys):
        if current and len(current) + 1 + len(key) > limit:
            found.append(current)
            current = ""
        current = f"{current} {key}" if current else key
    if current:
        found.append(current)
    return found
