"""Shared pieces of the XML renderers: the feedgen wrapper and the article HTML.

feedgen traps handled here: entries are appended in order (not prepended),
every date comes from the data (never the wall clock), and the RSS channel
link is the last link added, so ``self`` goes first and the HTML page last.
"""

from __future__ import annotations

import functools
import re
import threading
from html import escape

import nh3
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

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
    entry.published(article.published)
    entry.updated(article.updated)
    if article.author:
        entry.author({"name": article.author})
    if not feed.archive:  # archive pages carry summaries: the page of each item has its text
        entry.content(content_html(article, feed.article_url.format(id=article.id)), type="html")
    for slug in article.topics:
        entry.category(term=slug, label=feed.topic_names.get(slug, slug), scheme=feed.topic_scheme)
    return entry
