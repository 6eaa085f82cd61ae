"""Atom 1.0 (RFC 4287)."""

from __future__ import annotations

from ..models import Feed
from .common import add_entry, generator, item_summary, source_url
from .format import Format


def render(feed: Feed) -> bytes:
    fg = generator(feed, FORMAT.link_type)
    for article in feed.items:
        entry = add_entry(fg, feed, article)
        entry.summary(item_summary(article), type="text")
        if article.source and (url := source_url(article.source)):
            entry.feeds.source = (url, article.source, article.updated)
    # Archive pages, read by programs walking a topic's history, go without indentation.
    return fg.atom_str(pretty=not feed.archive, encoding="UTF-8", xml_declaration=True)


FORMAT = Format("atom", "Atom 1.0", "application/atom+xml", render)
