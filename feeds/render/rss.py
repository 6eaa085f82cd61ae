"""RSS 2.0, following the RSS Advisory Board's profile."""

from __future__ import annotations

from functools import partial
from html import escape
from typing import cast

from feedgen.feed import FeedGenerator

from ..models import Feed, Story
from .common import (
    add_entry,
    entry_cache,
    generator,
    item_summary,
    render_lock,
    source_url,
    with_entries,
)
from .format import Format

ENTRIES = entry_cache()


def render(feed: Feed[Story]) -> bytes:
    fg = generator(feed, FORMAT.link_type)
    fg.description(feed.subtitle)
    fg.load_extension("dc", atom=False, rss=True)
    # Archive pages, read by programs walking a topic's history, go without indentation.
    pretty = not feed.archive

    def serialize(fg: FeedGenerator) -> bytes:
        with render_lock:
            return cast(bytes, fg.rss_str(pretty=pretty, encoding="UTF-8", xml_declaration=True))

    xml = with_entries(feed, fg, partial(_add, feed), serialize, ENTRIES,
                       (b"<item>", b"</channel>"))  # fmt: skip
    return hex_references(xml)


def _add(feed: Feed[Story], fg: FeedGenerator, article: Story) -> None:
    entry = add_entry(fg, feed, article)
    entry.guid(entry.id(), permalink=False)
    # description is HTML in RSS: escape the plain-text summary once for HTML.
    entry.description(escape(item_summary(article), quote=False))
    if article.source and (url := source_url(article.source)):
        entry.source(url=url, title=article.source)
    if article.author:
        entry.dc.dc_creator(article.author)


FORMAT = Format("rss", "RSS 2.0", "application/rss+xml", render)


def hex_references(xml: bytes) -> bytes:
    """Write "&" and "<" as hexadecimal character references, as the RSS profile advises.

    RSS has no way to say whether a title is text or HTML, so readers guess; the profile
    (and the W3C validator) take "&#x26;" and "&#x3C;" as the sign of plain text. The XML
    means the same either way.
    """
    return xml.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")
