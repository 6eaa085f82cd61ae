"""Frozen records passed between the pipeline stages."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any, Generic, TypeVar


@dataclass(frozen=True, slots=True, kw_only=True)
class _Head:
    """What every state of an article has: what it is, where it came from, what it says."""

    id: str
    path: str  # relative to the collection, POSIX separators
    title: str
    digest: str  # sha256 of the file's bytes: the content fingerprint
    source: str | None = None  # original publisher: a domain or URL
    author: str | None = None
    link: str | None = None  # the original article's URL, if known
    declared_topics: tuple[str, ...] = ()  # from front matter
    topics: tuple[str, ...] = ()  # every topic the article is in, ancestors included


@dataclass(frozen=True, slots=True, kw_only=True)
class Parsed(_Head):
    """An article file as parsed: its text, and the dates its front matter gives, if any."""

    summary: str
    body: tuple[str, ...]
    published: datetime | None = None
    updated: datetime | None = None

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """The summary followed by the body: the full text."""
        return (self.summary, *self.body) if self.summary else self.body

    def indexed(self, topics: tuple[str, ...]) -> Indexed:
        """What the index keeps of it once tagged: all but the text, which it keeps apart."""
        return Indexed(
            id=self.id, path=self.path, title=self.title, digest=self.digest,
            source=self.source, author=self.author, link=self.link,
            declared_topics=self.declared_topics, topics=topics,
            published=self.published, updated=self.updated,
        )  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Indexed(_Head):
    """An article as the index keeps it: tagged, without its text, not yet dated."""

    published: datetime | None = None  # from front matter
    updated: datetime | None = None

    def dated(self, published: datetime, updated: datetime) -> Article:
        return Article(
            id=self.id, path=self.path, title=self.title, digest=self.digest,
            source=self.source, author=self.author, link=self.link,
            declared_topics=self.declared_topics, topics=self.topics,
            published=published, updated=updated,
        )  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Article(_Head):
    """An article dated and tagged, as a snapshot holds it: its text stays on disk."""

    published: datetime
    updated: datetime

    def with_text(self, paragraphs: tuple[str, ...]) -> Story:
        """The article with its text (the summary, then the body paragraphs)."""
        return Story(
            id=self.id, path=self.path, title=self.title, digest=self.digest,
            source=self.source, author=self.author, link=self.link,
            declared_topics=self.declared_topics, topics=self.topics,
            published=self.published, updated=self.updated,
            summary=paragraphs[0], body=paragraphs[1:],
        )  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Story(Article):
    """An article dated and tagged, with its text: what feeds and pages show."""

    summary: str
    body: tuple[str, ...]

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """The summary followed by the body: the full text."""
        return (self.summary, *self.body) if self.summary else self.body


Readable = Parsed | Story  # an article with its text, to tag, search or show


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with one file: skipped (error) or published with a fix (warning)."""

    path: str
    reason: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.severity}: {self.reason}"


# A topic slug: lowercase letters and digits in words joined by single hyphens. It is a URL
# path segment and a front matter value, so the same pattern holds wherever one is read.
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# The selection of every article, as feed paths spell it: no topic may take it as its slug.
ALL_ARTICLES = "all"


@dataclass(frozen=True, slots=True)
class Gone:
    """An article as it was when it left some feeds: it keeps its place in their archives."""

    id: str
    published: datetime
    topics: tuple[str, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class Topic:
    """A node of the taxonomy."""

    slug: str
    name: str
    parent: str | None = None
    terms: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    threshold: float | None = None  # None: the taxonomy's default
    kind: str = "place"  # place, region, organisation or subject


@dataclass(frozen=True, slots=True)
class Selection:
    """Which articles a feed holds: all of, any of, none of some topics."""

    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()

    @property
    def is_everything(self) -> bool:
        return not (self.all_of or self.any_of or self.none_of)

    @property
    def slugs(self) -> tuple[str, ...]:
        return self.all_of + self.any_of + self.none_of


@dataclass(frozen=True, slots=True)
class FeedLink:
    """A link from a feed document to another document (self, alternate, paging)."""

    rel: str
    href: str
    type: str | None = None


@dataclass(frozen=True, slots=True)
class FeedImage:
    """An image of the site that feeds point to, with its size in pixels."""

    url: str
    width: int
    height: int


Item = TypeVar("Item", bound=Article)  # the items of a feed: stories, or articles alone


@dataclass(frozen=True, slots=True)
class Feed(Generic[Item]):
    """Everything a renderer needs for one feed document, format-independent."""

    id: str
    title: str
    subtitle: str
    self_url: str
    html_url: str
    updated: datetime
    items: tuple[Item, ...]
    author: str
    language: str
    topic_names: dict[str, str] = field(default_factory=dict)
    topic_scheme: str = ""  # the URL prefix of topic pages, as the category scheme
    article_url: str = ""  # template with {id}
    links: tuple[FeedLink, ...] = ()  # extra links beyond self and alternate
    archive: bool = False  # an RFC 5005 archive document
    next_url: str | None = None  # the next (older) page, for JSON Feed
    icon: FeedImage | None = None  # square
    favicon: FeedImage | None = None  # square and small
    logo: FeedImage | None = None  # wide, within RSS's 144x400 pixels


@dataclass(frozen=True, slots=True)
class Rendered:
    """A response body computed once per snapshot, with its validators and gzip form."""

    body: bytes
    media_type: str
    etag: str
    last_modified: datetime | None
    gzip: bytes | None = None  # None: too small to be worth compressing
    max_age: int | None = None  # None: the configured default


Record = TypeVar("Record")


def restorer(cls: type[Record]) -> Callable[[Sequence[Any]], Record]:
    """What remakes records of a frozen dataclass from their field values, in the order
    :func:`field_values` gives them: for records this program kept itself (the snapshot
    kept for a fast start). It sets the slots as the generated ``__init__`` does, without
    its call by keyword: a third of the time, over hundreds of thousands of records."""
    if hasattr(cls, "__post_init__"):  # its __init__ does more than set the fields
        raise TypeError(f"{cls.__name__} cannot be restored without its __init__")
    setters = [getattr(cls, f.name).__set__ for f in fields(cls)]  # type: ignore[arg-type]
    new = object.__new__

    def restore(values: Sequence[Any]) -> Record:
        record = new(cls)
        for set_value, value in zip(setters, values, strict=True):
            set_value(record, value)
        return record

    return restore


def field_values(cls: type[Record]) -> Callable[[Record], tuple[Any, ...]]:
    """What gives a record's field values in declaration order: what :func:`restorer` takes."""
    return attrgetter(*(f.name for f in fields(cls)))  # type: ignore[arg-type]
