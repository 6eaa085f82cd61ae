"""Composing feed documents from a snapshot: selections, search, history pages.

History follows RFC 5005. A selection's articles, counted from the oldest, are
cut into archive pages of ``ARCHIVE_SIZE``; only complete pages are published,
so an archive page never changes when newer articles arrive. An article that
leaves a selection keeps its place (:meth:`Snapshot.slots`): its page holds one
item fewer, and no other page moves or goes away. The subscription
document holds the newest articles and links to the newest archive page; each
archive page links to its neighbours both as an archive (``prev-archive``,
``next-archive``, ``current``) and as a paged feed (``first``, ``next``,
``previous``, ``last``), so a reader can walk back through the whole topic.

Archive pages are published in Atom only (:data:`ARCHIVE_FORMAT`), the format RFC 5005 is
written for: the RSS feed links to them with their Atom media type, as every RSS reader reads
Atom. A JSON Feed cannot: its ``next_url`` names another JSON Feed, so it has none.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from urllib.parse import urlencode

from .cache import ByteCache
from .images import site_images
from .models import Article, Feed, FeedImage, FeedLink, Rendered, Selection, Story
from .render import FORMATS
from .snapshot import Snapshot
from .urls import archive_path, article_path, feed_path, feed_urn, selection_key, topic_path

ARCHIVE_SIZE = 20
ARCHIVE_FORMAT = "atom"  # the one format of the archive pages
ARCHIVE_MAX_AGE = 7 * 24 * 3600
GZIP_MIN_BYTES = 1024


class TextUnavailable(LookupError):
    """An article's text is neither in the index nor readable from its file just now."""


@dataclass(frozen=True)
class FeedRequest:
    """One feed document: which articles, which format, which page."""

    selection: Selection
    extension: str
    limit: int
    query: str = ""  # normalised search text; empty: no search
    page: int = 0  # 0: the subscription document; n >= 1: archive page n

    def __post_init__(self) -> None:
        if self.page and self.extension != ARCHIVE_FORMAT:
            raise ValueError(f"archive pages are published as .{ARCHIVE_FORMAT} only")

    def url(self, snap: Snapshot) -> str:
        """The canonical absolute URL of this document."""
        if self.page:
            return snap.config.base_url + archive_path(self.selection, self.page, self.extension)
        params = {}
        if self.limit != snap.config.feed_items:
            params["limit"] = str(self.limit)
        if self.query:
            params["q"] = self.query
        query = "?" + urlencode(params) if params else ""
        return snap.config.base_url + feed_path(self.selection, self.extension) + query


def depends_on(request: FeedRequest) -> frozenset[str] | None:
    """The topics a feed document depends on; None: every article."""
    selection = request.selection
    return None if selection.is_everything or request.query else frozenset(selection.slugs)


@dataclass(frozen=True)
class _Cached:
    rendered: Rendered
    depends_on: frozenset[str] | None  # topic slugs and "@<id>" marks; None: everything


class Documents:
    """The documents rendered from one snapshot, each once; the snapshot that follows keeps
    those that depend on nothing its change touched."""

    def __init__(self, cache: ByteCache[tuple[str, ...], _Cached]) -> None:
        self._cache = cache
        self._lock = threading.Lock()

    def get(
        self,
        key: tuple[str, ...],
        make: Callable[[], Rendered],
        depends_on: frozenset[str] | None = None,
    ) -> Rendered:
        found = self._cache.get(key)
        if found is not None:
            return found.rendered
        rendered = make()
        size = len(rendered.body) + len(rendered.gzip or b"") + 256
        self._cache.put(key, _Cached(rendered, depends_on), size)
        return rendered

    def follow(self, touched: frozenset[str]) -> Documents:
        with self._lock:
            kept = self._cache.copy(
                lambda cached: (
                    cached.depends_on is not None and cached.depends_on.isdisjoint(touched)
                )
            )
        return Documents(kept)


def documents(snap: Snapshot) -> Documents:
    made = snap.derived("documents", lambda: Documents(ByteCache(snap.config.cache_bytes)))
    assert isinstance(made, Documents)  # the only kind made under this name
    return made


def cached(
    snap: Snapshot,
    key: tuple[str, ...],
    make: Callable[[], Rendered],
    depends_on: frozenset[str] | None = None,
) -> Rendered:
    """Memoise a rendered document for the life of a snapshot (and later ones it does not
    depend on)."""
    return documents(snap).get(key, make, depends_on)


def document(snap: Snapshot, request: FeedRequest) -> Rendered:
    """One feed document, rendered once per snapshot."""
    key = ("feed", request.url(snap))
    return cached(snap, key, lambda: render_document(snap, request), depends_on(request))


def full(snap: Snapshot, article: Article) -> Story:
    """The article with its text, which the snapshot's text source keeps (a snapshot made of
    stories holds it already).

    The index is only a cache of the text: when it does not have it, the file is read
    again; when neither can give it, :class:`TextUnavailable` is raised, as an article is
    never published without its text.
    """
    if isinstance(article, Story):
        return article
    text = snap.texts.text(article) if snap.texts is not None else None
    if not text:
        raise TextUnavailable(article.path)
    return article.with_text(text)


def title_of(snap: Snapshot, selection: Selection) -> str:
    if selection.is_everything:
        return "All articles"
    names = [snap.topic_names[s] for s in selection.all_of or selection.any_of]
    title = (" and " if selection.all_of else " or ").join(names)
    if selection.none_of:
        title += ", without " + " or ".join(snap.topic_names[s] for s in selection.none_of)
    return title


def html_path_of(selection: Selection) -> str:
    if selection.is_everything:
        return "/"
    if len(selection.all_of) == 1 and not selection.none_of:
        return topic_path(selection.all_of[0])
    return topic_path(selection_key(selection))


def archive_pages(count: int) -> int:
    """How many complete archive pages a selection of ``count`` articles has."""
    return count // ARCHIVE_SIZE


def archive_items(articles: tuple[Article, ...], page: int) -> tuple[Article, ...]:
    """Archive page ``page`` (from 1, oldest first), its items newest first."""
    end = len(articles) - (page - 1) * ARCHIVE_SIZE
    return articles[end - ARCHIVE_SIZE : end]


def archive_modified(snap: Snapshot, selection: Selection, page: int) -> datetime | None:
    """The last change to archive page ``page``: of its items, of the articles that left it,
    and of the page after it, whose arrival added a link to this one."""
    slots = snap.slots(selection)
    held = [*archive_items(slots, page)]
    if page < archive_pages(len(slots)):
        held += archive_items(slots, page + 1)
    moments = [a.updated for a in held if snap.is_live(a)]
    moments += [snap.gone[a.id].at for a in held if not snap.is_live(a) and a.id in snap.gone]
    return max(moments, default=None)


def compose(
    snap: Snapshot, request: FeedRequest, text_of: Callable[[Article], Story] | None = None
) -> Feed[Story]:
    """The feed document a request names, its items with their text.

    ``text_of`` gives an article its text (:func:`full` unless given: the static export passes
    one that remembers the last few, as the formats of a page follow each other)."""
    articles = snap.select(request.selection)
    if request.query:
        items = tuple(islice(snap.search(articles, request.query), request.limit))
    elif request.page:
        page = archive_items(snap.slots(request.selection), request.page)
        items = tuple(a for a in page if snap.is_live(a))
    else:
        items = articles[: request.limit]
    shown = tuple(map(text_of, items)) if text_of else tuple(full(snap, a) for a in items)
    title = title_of(snap, request.selection)
    if request.query:
        title += f", matching “{request.query}”"
    elif request.page:
        title += f", archive page {request.page}"
    links = history_links(snap, request, len(snap.slots(request.selection)))
    # WebSub discovery (W3C WebSub, 4): the hubs, beside the self link every document has.
    links += tuple(FeedLink("hub", hub) for hub in snap.config.hubs)
    base = snap.config.base_url
    updated = max((a.updated for a in items), default=None)
    if request.page and updated is None:  # every article of the page has gone
        updated = archive_modified(snap, request.selection, request.page)
    return Feed(
        id=feed_urn(request.selection),
        title=f"{snap.config.title}: {title}",
        subtitle=f"{title}: articles from {snap.config.title}.",
        self_url=request.url(snap),
        html_url=base + html_path_of(request.selection),
        updated=updated or snap.newest_change,
        items=shown,
        author=snap.config.author,
        language=snap.config.language,
        topic_names=snap.topic_names,
        topic_scheme=base + "/topics/",
        article_url=base + article_path("{id}"),
        links=links,
        # An archive page is marked as one when it links another archive page. The lone
        # archive page of a selection links none (RFC 5005 asks for neither link when there is
        # no page before or after it), and the W3C validator warns of a marked archive page
        # without either link: it goes unmarked until a second page comes.
        archive=bool(request.page)
        and any(link.rel in ("prev-archive", "next-archive") for link in links),
        next_url=next_url(links, FORMATS[request.extension].link_type),
        **feed_images(snap),
    )


def feed_images(snap: Snapshot) -> dict[str, FeedImage]:
    """The site's icon, favicon and logo, as feeds point to them."""
    images = site_images(snap.config.icon, snap.config.logo)
    found = {}
    for field, path in (("icon", "/icon.png"), ("favicon", "/favicon.png"), ("logo", "/logo.png")):
        image = images[path]
        found[field] = FeedImage(snap.config.base_url + path, image.width, image.height)
    return found


def next_url(links: tuple[FeedLink, ...], media_type: str) -> str | None:
    """JSON Feed's ``next_url``: the next page, when it is a document of the same format
    ("the URL of a feed that provides the next n items", JSON Feed 1.1)."""
    return next((link.href for link in links if link.rel == "next" and link.type == media_type),
                None)  # fmt: skip


def links_archive(extension: str) -> bool:
    """Whether a format's subscription documents link the archive pages: the XML formats do,
    by ``atom:link`` with the pages' type; a JSON Feed's ``next_url`` may only name a JSON
    Feed (:func:`next_url`)."""
    return extension == ARCHIVE_FORMAT or FORMATS[extension].link_type.endswith("+xml")


def history_links(snap: Snapshot, request: FeedRequest, count: int) -> tuple[FeedLink, ...]:
    """RFC 5005 links: archive and paging relations of a document. Archive pages are in
    :data:`ARCHIVE_FORMAT`, and so is their ``current`` document; the RSS feed links them."""
    media_type = FORMATS[request.extension].link_type
    archive_type = FORMATS[ARCHIVE_FORMAT].link_type
    pages = archive_pages(count)
    current = FeedRequest(request.selection, request.extension, snap.config.feed_items)

    def page(number: int) -> tuple[str, str]:
        return FeedRequest(request.selection, ARCHIVE_FORMAT, request.limit, page=number).url(
            snap
        ), archive_type

    head = (current.url(snap), media_type)
    if request.query or (not request.page and request.limit < ARCHIVE_SIZE - 1):
        # Searches and short documents do not hold every article newer than the
        # newest archive page, so they cannot be the head of the history chain.
        return (FeedLink("first", *head),)
    rels: list[tuple[str, tuple[str, str]]] = [("first", head)]
    if pages:
        rels.append(("last", page(1)))
    if not request.page:
        if pages:
            rels += [("next", page(pages)), ("prev-archive", page(pages))]
    else:
        n = request.page
        rels.append(("current", head))
        rels.append(("previous", page(n + 1) if n < pages else head))
        if n < pages:
            rels.append(("next-archive", page(n + 1)))
        if n > 1:
            rels += [("next", page(n - 1)), ("prev-archive", page(n - 1))]
    return tuple(FeedLink(rel, href, kind) for rel, (href, kind) in rels)


def render_document(
    snap: Snapshot,
    request: FeedRequest,
    compress: bool = True,
    text_of: Callable[[Article], Story] | None = None,
) -> Rendered:
    fmt = FORMATS[request.extension]
    feed = compose(snap, request, text_of)
    body = fmt.render(feed)
    # Last-Modified also counts articles that left: it never goes back (the body's own
    # dates are those of the articles it holds, the same on every replica).
    if request.page:
        changed = archive_modified(snap, request.selection, request.page)
    else:
        changed = snap.changed_at(request.selection)
    modified = max(feed.updated, changed) if changed else feed.updated
    max_age = ARCHIVE_MAX_AGE if request.page else None
    return with_validators(body, fmt.media_type, modified, max_age, compress)


def with_validators(  # type: ignore[no-untyped-def]
    body: bytes, media_type: str, last_modified, max_age: int | None = None, compress: bool = True
) -> Rendered:
    """Validators and the gzip form, computed once: the same bytes on every replica.

    Without ``compress`` the gzip form is left out (the static export makes it only for the
    documents it writes it for)."""
    compressed = gzip_form(body) if compress else None
    etag = hashlib.sha256(body).hexdigest()[:32]
    return Rendered(body, media_type, etag, last_modified, compressed, max_age)


def gzip_form(body: bytes) -> bytes | None:
    """The gzip bytes sent for a body, or None when it is too small to be worth it."""
    return gzip.compress(body, compresslevel=9, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
