"""Shared pieces of the XML renderers: the feedgen wrapper and the article HTML.

feedgen traps handled here: entries are appended in order (not prepended),
every date comes from the data (never the wall clock), and the RSS channel
link is the last link added, so ``self`` goes first and the HTML page last.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Hashable
from html import escape
from typing import cast

import nh3
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from ..cache import ByteCache
from ..models import Feed, Story
from ..urls import article_urn
from ..version import __version__
from .extension import FeedsEntryExtension, FeedsExtension

# feedgen formats RSS dates by switching the process-wide locale: one at a time.
render_lock = threading.Lock()


_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)
_URL = re.compile(r"^https?://[^\s/?#<>\"']+[^\s<>\"']*$", re.IGNORECASE)

# The only markup the project writes itself; nh3 enforces it whatever the text held.
ALLOWED_TAGS = {"p", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}


def source_url(source: str) -> str | None:
    """An absolute URL for the original publisher given as a domain or a URL, if it is one."""
    if _URL.match(source):
        return source
    if _DOMAIN.match(source.strip("/")):
        return f"https://{source.strip('/')}/"
    return None


# How much of an article's text a feed item carries: 20 items stay well under 250 KB however
# long the articles are (the checklist's bound), and the article's page has all of it. News
# articles are shorter: 99% of 2,225 BBC stories fit whole.
ITEM_CHARACTERS = 6_000
SUMMARY_CHARACTERS = 1_000
SHORTEST_PART = 300  # a paragraph is cut to fit only if this much of it would show


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut after a word and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def item_text(article: Story) -> tuple[tuple[str, ...], bool]:
    """The paragraphs a feed item carries, and whether that is less than the whole text."""
    kept: list[str] = []
    room = ITEM_CHARACTERS
    for paragraph in article.paragraphs:
        if len(paragraph) > room:
            if room >= SHORTEST_PART or not kept:
                kept.append(clip(paragraph, room))
            return tuple(kept), True
        kept.append(paragraph)
        room -= len(paragraph)
    return tuple(kept), False


def item_summary(article: Story) -> str:
    return clip(article.summary, SUMMARY_CHARACTERS)


@functools.lru_cache(maxsize=4096)  # an article appears in many feeds: sanitise it once
def content_html(article: Story, page: str) -> str:
    """The text as HTML paragraphs, every character escaped, then sanitised; a long article's
    ends with a link to its page, which has the rest."""
    paragraphs, shortened = item_text(article)
    html = "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
    if shortened:
        html += f'<p><a href="{escape(page)}">Continue reading</a></p>'
    if article.source:
        url = source_url(article.source)
        name = escape(article.source, quote=False)
        link = f'<a href="{escape(url)}">{name}</a>' if url else name
        html += f"<p>Original source: {link}</p>"
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel=None,
    )


def generator(feed: Feed[Story], self_type: str) -> FeedGenerator:
    """A FeedGenerator with the channel data; the caller adds format-specific parts."""
    fg = FeedGenerator()
    fg.id(feed.id)
    fg.title(feed.title)
    fg.subtitle(feed.subtitle)
    fg.language(feed.language)
    fg.author({"name": feed.author})
    fg.generator("feeds", version=__version__)
    fg.updated(feed.updated)
    fg.link(href=feed.self_url, rel="self", type=self_type)
    fg.link(href=feed.html_url, rel="alternate", type="text/html")
    if feed.icon:
        fg.icon(feed.icon.url)
    if feed.logo:
        # RSS <image> (its title and link those of the channel, as validators want) and Atom
        # <logo>, both from feedgen's image().
        logo = feed.logo
        fg.image(logo.url, feed.title, feed.html_url, str(logo.width), str(logo.height))
    fg.register_extension("feeds", FeedsExtension, FeedsEntryExtension)
    fg.feeds.links = feed.links
    fg.feeds.archive = feed.archive
    return fg


def add_entry(fg: FeedGenerator, feed: Feed[Story], article: Story) -> FeedEntry:
    """The fields every format shares; formats add their own afterwards."""
    entry = fg.add_entry(order="append")
    entry.id(article_urn(article.id))
    entry.title(article.title)
    entry.link(href=feed.article_url.format(id=article.id), rel="alternate", type="text/html")
    # Archive pages (Atom only) leave out <published> when it is <updated>: it is optional
    # (RFC 4287, 4.2.9), and readers show the one date they have; 48 bytes an item.
    if not (feed.archive and article.published == article.updated):
        entry.published(article.published)
    entry.updated(article.updated)
    if article.author:
        entry.author({"name": article.author})
    if not feed.archive:  # archive pages carry summaries: the page of each item has its text
        entry.content(content_html(article, feed.article_url.format(id=article.id)), type="html")
    # Archive pages name the topics without the scheme (the topics' URL, Atom scheme and RSS
    # domain), which no reader shows and the subscription feed gives: a ninth of their bytes.
    scheme = None if feed.archive else feed.topic_scheme
    for slug in article.topics:
        entry.category(term=slug, label=feed.topic_names.get(slug, slug), scheme=scheme)
    return entry


# Reusing entries: an article's entry is the same bytes in every document of a format that holds
# it (all, its topics, their archive pages), so feedgen builds and writes it once. ---------------

ENTRY_CACHE_BYTES = 8 << 20  # per format and process: the export's working set of entries


def entry_cache(limit: int = ENTRY_CACHE_BYTES) -> ByteCache[Hashable, bytes]:
    """The serialised entries of recently rendered articles, for one format."""
    return ByteCache(limit)


def entry_key(feed: Feed[Story], article: Story) -> Hashable:
    """Everything an entry's bytes are made of (see :func:`add_entry`)."""
    names = tuple(feed.topic_names.get(slug, slug) for slug in article.topics)
    return (article, feed.archive, feed.article_url, feed.topic_scheme, names)


def with_entries(
    feed: Feed[Story],
    fg: FeedGenerator,
    add: Callable[[FeedGenerator, Story], None],
    serialize: Callable[[FeedGenerator], bytes],
    cache: ByteCache[Hashable, bytes],
    tags: tuple[bytes, bytes],
) -> bytes:
    """The document feedgen writes for ``feed``, its entries taken from ``cache`` where they
    are there: feedgen builds the channel and the other entries, and its output is cut at the
    entries (``tags``: the entry's opening tag and the channel's closing one) to put them all
    in order. The bytes are those feedgen writes for the whole document, as an entry is written
    the same whatever its neighbours (tests/test_feeds.py renders both ways)."""
    keys = [entry_key(feed, article) for article in feed.items]
    entries = [cache.get(key) for key in keys]
    for article, entry in zip(feed.items, entries, strict=True):
        if entry is None:
            add(fg, article)
    head, made, tail = split_entries(serialize(fg), *tags)
    fresh = iter(made)
    for n, entry in enumerate(entries):
        if entry is None:
            made_now = entries[n] = next(fresh)
            cache.put(keys[n], made_now, len(made_now))
    return head + b"".join(cast(list[bytes], entries)) + tail


def split_entries(xml: bytes, opening: bytes, closing: bytes) -> tuple[bytes, list[bytes], bytes]:
    """A document cut into what comes before its entries, each entry (with the indentation
    and line end around it, if pretty), and what comes after."""
    end = _line_start(xml, xml.rindex(closing))
    starts = []
    at = xml.find(opening)
    while at != -1:
        starts.append(_line_start(xml, at))
        at = xml.find(opening, at + len(opening))
    if not starts:
        return xml[:end], [], xml[end:]
    bounds = [*starts, end]
    entries = [xml[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    return xml[: starts[0]], entries, xml[end:]


def _line_start(xml: bytes, at: int) -> int:
    """Where the tag at ``at`` begins, with its indentation if it starts a line."""
    line = xml.rfind(b"\n", 0, at) + 1
    return line if xml[line:at].strip(b" ") == b"" else at
