"""URL paths and permanent identifiers: one place that spells them.

Feed paths are ``/feeds/<selection>.<format>``. A selection is ``all``, one
topic slug, several joined by ``+`` (articles in all of them) or by ``,`` (in
any of them), each optionally followed by ``~slug`` parts that exclude a topic:
``korea+russia``, ``korea,russia``, ``korea~north-korea``. The canonical
spelling sorts the slugs; other spellings redirect to it.
"""

from __future__ import annotations

import functools
import uuid

from .models import ALL_ARTICLES, SLUG, Selection

# A fixed namespace: ids derived from it never change with host names or URL layout.
NAMESPACE = uuid.UUID("5b0d7c1e-4f0e-5b43-9d7a-3a1f4e6c2b10")


class SelectionError(ValueError):
    """A feed path that does not spell a selection."""


@functools.lru_cache(maxsize=1 << 14)  # asked for in every feed that holds the article
def article_urn(article_id: str) -> str:
    """The permanent id of an article, the same in every feed and format."""
    return uuid.uuid5(NAMESPACE, "article:" + article_id).urn


def feed_urn(selection: Selection) -> str:
    """The permanent id of a feed: one per selection, whatever the format."""
    return uuid.uuid5(NAMESPACE, "feed:" + selection_key(selection)).urn


def parse_selection(text: str) -> Selection:
    """Parse a selection as written in a feed path."""
    if text == ALL_ARTICLES:
        return Selection()
    head, *excluded = text.split("~")
    if "+" in head and "," in head:
        raise SelectionError("use either '+' (all of) or ',' (any of), not both")
    joiner = "+" if "+" in head else ","
    included = head.split(joiner) if head else []
    for slug in included + excluded:
        if not SLUG.match(slug):
            raise SelectionError(f"{slug!r} is not a topic slug")
    if not included:
        raise SelectionError("name at least one topic before '~'")
    unique = tuple(sorted(set(included)))
    none_of = tuple(sorted(set(excluded)))
    if joiner == "+" or len(unique) == 1:
        return Selection(all_of=unique, none_of=none_of)
    return Selection(any_of=unique, none_of=none_of)


@functools.lru_cache(maxsize=4096)  # every URL of a selection spells it: an export makes many
def selection_key(selection: Selection) -> str:
    """The canonical spelling of a selection."""
    if selection.is_everything:
        return ALL_ARTICLES
    head = "+".join(selection.all_of) if selection.all_of else ",".join(selection.any_of)
    return head + "".join("~" + slug for slug in selection.none_of)


def feed_path(selection: Selection, extension: str) -> str:
    return f"/feeds/{selection_key(selection)}.{extension}"


def archive_path(selection: Selection, page: int, extension: str) -> str:
    return f"/feeds/{selection_key(selection)}/archive/{page}.{extension}"


def topic_path(slug: str) -> str:
    return f"/topics/{slug}"


def article_path(article_id: str) -> str:
    return f"/articles/{article_id}"
