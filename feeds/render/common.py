"""Shared pieces of the XML renderers: the feedgen wrapper and the article HTML.

feedgen traps handled here: entries are appended in order (not prepended),
every date comes from the data (never the wall clock), and the RSS channel
link is the last link added, so ``self`` goes first and the HTML page last.
"""

from __future__ import annotations

import threading
from html import escape

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from .. import __version__
from ..models import Article, Feed
from ..urls import article_urn
from .extension import FeedsEntryExtension, FeedsExtension

GENERATOR_URI = "https://pypi.org/project/feeds/"

# feedgen formats RSS dates by switching the process-wide locale: one at a time.
render_lock = threading.Lock()


def source_url(source: str) -> str:
    """An absolute URL for the original publisher given as a domain or a URL."""
    if source.startswith(("http://", "https://")):
        return source
    return f"https://{source.strip('/')}/"


def content_html(article: Article) -> str:
    """The full text as HTML paragraphs, every character of the text escaped."""
    html = "".join(f"<p>{escape(p, quote=False)}</p>" for p in article.paragraphs)
    if article.source:
        url = escape(source_url(article.source))
        html += f'<p>Original source: <a href="{url}">{escape(article.source)}</a></p>'
    return html


def generator(feed: Feed, self_type: str) -> FeedGenerator:
    """A FeedGenerator with the channel data; the caller adds format-specific parts."""
    fg = FeedGenerator()
    fg.id(feed.id)
    fg.title(feed.title)
    fg.subtitle(feed.subtitle)
    fg.language(feed.language)
    fg.author({"name": feed.author})
    fg.generator("feeds", version=__version__, uri=GENERATOR_URI)
    fg.updated(feed.updated)
    fg.link(href=feed.self_url, rel="self", type=self_type)
    fg.link(href=feed.html_url, rel="alternate", type="text/html")
    fg.register_extension("feeds", FeedsExtension, FeedsEntryExtension)
    fg.feeds.links = feed.links
    fg.feeds.archive = feed.archive
    return fg


def add_entry(fg: FeedGenerator, feed: Feed, article: Article) -> FeedEntry:
    """The fields every format shares; formats add their own afterwards."""
    entry = fg.add_entry(order="append")
    entry.id(article_urn(article.id))
    entry.title(article.title)
    entry.link(href=feed.article_url.format(id=article.id), rel="alternate", type="text/html")
    entry.published(article.published)
    entry.updated(article.updated)
    if article.author:
        entry.author({"name": article.author})
    return entry
