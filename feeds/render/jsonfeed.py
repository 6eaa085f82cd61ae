"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), from the same model as RSS and Atom."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..models import Feed, Story
from ..timestamps import rfc3339
from ..urls import article_urn
from .common import content_html, item_summary
from .format import Format

VERSION = "https://jsonfeed.org/version/1.1"


def date(moment: datetime | None) -> str | None:
    return rfc3339(moment, offset=True) if moment else None


def item(feed: Feed[Story], article: Story) -> dict[str, Any]:
    entry: dict[str, Any] = {
        # "id: unique for that item for that feed over time" - the same urn as RSS and Atom.
        "id": article_urn(article.id),
        "url": feed.article_url.format(id=article.id),
        "title": article.title,
    }
    if feed.archive:
        # Archive pages carry summaries (each item's page has its text); an item needs one of
        # content_html and content_text.
        entry["content_text"] = item_summary(article)
    else:
        # "summary: a plain text sentence or two describing the item".
        entry["summary"] = item_summary(article)
        entry["content_html"] = content_html(article, feed.article_url.format(id=article.id))
    entry["date_published"] = date(article.published)
    entry["date_modified"] = date(article.updated)
    if article.link:
        entry["external_url"] = article.link
    if article.author:
        entry["authors"] = [{"name": article.author}]
    if article.topics:
        entry["tags"] = [feed.topic_names.get(slug, slug) for slug in article.topics]
    return entry


def render(feed: Feed[Story]) -> bytes:
    document: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": feed.html_url,
        "feed_url": feed.self_url,
        "description": feed.subtitle,
        "language": feed.language,
        "authors": [{"name": feed.author}],
    }
    # "icon: ... square and relatively large"; "favicon: ... square and relatively small".
    if feed.icon:
        document["icon"] = feed.icon.url
    if feed.favicon:
        document["favicon"] = feed.favicon.url
    if feed.next_url:
        document["next_url"] = feed.next_url
    # "hubs (optional, array of objects) describes endpoints that can be used to subscribe to
    # real-time notifications from the publisher of this feed" (JSON Feed 1.1).
    hubs = [{"type": "WebSub", "url": link.href} for link in feed.links if link.rel == "hub"]
    if hubs:
        document["hubs"] = hubs
    document["items"] = [item(feed, article) for article in feed.items]
    if feed.archive:  # read by programs walking a topic's history: no indentation
        return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


FORMAT = Format("json", "JSON Feed 1.1", "application/feed+json", render)
