"""Static export: every URL the app answers, fetched through the app itself and written to files.

Each document is written as the app sends it, and, where the app would
compress it, also as ``<file>.gz`` with the same gzip bytes, for web servers
that serve precompressed files (nginx ``gzip_static``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .compose import archive_pages
from .index import Snapshot
from .models import Selection
from .render import FORMATS
from .urls import archive_path, article_path, feed_path, topic_path


def site_urls(snap: Snapshot) -> list[str]:
    """Every page and feed path of a snapshot (searches and ``?limit=`` variants aside)."""
    selections = [Selection()] + [Selection(all_of=(slug,)) for slug in snap.taxonomy.topics]
    urls = ["/", "/topics.json", "/feeds.opml"]
    urls += [topic_path(slug) for slug in snap.taxonomy.topics]
    urls += [article_path(a.id) for a in snap.articles]
    for selection in selections:
        pages = archive_pages(len(snap.select(selection)))
        for ext in FORMATS:
            urls.append(feed_path(selection, ext))
            urls += [archive_path(selection, n, ext) for n in range(1, pages + 1)]
    return urls


def file_for(url: str) -> str:
    """The file a URL is written to: pages get ``.html`` (serve with ``try_files $uri.html``)."""
    if url == "/":
        return "index.html"
    name = url.lstrip("/")
    return name if "." in name.rsplit("/", 1)[-1] else name + ".html"


def write_site(app: Any, urls: list[str], out: Path) -> int:
    """Write each URL's document as the app renders it: its bytes, and its gzip form beside."""
    from flask import g

    written = 0
    for url in urls:
        with app.test_request_context(url):
            response = app.full_dispatch_request()
            rendered = g.get("rendered")
        if response.status_code != 200 or rendered is None:
            raise RuntimeError(f"{url}: {response.status}")
        target = out / file_for(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(rendered.body)
        written += 1
        if rendered.gzip is not None:
            target.with_name(target.name + ".gz").write_bytes(rendered.gzip)
            written += 1
    return written
