"""Static export: every URL the app answers, fetched through the app itself and written to files.

Each document is written as the app sends it, and, where the app would
compress it, also as ``<file>.gz`` with the same gzip bytes, for web servers
that serve precompressed files (nginx ``gzip_static``).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from .compose import archive_pages
from .images import IMAGE_PATHS
from .index import Snapshot
from .models import Selection
from .render import FORMATS
from .urls import archive_path, article_path, feed_path, topic_path


def site_urls(snap: Snapshot) -> list[str]:
    """Every page and feed path of a snapshot (searches and ``?limit=`` variants aside)."""
    selections = [Selection()] + [Selection(all_of=(slug,)) for slug in snap.taxonomy.topics]
    urls = ["/", "/topics.json", "/feeds.opml", *IMAGE_PATHS]
    urls += [topic_path(slug) for slug in snap.taxonomy.topics]
    urls += [article_path(a.id) for a in snap.articles]
    for selection in selections:
        pages = archive_pages(len(snap.slots(selection)))
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


def write_site(
    app: Any, urls: list[str], out: Path, jobs: int = 1, previous: Path | None = None
) -> int:
    """Write each URL's document as the app renders it: its bytes, and its gzip form beside.

    A file whose bytes are those of the same file in ``previous`` (the last build) is that
    file, hard-linked: it keeps its modification time, so web servers keep its ``ETag`` and
    ``Last-Modified``, readers keep getting ``304``, and sync tools skip it.

    With ``jobs`` above one (as :func:`usable_jobs` allows), forked processes render the
    documents and this one writes them, so a killed build leaves no process behind that
    could still write.
    """
    written = 0
    for url, body, compressed in _render_all(app, urls, jobs):
        name = file_for(url)
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        _put(out, previous, name, body)
        written += 1
        if compressed is not None:
            _put(out, previous, name + ".gz", compressed)
            written += 1
    return written


def _put(out: Path, previous: Path | None, name: str, data: bytes) -> None:
    target = out / name
    if previous is not None:
        old = previous / name
        try:
            if old.stat().st_size == len(data) and old.read_bytes() == data:
                os.link(old, target)
                return
        except OSError:
            pass  # no such file, or no hard links here: write it
    target.write_bytes(data)


Document = tuple[str, bytes, bytes | None]  # url, body, gzip body
CHUNK = 64  # documents a process renders at a time: one topic's archive pages, say
_app: Any = None  # the app forked processes render with


def _render(app: Any, urls: list[str]) -> list[Document]:
    from flask import g

    documents = []
    for url in urls:
        with app.test_request_context(url):
            response = app.full_dispatch_request()
            rendered = g.get("rendered")
        if response.status_code != 200 or rendered is None:
            raise RuntimeError(f"{url}: {response.status}")
        documents.append((url, rendered.body, rendered.gzip))
    return documents


def usable_jobs(jobs: int, documents: int) -> int:
    """How many processes can render: one where forking is unsafe (threads running) or
    unavailable, or where there is too little to share."""
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return max(1, min(jobs, -(-documents // CHUNK)))


def _render_all(app: Any, urls: list[str], jobs: int) -> Iterator[Document]:
    """The documents in order, rendered by ``jobs`` processes."""
    chunks = [urls[i : i + CHUNK] for i in range(0, len(urls), CHUNK)]
    if jobs <= 1:
        for chunk in chunks:
            yield from _render(app, chunk)
        return
    global _app
    _app = app
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_child, initargs=(os.getpid(),)
    )
    with pool:
        pending: deque[Future[list[Document]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_render_in_child, chunk))
            if len(pending) > 2 * jobs:  # a few chunks ahead: memory stays bounded
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _start_child(parent: int) -> None:
    _app.extensions["feeds"].store.reopen()
    # A killed build must not leave its processes waiting for work that never comes.
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def _render_in_child(urls: list[str]) -> list[Document]:
    return _render(_app, urls)
