"""The Flask blueprint: routes, conditional GET, compression and errors.

The only module that imports Flask. Every body it sends was rendered once per
snapshot (see :meth:`Snapshot.cached`); a request only picks the bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    get_template_attribute,
    redirect,
    render_template,
    request,
)
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from . import overview, topic_lists
from . import reasons as topic_reasons
from .changes import surrogate_keys
from .compose import (
    ARCHIVE_FORMAT,
    ARCHIVE_MAX_AGE,
    FeedRequest,
    TextUnavailable,
    archive_pages,
    cached,
    depends_on,
    document,
    full,
    html_path_of,
    title_of,
    with_validators,
)
from .config import Config
from .images import site_images
from .index.live import LiveIndex
from .models import Article, Rendered, Selection
from .render import FORMATS
from .search import normalise_query
from .snapshot import MAX_LIMIT, Snapshot, UnknownTopic
from .timestamps import rfc3339
from .urls import SelectionError, feed_path, parse_selection, selection_key, topic_path

bp = Blueprint("feeds", __name__)

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
CSS = "text/css; charset=utf-8"
PAGE_ARTICLES = 50
MAX_OPML_TOPICS = 50  # each feed of the list names the topics before it
IMAGE_MAX_AGE = 24 * 3600  # images change only with the settings, at a restart
_SINGLE_SLASH = re.compile("(?<!/)/(?!/)")  # not the two of "https://"
_FEED_PATH = re.compile(r"^(?P<selection>[^/]+?)(?:/archive/(?P<page>[0-9]+))?\.(?P<ext>[a-z]+)$")


def snapshot() -> Snapshot:
    live: LiveIndex = current_app.extensions["feeds"]
    return live.snapshot


def send(rendered: Rendered, keys: frozenset[str] | None = None) -> Response:
    """The bytes of one representation, with validators; 304 when the client has them.

    ``keys``: what it depends on (topic slugs and ``@<id>`` marks; None: every article).
    """
    gzipped = rendered.gzip is not None and request.accept_encodings.quality("gzip") > 0
    response = Response(
        rendered.gzip if gzipped else rendered.body, content_type=rendered.media_type
    )
    if rendered.gzip is not None:
        response.vary.add("Accept-Encoding")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    # Each representation has its own strong validator (RFC 9110, 8.8.3.3).
    response.set_etag(rendered.etag + ("-gzip" if gzipped else ""))
    if rendered.last_modified is not None:
        response.last_modified = rendered.last_modified
    response.cache_control.public = True
    config = current_app.config["FEEDS"]
    response.cache_control.max_age = (
        rendered.max_age if rendered.max_age is not None else config.max_age
    )
    shared_caching(response, config)
    # Varnish's xkey module reads the first header, CDNs such as Fastly the second.
    response.headers["xkey"] = response.headers["Surrogate-Key"] = surrogate_keys(keys)
    return cast(Response, response.make_conditional(request))  # it returns the response itself


STALE_WHILE_REVALIDATE = 60  # seconds a shared cache may serve a purged copy while it refetches
STALE_IF_ERROR = 24 * 3600  # and while the app is down: a day covers a restart gone wrong


def shared_caching(response: Response, config: Config) -> None:
    """A long lifetime for shared caches that are purged; readers' ``max-age`` is unchanged."""
    shared = config.shared_max_age or (24 * 3600 if config.purges else 0)
    if not shared:
        return
    own = response.cache_control.max_age or 0
    response.cache_control.s_maxage = max(shared, own)
    response.cache_control.stale_while_revalidate = STALE_WHILE_REVALIDATE
    response.cache_control.stale_if_error = STALE_IF_ERROR


def hub_links(response: Response, config: Config, self_url: str) -> Response:
    """WebSub discovery in HTTP: ``Link: <hub>; rel="hub", <self>; rel="self"``."""
    if config.hubs:
        links = [f'<{hub}>; rel="hub"' for hub in config.hubs] + [f'<{self_url}>; rel="self"']
        response.headers["Link"] = ", ".join(links)
    return response


def page(
    snap: Snapshot,
    key: tuple[str, ...],
    template: str,
    depends_on: frozenset[str] | None = None,
    **context: Any,
) -> Response:
    """An HTML page, rendered once per snapshot (and kept by later ones it does not depend on)."""
    return send(
        cached(snap, key, lambda: render_page(snap, template, **context), depends_on), depends_on
    )


def render_page(snap: Snapshot, template: str, compress: bool = True, **context: Any) -> Rendered:
    """An HTML page's bytes; needs an application context, not a request."""
    # Straight from Jinja: a page takes nothing from a request, and Flask's rendering adds
    # only that (context processors, signals), for every one of thousands of pages.
    page = current_app.jinja_env.get_template(template)
    body = page.render(snap=snap, config=snap.config, root=site_root(snap.config), **context)
    return with_validators(body.encode(), HTML, context.get("last_modified"), compress=compress)


def site_root(config: Config) -> str:
    """The path the site lives under ("" at the root of its host). Links from page to page
    start from it, without the scheme and host every page has already: the same bytes on any
    host that serves the export. Addresses to copy and feed autodiscovery stay absolute."""
    return urlsplit(config.base_url).path.rstrip("/")


def redirect_to(snap: Snapshot, url: str) -> Response:
    return redirect(url if url.startswith("http") else snap.config.base_url + url, 301)  # type: ignore[return-value]


def requested_url() -> str:
    query = request.query_string.decode("latin-1")
    return request.path + ("?" + query if query else "")


def parse_limit(snap: Snapshot) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return snap.config.feed_items
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        abort(400, f"limit must be a whole number from 1 to {MAX_LIMIT}, got {raw[:20]!r}")
    return int(raw)


def feed_links(snap: Snapshot, selection: Selection, query: str = "") -> list[dict[str, str]]:
    """Autodiscovery and subscribe links for every format of a selection's feed."""
    title = title_of(snap, selection)
    links = []
    for ext, fmt in FORMATS.items():
        href = FeedRequest(selection, ext, snap.config.feed_items, query).url(snap)
        links.append(
            {
                "href": href,
                "type": fmt.link_type,
                "title": f"{title} ({fmt.label})",
                "label": fmt.label,
                "path": site_root(snap.config) + href.removeprefix(snap.config.base_url),
            }
        )
    return links


def selection_or_404(snap: Snapshot, text: str) -> Selection:
    try:
        selection = parse_selection(text)
        snap.select(selection)
    except SelectionError as exc:
        abort(404, f"no such feed: {exc}")
    except UnknownTopic as exc:
        abort(
            404, f"unknown topic {exc.args[0]!r}; the topics are listed at {snap.config.base_url}/"
        )
    if len(selection.slugs) == 1 and not snap.select(selection):
        # As in the static export, which writes no files for it.
        abort(404, f"topic {selection.slugs[0]!r} has no articles yet")
    return selection


@bp.get("/feeds/<path:name>")
def feed(name: str) -> Response:
    snap = snapshot()
    match = _FEED_PATH.match(name)
    if match is None or match["ext"] not in FORMATS:
        known = ", ".join("." + ext for ext in FORMATS)
        abort(404, f"no such feed: feeds end in {known}")
    selection = selection_or_404(snap, match["selection"])
    number = int(match["page"] or 0)
    if match["page"] is not None:
        pages = archive_pages(len(snap.slots(selection)))
        if not 1 <= number <= pages:
            abort(404, f"no archive page {number}: this feed has {pages}")
        # Archive pages are in Atom only: the .rss and .json pages once published move there.
        wanted = FeedRequest(selection, ARCHIVE_FORMAT, snap.config.feed_items, page=number)
    else:
        query = normalise_query(request.args.get("q", ""))
        wanted = FeedRequest(selection, match["ext"], parse_limit(snap), query)
    canonical = wanted.url(snap)
    if canonical != snap.config.base_url + requested_url():
        moved = redirect_to(snap, canonical)
        if wanted.page:  # as lasting as the page itself
            moved.cache_control.public = True
            moved.cache_control.max_age = ARCHIVE_MAX_AGE
        return moved
    return hub_links(send(document(snap, wanted), depends_on(wanted)), snap.config, canonical)


@bp.get("/")
def index() -> Response:
    snap = snapshot()
    return listing(snap, Selection(), ("page", "index"), "index.html")


@bp.get("/topics/<key>")
def topic(key: str) -> Response:
    snap = snapshot()
    selection = selection_or_404(snap, key)
    canonical = "/" if selection.is_everything else html_path_of(selection)
    if canonical != request.path:
        return redirect_to(
            snap, canonical + ("?" + request.query_string.decode() if request.query_string else "")
        )
    return listing(snap, selection, ("page", "topic", selection_key(selection)), "topic.html")


def listing(snap: Snapshot, selection: Selection, key: tuple[str, ...], template: str) -> Response:
    """The index or a topic page, optionally filtered by ``?q=``."""
    query = normalise_query(request.args.get("q", ""))
    depends_on = None if query or selection.is_everything else frozenset(selection.slugs)
    return send(
        cached(
            snap,
            (*key, query),
            lambda: render_listing(snap, selection, template, query),
            depends_on,
        ),
        depends_on,
    )


def render_listing(
    snap: Snapshot, selection: Selection, template: str, query: str = "", compress: bool = True
) -> Rendered:
    """The index or a topic page's bytes, for the server and the static export alike."""
    articles = snap.select(selection)
    total = len(articles)
    if query:
        articles = tuple(snap.search(articles, query))
    shown = articles[:PAGE_ARTICLES]
    return render_page(
        snap, template, compress,
        title=title_of(snap, selection), selection=selection, query=query, total=total,
        articles=shown, found=len(articles), links=feed_links(snap, selection, query),
        **(home(snap) if template == "index.html" else {}),
        bars=overview.coverage(articles) if template == "topic.html" and not query else [],
        children=[(t, len(snap.by_topic[t])) for t in snap.taxonomy.children(selection.all_of[0])
                  if snap.by_topic[t]] if len(selection.all_of) == 1 else [],
        search_url=site_root(snap.config) + html_path_of(selection),
        last_modified=max(
            [snap.changed_at(selection), *(a.updated for a in shown)]
        ) if shown else snap.last_change,
    )  # fmt: skip


def home(snap: Snapshot) -> dict[str, Any]:
    """What the home page shows of the topics: by region, the most covered, the latest."""
    groups = overview.topic_groups(snap)
    return {
        "topic_groups": groups,
        "other_groups": overview.OTHER_GROUPS,
        "topic_count": sum(1 for t in snap.taxonomy.topics if snap.by_topic[t]),
        "most_covered": overview.most_covered(snap),
        "recently_active": overview.recently_active(snap),
        "feeds_of": lambda slug: feed_links(snap, Selection(all_of=(slug,))),
        "all_feed": site_root(snap.config) + feed_path(Selection(), "atom"),
        "opml_url": snap.config.base_url + "/feeds.opml",  # shown whole, to be copied
    }


@bp.get("/articles/<article_id>")
def article(article_id: str) -> Response:
    snap = snapshot()
    found = snap.by_id.get(article_id)
    if found is None:
        abort(404, f"no article with id {article_id[:64]!r}")
    key, depends_on = ("page", "article", found.id), frozenset({"@" + found.id})
    return send(cached(snap, key, lambda: render_article(snap, found), depends_on), depends_on)


def render_article(snap: Snapshot, found: Article, compress: bool = True) -> Rendered:
    """An article page's bytes, for the server and the static export alike."""
    found = full(snap, found)
    feeds = topic_feeds(snap)
    reasons = [(why, feeds.of(snap, why.slug)) for why in topic_reasons.of_article(snap, found)]
    return render_page(
        snap, "article.html", compress,
        article=found, reasons=reasons, links=feed_links(snap, Selection()),
        last_modified=found.updated,
    )  # fmt: skip


class TopicFeeds:
    """Each topic's feed links as pages show them beside it, rendered once per snapshot
    rather than on each of the thousands of article pages that name the topic."""

    def __init__(self) -> None:
        self._made: dict[str, Markup] = {}

    def of(self, snap: Snapshot, slug: str) -> Markup:
        made = self._made.get(slug)
        if made is None:
            macro = get_template_attribute("_feeds.html", "feed_links")
            made = self._made[slug] = macro(feed_links(snap, Selection(all_of=(slug,))))
        return made

    def follow(self, touched: frozenset[str]) -> TopicFeeds:
        return TopicFeeds()  # a few hundred at most: made again rather than checked


def topic_feeds(snap: Snapshot) -> TopicFeeds:
    made = snap.derived("topic feeds", TopicFeeds)
    assert isinstance(made, TopicFeeds)  # the only kind made under this name
    return made


@bp.get("/style.css")
def stylesheet() -> Response:
    snap = snapshot()
    nothing: frozenset[str] = frozenset()  # no article changes it
    return send(cached(snap, ("style.css",), lambda: render_stylesheet(snap), nothing), nothing)


def render_stylesheet(snap: Snapshot, compress: bool = True) -> Rendered:
    """The pages' one stylesheet: a file of its own, fetched once, rather than in every page."""
    body = (Path(__file__).parent / "templates" / "style.css").read_bytes()
    return with_validators(body, CSS, None, compress=compress)


@bp.get("/topics.json")
def topics_json() -> Response:
    snap = snapshot()
    return send(cached(snap, ("topics.json",), lambda: render_topics_json(snap)))


def render_topics_json(snap: Snapshot, compress: bool = True) -> Rendered:
    return with_validators(topic_lists.topics_json(snap), JSON, snap.last_change, compress=compress)


@bp.get("/feeds.opml")
def subscriptions() -> Response:
    """Every topic, nested by the hierarchy; ``?set=countries`` or ``?topics=a,b``: lists by
    region without the overlaps of the full one (feeds.topic_lists)."""
    snap = snapshot()
    extension = request.args.get("format", "rss")
    if extension not in FORMATS:
        abort(400, f"format must be one of {', '.join(FORMATS)}")
    chosen = opml_topics(snap)
    kind = request.args.get("set")
    if kind not in (None, "countries") or (kind and chosen is not None):
        abort(400, "set must be 'countries', and cannot go with topics")
    params = {"set": kind, "topics": ",".join(chosen) if chosen is not None else None,
              "format": extension if extension != "rss" else None}  # fmt: skip
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    canonical = "/feeds.opml" + ("?" + query if query else "")
    if canonical != requested_url():
        return redirect_to(snap, canonical)

    make = partial(render_opml, snap, extension, chosen, kind == "countries")
    return send(cached(snap, ("opml", canonical), make))


def render_opml(
    snap: Snapshot,
    extension: str,
    chosen: list[str] | None = None,
    countries: bool = False,
    compress: bool = True,
) -> Rendered:
    """An OPML list: every topic, or by region the countries or the ``chosen`` topics."""
    if countries or chosen is not None:
        body = topic_lists.opml_by_region(snap, extension, chosen)
    else:
        body = topic_lists.opml(snap, extension)
    return with_validators(body, topic_lists.OPML_TYPE, snap.last_change, compress=compress)


def opml_topics(snap: Snapshot) -> list[str] | None:
    """The topics of ``?topics=``, sorted, each known; None when not given."""
    raw = request.args.get("topics")
    if raw is None:
        return None
    slugs = sorted({slug for slug in raw.split(",") if slug})
    if not slugs or len(slugs) > MAX_OPML_TOPICS:
        abort(400, f"topics must name 1 to {MAX_OPML_TOPICS} topics, separated by commas")
    unknown = [slug for slug in slugs if slug not in snap.taxonomy]
    if unknown:
        abort(404, f"unknown topic {unknown[0][:64]!r}; the topics are listed at "
                   f"{snap.config.base_url}/")  # fmt: skip
    return slugs


@bp.get("/status.json")
def status() -> Response:
    """For monitoring: the problems, how long since the collection was last checked, the
    last reload error. Never cached: it changes with every second."""
    live: LiveIndex = current_app.extensions["feeds"]
    snap = live.snapshot
    document = {
        "articles": len(snap.articles),
        "problems": len(snap.problems),
        "errors": sum(1 for p in snap.problems if p.severity == "error"),
        "checked_seconds_ago": round(time.time() - live.checked_at, 1),
        "reload_error": live.last_error,
        "newest_change": rfc3339(snap.newest_change),
    }
    response = Response(json.dumps(document) + "\n", content_type=JSON)
    response.cache_control.no_store = True
    return response


@bp.get("/icon.png")
@bp.get("/favicon.png")
@bp.get("/favicon.ico")
@bp.get("/logo.png")
def site_image() -> Response:
    """The site's icon and logo (feeds.images), the same for every snapshot."""
    snap = snapshot()
    make = partial(render_image, snap, request.path)
    return send(cached(snap, ("image", request.path), make, frozenset()), frozenset())


def render_image(snap: Snapshot, path: str, compress: bool = False) -> Rendered:
    """An image's bytes (never gzipped: PNG and ICO are compressed already)."""
    image = site_images(snap.config.icon, snap.config.logo)[path]
    etag = hashlib.sha256(image.body).hexdigest()[:32]
    return Rendered(image.body, image.media_type, etag, None, None, IMAGE_MAX_AGE)


bp.add_app_template_filter(rfc3339, "rfc3339")


@bp.app_template_filter("publisher")
def publisher(source: str) -> str:
    """The original publisher as people know it: a URL shows as its host name."""
    if source.startswith(("http://", "https://")):
        return urlsplit(source).hostname or source
    return source


@bp.app_template_filter("breakable")
def breakable(url: str) -> Markup:
    """A URL that a narrow screen wraps only after one of its slashes, never inside a word
    nor at its "?" or "-": each part between slashes is kept whole."""
    part = Markup('<span class="whole">{}</span>')
    return Markup("/<wbr>").join(part.format(p) for p in _SINGLE_SLASH.split(url))


@bp.app_template_filter("day")
def day(moment: datetime) -> str:
    return f"{moment:%d %B %Y}".lstrip("0")


@bp.app_template_global()
def topic_url(slug: str) -> str:
    return site_root(snapshot().config) + topic_path(slug)


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    """Every error answers with a short body, never a stack trace: an HTML page with a way
    back for a browser asking for a page, plain text for feeds, APIs and other clients."""
    text = f"{error.code} {error.name}: {error.description}\n" if error.code else "error\n"
    response = error.get_response()
    if error.code and wants_page():
        snap = snapshot()
        response.set_data(render_template(
            "error.html", snap=snap, config=snap.config, error=error, links=[],
            root=site_root(snap.config),
        ))  # fmt: skip
        response.content_type = HTML
        return cast(Response, response)
    response.set_data(text)
    response.content_type = "text/plain; charset=utf-8"
    return cast(Response, response)


def wants_page() -> bool:
    """A browser asking for a page: not a feed, an image or a JSON or OPML document."""
    if request.path.startswith("/feeds") or "." in request.path.rsplit("/", 1)[-1]:
        return False
    # Named outright, as browsers do; "*/*" alone (curl, feed readers) keeps plain text.
    return any(value == "text/html" and quality > 0 for value, quality in request.accept_mimetypes)


@bp.after_app_request
def no_sniffing(response: Response) -> Response:
    """Every response is what its media type says, never sniffed as something else."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_errorhandler(TextUnavailable)
def text_unavailable(error: TextUnavailable) -> tuple[str, int, dict[str, str]]:
    """An article's text cannot be read just now: say so, rather than publish it without."""
    current_app.logger.warning("text of %s unavailable; its file will be read again", error)
    return "503 Service Unavailable: an article is being read again; retry shortly\n", 503, {
        "Content-Type": "text/plain; charset=utf-8", "Retry-After": "5",
    }  # fmt: skip


@bp.app_errorhandler(Exception)
def server_error(error: Exception) -> tuple[str, int, dict[str, str]]:
    current_app.logger.exception("unhandled error for %s", request.path)
    return "500 Internal Server Error\n", 500, {"Content-Type": "text/plain; charset=utf-8"}
