"""RSS 2.0, following the RSS Advisory Board's profile."""

from __future__ import annotations

from html import escape

from ..models import Feed
from .common import (
    add_entry,
    generator,
    item_summary,
    render_lock,
    source_url,
)
from .format import Format


def render(feed: Feed) -> bytes:
    fg = generator(feed, FORMAT.link_type)
    fg.description(feed.subtitle)
    fg.load_extension("dc", atom=False, rss=True)
    for article in feed.items:
        entry = add_entry(fg, feed, article)
        entry.guid(entry.id(), permalink=False)
        # description is HTML in RSS: escape the plain-text summary once for HTML.
        entry.description(escape(item_summary(article), quote=False))
        if article.source and (url := source_url(article.source)):
            entry.source(url=url, title=article.source)
        if article.author:
            entry.dc.dc_creator(article.author)
    with render_lock:
        # Archive pages, read by programs walking a topic's history, go without indentation.
        xml = fg.rss_str(pretty=not feed.archive, encoding="UTF-8", xml_declaration=True)
    return hex_references(xml)


FORMAT = Format("rss", "RSS 2.0", "application/rss+xml", render)


def hex_references(xml: bytes) -> bytes:
    """Write "&" and "<" as hexadecimal character references, as the RSS profile advises.

    RSS has no way to say whether a title is text or HTML, so readers guess; the profile
    (and the W3C validator) take "&#x26;" and "&#x3C;" as the sign of plain text. The XML
    means the same either way.
    """
    return xml.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")
