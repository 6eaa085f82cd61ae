"""Static export: every URL the app answers, fetched through the app itself and written to files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .index import Snapshot
from .models import Selection
from .render import FORMATS
from .urls import article_path, feed_path, topic_path


def site_urls(snap: Snapshot) -> list[str]:
    """Every page and feed path of a snapshot."""
    selections = [Selection()] + [Selection(all_of=(slug,)) for slug in snap.taxonomy.topics]
    urls = ["/"]
    urls += [topic_path(slug) for slug in snap.taxonomy.topics]
    urls += [article_path(a.id) for a in snap.articles]
    urls += [feed_path(sel, ext) for sel in selections for ext in FORMATS]
    return urls


def file_for(url: str) -> str:
    """The file a URL is written to: pages get ``.html`` (serve with ``try_files $uri.html``)."""
    if url == "/":
        return "index.html"
    name = url.lstrip("/")
    return name if "." in name.rsplit("/", 1)[-1] else name + ".html"


def write_site(app: Any, urls: list[str], out: Path) -> int:
    client = app.test_client()
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status}")
        target = out / file_for(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(response.get_data())
    return len(urls)
