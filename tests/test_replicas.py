"""Replicas: two `feeds serve` on one collection send the same bytes and validators everywhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from servers import Reply, collection_with_archives, feeds_serve, get

from conftest import app_settings
from feeds import create_app
from feeds.static import site_urls

BASE_URL = "https://feeds.example.org"
# Beyond site_urls: the other OPML formats, searches, ?limit=, combined selections, redirects.
EXTRA_URLS = [
    "/feeds.opml?format=atom", "/feeds.opml?format=json", "/feeds.opml?format=rss",
    "/feeds/korea.rss?limit=5", "/feeds/all.json?limit=100", "/feeds/all.atom?q=seoul",
    "/topics/korea?q=talks", "/?q=%22grain+deal%22", "/feeds/korea+russia.rss",
    "/feeds/japan,korea.json", "/feeds/korea~north-korea.atom", "/feeds/all.rss?limit=20",
    "/topics/all", "/feeds/nowhere.rss", "/articles/no-such-article",
]  # fmt: skip
# Everything a cache or a client may act on; Date and Server are the only headers left out.
COMPARED_HEADERS = [
    "Content-Type", "Content-Encoding", "Content-Length", "ETag", "Last-Modified",
    "Cache-Control", "Vary", "Location",
]  # fmt: skip
ENCODINGS = {"identity": {"Accept-Encoding": "identity"}, "gzip": {"Accept-Encoding": "gzip"}}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], str, str]]:
    """Every URL of the site, and two replicas serving it, each with its own index folder."""
    root = tmp_path_factory.mktemp("replicas")
    collection = collection_with_archives(root / "collection")
    app = create_app(app_settings(collection, root / "index", base_url=BASE_URL), watch=False)
    urls = site_urls(app.extensions["feeds"].snapshot) + EXTRA_URLS
    app.extensions["feeds"].close()
    with (
        feeds_serve(collection, root / "one", BASE_URL) as one,
        feeds_serve(collection, root / "two", BASE_URL) as two,
    ):
        yield urls, one, two


def summary(reply: Reply) -> dict[str, object]:
    return {
        "status": reply.status,
        **{name: reply.header(name) for name in COMPARED_HEADERS},
        "body": reply.body,
    }


def test_the_site_has_archive_pages_and_every_format(site: tuple[list[str], str, str]) -> None:
    urls = site[0]
    for wanted in ("/feeds/all/archive/2.atom", "/feeds/korea/archive/1.atom", "/feeds.opml",
                   "/topics.json", "/topics/korea", "/articles/73bcabc292162f38"):  # fmt: skip
        assert wanted in urls


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_replicas_send_identical_bytes_and_validators(
    site: tuple[list[str], str, str], encoding: str
) -> None:
    urls, one, two = site
    differences = []
    for url in urls:
        # A new connection each time, so that every worker of each replica answers some.
        first, second = (get(base + url, ENCODINGS[encoding]) for base in (one, two))
        if first.status not in {200, 301, 400, 404}:
            differences.append(f"{url}: status {first.status}")
        if summary(first) != summary(second):
            differences.append(f"{url}: {summary(first)!r:.300} != {summary(second)!r:.300}")
    assert differences == [], f"{len(differences)} of {len(urls)} URLs differ"
