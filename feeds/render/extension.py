"""What feedgen cannot write by itself, added through its extension interface.

- links beyond self/alternate (RFC 5005 paging and archives) in Atom and RSS,
  placed with the channel metadata, before the first entry;
- the ``fh:archive`` marker of archive documents;
- a complete Atom ``<source>`` (id, title, link, updated), as validators expect;
- Atom text that looks like markup sent as ``type="html"``, escaped, so that it
  is shown as the text it is and is not mistaken for undeclared HTML.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

from ..models import FeedLink
from ..timestamps import rfc3339

ATOM_NS = "http://www.w3.org/2005/Atom"
FH_NS = "http://purl.org/syndication/history/1.0"
_TAG_LIKE = re.compile(r"</?[A-Za-z][^>]*>|&[#A-Za-z0-9]+;")


def looks_like_markup(text: str) -> bool:
    return bool(_TAG_LIKE.search(text))


def _insert_before_first(parent: Any, tag: str, element: Any) -> None:
    first = parent.find(tag)
    if first is None:
        parent.append(element)
    else:
        first.addprevious(element)


class FeedsExtension(BaseExtension):  # type: ignore[misc]  # feedgen ships no type hints
    """Feed-level: extra links and the archive marker."""

    def __init__(self) -> None:
        self.links: tuple[FeedLink, ...] = ()
        self.archive = False

    def extend_ns(self) -> dict[str, str]:
        return {"fh": FH_NS} if self.archive else {}

    def _elements(self, link_tag: str) -> list[Any]:
        made = []
        if self.archive:
            made.append(etree.Element(f"{{{FH_NS}}}archive"))
        for link in self.links:
            element = etree.Element(link_tag, href=link.href, rel=link.rel)
            if link.type:
                element.set("type", link.type)
            made.append(element)
        return made

    def extend_atom(self, feed: Any) -> Any:
        # feedgen writes Atom elements unqualified under a default namespace: match that.
        for element in self._elements("link"):
            _insert_before_first(feed, "entry", element)
        return feed

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        for element in self._elements(f"{{{ATOM_NS}}}link"):
            _insert_before_first(channel, "item", element)
        return feed


class FeedsEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Entry-level: the Atom source and markup-looking text."""

    def __init__(self) -> None:
        self.source: tuple[str, str, datetime] | None = None  # url, title, updated

    def extend_atom(self, entry: Any) -> Any:
        for name in ("title", "summary"):
            element = entry.find(name)
            if element is not None and element.text and looks_like_markup(element.text):
                element.set("type", "html")
                element.text = escape(element.text, quote=False)
        if self.source is not None:
            url, title, updated = self.source
            source = etree.SubElement(entry, "source")
            etree.SubElement(source, "id").text = url
            etree.SubElement(source, "title").text = title
            etree.SubElement(source, "link", href=url)
            etree.SubElement(source, "updated").text = rfc3339(updated, offset=True)
        return entry

    def extend_rss(self, item: Any) -> Any:
        return item
