"""The directory of topics: ``/topics.json`` and the OPML 2.0 subscription list."""

from __future__ import annotations

import json
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from lxml import etree

from .compose import title_of
from .models import Selection, Topic
from .overview import countries
from .render import FORMATS
from .urls import feed_path, topic_path

if TYPE_CHECKING:
    from .snapshot import Snapshot

OPML_TYPE = "text/x-opml; charset=utf-8"


def feed_urls(snap: Snapshot, slug: str) -> dict[str, str]:
    selection = Selection(all_of=(slug,))
    return {ext: snap.config.base_url + feed_path(selection, ext) for ext in FORMATS}


def topic_records(snap: Snapshot) -> list[dict[str, Any]]:
    """Every topic with its parent, article count, page and feed URLs; a topic without
    articles has no page or feeds yet (they answer 404), so its ``url`` and ``feeds`` are null."""
    records = []
    for topic in sorted(snap.taxonomy.topics.values(), key=lambda t: t.slug):
        count = len(snap.by_topic[topic.slug])
        records.append({
            "slug": topic.slug,
            "name": topic.name,
            "parent": topic.parent,
            "kind": topic.kind,
            "articles": count,
            "url": snap.config.base_url + topic_path(topic.slug) if count else None,
            "feeds": feed_urls(snap, topic.slug) if count else None,
        })  # fmt: skip
    return records


def topics_json(snap: Snapshot) -> bytes:
    document = {"topics": topic_records(snap)}
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


def opml(snap: Snapshot, extension: str) -> bytes:
    """OPML 2.0: every topic that has articles, nested by the topic hierarchy."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{snap.config.title}: every topic"
    etree.SubElement(head, "dateModified").text = format_datetime(snap.newest_change, usegmt=True)
    body = etree.SubElement(root, "body")
    all_feeds = snap.config.base_url + feed_path(Selection(), extension)
    etree.SubElement(body, "outline", text="All articles", title="All articles", type="rss",
                     xmlUrl=all_feeds, htmlUrl=snap.config.base_url + "/")  # fmt: skip
    roots = [t for t in snap.taxonomy.topics.values() if t.parent is None]
    for topic in sorted(roots, key=lambda t: t.name):
        _outline(snap, body, topic.slug, extension)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _outline(snap: Snapshot, parent: Any, slug: str, extension: str) -> None:
    if not snap.by_topic[slug]:
        return
    topic = snap.taxonomy.topics[slug]
    feed = {
        "text": topic.name, "title": topic.name, "type": "rss",
        "xmlUrl": feed_urls(snap, slug)[extension],
        "htmlUrl": snap.config.base_url + topic_path(slug),
    }  # fmt: skip
    children = [c for c in snap.taxonomy.children(slug) if snap.by_topic[c]]
    if not children:
        etree.SubElement(parent, "outline", **feed)
        return
    # A folder named for the topic: the topic's own feed first, then its children's.
    folder = etree.SubElement(parent, "outline", text=topic.name, title=topic.name)
    etree.SubElement(folder, "outline", **feed)
    for child in sorted(children, key=lambda c: snap.taxonomy.topics[c].name):
        _outline(snap, folder, child, extension)


def opml_by_region(snap: Snapshot, extension: str, chosen: list[str] | None = None) -> bytes:
    """OPML 2.0 that a reader can import without getting each story many times, in a folder
    per region: the countries (a story is in one feed per country it is about), or the
    ``chosen`` topics, where each feed leaves out the stories of the feeds before it, so
    every story is in exactly one."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    names = ", ".join(snap.taxonomy.topics[s].name for s in chosen) if chosen else ""
    title = f"chosen topics: {names}" if chosen else "countries by region"
    etree.SubElement(head, "title").text = f"{snap.config.title}: {title}"
    etree.SubElement(head, "dateModified").text = format_datetime(snap.newest_change, usegmt=True)
    body = etree.SubElement(root, "body")
    before: list[str] = []
    for region, topics in countries(snap, _outermost(snap, chosen) if chosen else None):
        folder = etree.SubElement(body, "outline", text=region, title=region)
        for topic in topics:
            selection = Selection(all_of=(topic.slug,), none_of=tuple(sorted(before)))
            _feed_outline(snap, folder, topic, selection, extension)
            if chosen:
                before.append(topic.slug)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _outermost(snap: Snapshot, slugs: list[str]) -> list[str]:
    """The chosen topics without those inside another chosen one: its feed has their stories."""
    chosen = set(slugs)
    return [s for s in slugs if chosen.isdisjoint(snap.taxonomy.ancestors(s))]


def _feed_outline(
    snap: Snapshot, parent: Any, topic: Topic, selection: Selection, extension: str
) -> None:
    title = title_of(snap, selection)
    etree.SubElement(
        parent, "outline", text=title, title=title, type="rss",
        xmlUrl=snap.config.base_url + feed_path(selection, extension),
        htmlUrl=snap.config.base_url + topic_path(topic.slug),
    )  # fmt: skip
