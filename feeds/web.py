"""The Flask blueprint: routes, conditional GET and errors. The only module that imports Flask."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request
from werkzeug.exceptions import HTTPException

from .index import MAX_LIMIT, LiveIndex, Snapshot, UnknownTopic, etag_of
from .models import Rendered, Selection
from .render import FORMATS
from .urls import SelectionError, feed_path, parse_selection, selection_key

bp = Blueprint("feeds", __name__)

HTML = "text/html; charset=utf-8"


def snapshot() -> Snapshot:
    live: LiveIndex = current_app.extensions["feeds"]
    return live.snapshot


def send(rendered: Rendered) -> Response:
    """A response with validators that answers conditional requests with 304."""
    response = Response(rendered.body, content_type=rendered.media_type)
    response.set_etag(rendered.etag)
    if rendered.last_modified is not None:
        response.last_modified = rendered.last_modified
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["FEEDS"].max_age
    return response.make_conditional(request)


def page(snap: Snapshot, key: tuple[str, ...], template: str, **context: object) -> Response:
    """An HTML page, rendered once per snapshot."""

    def make() -> Rendered:
        body = render_template(template, snap=snap, config=snap.config, **context).encode()
        return Rendered(body, HTML, etag_of(body), context.get("last_modified"))  # type: ignore[arg-type]

    return send(snap.cached(key, make))


def parse_limit(snap: Snapshot) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return snap.config.feed_items
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        abort(400, f"limit must be a whole number from 1 to {MAX_LIMIT}, got {raw[:20]!r}")
    return int(raw)


def feed_links(snap: Snapshot, selection: Selection) -> list[dict[str, str]]:
    """Autodiscovery and subscribe links for every format of a selection's feed."""
    title = snap.title_of(selection)
    return [
        {
            "href": snap.config.base_url + feed_path(selection, ext),
            "type": fmt.link_type,
            "title": f"{title} ({fmt.label})",
            "label": fmt.label,
        }
        for ext, fmt in FORMATS.items()
    ]


@bp.get("/feeds/<path:name>")
def feed(name: str) -> Response:
    snap = snapshot()
    stem, dot, extension = name.rpartition(".")
    if not dot or extension not in FORMATS:
        known = ", ".join("." + ext for ext in FORMATS)
        abort(404, f"no such feed format: feeds end in {known}")
    selection = _selection_or_404(snap, stem)
    limit = parse_limit(snap)
    canonical = feed_path(selection, extension)
    canonical_limit = None if limit == snap.config.feed_items else str(limit)
    if canonical != request.path or request.args.get("limit") != canonical_limit:
        query = f"?limit={canonical_limit}" if canonical_limit else ""
        return redirect(snap.config.base_url + canonical + query, 301)  # type: ignore[return-value]
    return send(snap.feed(selection, extension, limit))


def _selection_or_404(snap: Snapshot, text: str) -> Selection:
    try:
        selection = parse_selection(text)
        snap.select(selection)
    except SelectionError as exc:
        abort(404, f"no such feed: {exc}")
    except UnknownTopic as exc:
        abort(
            404, f"unknown topic {exc.args[0]!r}; the topics are listed at {snap.config.base_url}/"
        )
    return selection


@bp.get("/")
def index() -> Response:
    snap = snapshot()
    topics = sorted(
        (t for t in snap.taxonomy.topics.values() if snap.by_topic[t.slug]),
        key=lambda t: t.name,
    )
    return page(
        snap, ("page", "index"), "index.html",
        topics=topics, links=feed_links(snap, Selection()),
        last_modified=snap.newest_change, feed_path=feed_path,
    )  # fmt: skip


@bp.get("/topics/<key>")
def topic(key: str) -> Response:
    snap = snapshot()
    selection = _selection_or_404(snap, key)
    if selection.is_everything:
        return redirect(snap.config.base_url + "/", 301)  # type: ignore[return-value]
    canonical = snap.html_path_of(selection)
    if canonical != request.path:
        return redirect(snap.config.base_url + canonical, 301)  # type: ignore[return-value]
    articles = snap.select(selection)
    return page(
        snap, ("page", "topic", selection_key(selection)), "topic.html",
        title=snap.title_of(selection), articles=articles, selection=selection,
        links=feed_links(snap, selection),
        last_modified=max((a.updated for a in articles), default=snap.newest_change),
    )  # fmt: skip


@bp.get("/articles/<article_id>")
def article(article_id: str) -> Response:
    snap = snapshot()
    found = snap.by_id.get(article_id)
    if found is None:
        abort(404, f"no article with id {article_id[:64]!r}")
    return page(
        snap, ("page", "article", found.id), "article.html",
        article=found, links=feed_links(snap, Selection()), last_modified=found.updated,
    )  # fmt: skip


@bp.app_template_filter("rfc3339")
def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@bp.app_template_filter("day")
def day(moment: datetime) -> str:
    return f"{moment:%d %B %Y}".lstrip("0")


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    """Every error answers with a short plain-text body, never a stack trace."""
    text = f"{error.code} {error.name}: {error.description}\n" if error.code else "error\n"
    response = error.get_response()
    response.set_data(text)
    response.content_type = "text/plain; charset=utf-8"
    return response


@bp.app_errorhandler(Exception)
def server_error(error: Exception) -> tuple[str, int, dict[str, str]]:
    current_app.logger.exception("unhandled error for %s", request.path)
    return "500 Internal Server Error\n", 500, {"Content-Type": "text/plain; charset=utf-8"}
