"""Atom 1.0 (RFC 4287)."""

from __future__ import annotations

from functools import partial

from feedgen.feed import FeedGenerator

from ..models import Feed, Story
from .common import add_entry, entry_cache, generator, item_summary, source_url, with_entries
from .format import Format

ENTRIES = entry_cache()


def render(feed: Feed[Story]) -> bytes:
    fg = generator(feed, FORMAT.link_type)
    # Archive pages, read by programs walking a topic's history, go without indentation.
    pretty = not feed.archive
    return with_entries(
        feed, fg, partial(_add, feed),
        lambda fg: fg.atom_str(pretty=pretty, encoding="UTF-8", xml_declaration=True),
        ENTRIES, (b"<entry>", b"</feed>"),
    )  # fmt: skip


def _add(feed: Feed[Story], fg: FeedGenerator, article: Story) -> None:
    entry = add_entry(fg, feed, article)
    entry.summary(item_summary(article), type="text")
    if article.source and (url := source_url(article.source)):
        entry.feeds.source = (url, article.source, article.updated)


FORMAT = Format("atom", "Atom 1.0", "application/atom+xml", render)
