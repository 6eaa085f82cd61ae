"""Output formats: one module each, behind one registry keyed by file extension.

A renderer takes a format-independent :class:`~feeds.models.Feed` and returns
the document's bytes. Adding a format is one module and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..models import Feed, Story
from . import atom, jsonfeed, rss


@dataclass(frozen=True)
class Format:
    extension: str
    label: str  # shown to people: "RSS 2.0"
    media_type: str  # the Content-Type, charset included where it applies
    link_type: str  # the bare media type, for <link type="...">
    render: Callable[[Feed[Story]], bytes]


FORMATS: dict[str, Format] = {
    "rss": Format(
        "rss", "RSS 2.0", "application/rss+xml; charset=utf-8", "application/rss+xml", rss.render
    ),
    "atom": Format(
        "atom",
        "Atom 1.0",
        "application/atom+xml; charset=utf-8",
        "application/atom+xml",
        atom.render,
    ),
    "json": Format(
        "json",
        "JSON Feed 1.1",
        "application/feed+json; charset=utf-8",
        "application/feed+json",
        jsonfeed.render,
    ),
}
