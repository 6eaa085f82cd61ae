"""nginx as a caching reverse proxy in front of `feeds serve`: hits, 304s, encodings, expiry."""

from __future__ import annotations

import gzip
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import NGINX, NGINX_MISSING, Reply, feeds_serve, get, nginx

from conftest import DATA, adapted, readme_code

if NGINX is None:
    pytest.skip(NGINX_MISSING, allow_module_level=True)

MAX_AGE = 2
# Long enough that a loaded machine never turns an expected HIT into a revalidation.
READ_ONLY_MAX_AGE = 300
# The configuration the README shows, with the test's paths and ports.
PROXY = adapted(
    readme_code("### Behind a caching reverse proxy", "nginx"),
    {
        "/var/cache/nginx/feeds": "{prefix}/cache",
        "listen 80;": "listen 127.0.0.1:{port};",
        "http://127.0.0.1:8000": "{upstream}",
    },
)
IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}
CHANGE_SECONDS = 20.0
OLD_TITLE = b"Tokyo markets rally as yen weakens"
NEW_TITLE = b"Tokyo markets rally again as the yen weakens"


@dataclass(frozen=True)
class Stack:
    """`feeds serve` and the caching nginx in front of it."""

    upstream: str
    proxy: str
    collection: Path


def start_stack(folder: Path, max_age: int) -> Iterator[Stack]:
    collection = folder / "collection"
    shutil.copytree(DATA / "collection", collection)
    with (
        feeds_serve(
            collection, folder / "serve", max_age=str(max_age), reload_interval="0.2"
        ) as upstream,
        nginx(folder / "nginx", PROXY.replace("{upstream}", upstream), probe="/probe") as proxy,
    ):
        yield Stack(upstream, proxy, collection)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the tests that only read; each of them asks for URLs no other one does."""
    yield from start_stack(tmp_path_factory.mktemp("proxy"), READ_ONLY_MAX_AGE)


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack of its own, with a short max-age, for a test that changes the collection."""
    yield from start_stack(tmp_path, MAX_AGE)


def cache_status(reply: Reply) -> str | None:
    return reply.header("X-Cache-Status")


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/korea.rss", "/feeds/korea.atom", "/feeds/korea.json", "/feeds.opml",
        "/topics.json", "/", "/topics/korea", "/articles/73bcabc292162f38",
    ],
)  # fmt: skip
def test_second_request_is_a_hit_with_the_same_bytes(stack: Stack, path: str) -> None:
    first = get(stack.proxy + path, IDENTITY)
    second = get(stack.proxy + path, IDENTITY)
    direct = get(stack.upstream + path, IDENTITY)
    assert (first.status, cache_status(first)) == (200, "MISS")
    assert (second.status, cache_status(second)) == (200, "HIT")
    assert second.body == first.body == direct.body
    assert second.header("ETag") == first.header("ETag") == direct.header("ETag")
    assert second.header("Cache-Control") == f"public, max-age={READ_ONLY_MAX_AGE}"


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_if_none_match_gets_304_from_the_cache(stack: Stack, encoding: str) -> None:
    url = stack.proxy + "/feeds/russia.rss"
    first = get(url, {"Accept-Encoding": encoding})
    etag = first.header("ETag")
    assert (first.status, cache_status(first)) == (200, "MISS")
    assert etag is not None and etag.endswith('-gzip"') == (encoding == "gzip")
    again = get(url, {"Accept-Encoding": encoding, "If-None-Match": etag})
    assert (again.status, cache_status(again)) == (304, "HIT")
    assert again.body == b""
    assert again.header("ETag") == etag
    # The other encoding's validator names other bytes: no 304 for it.
    other = etag.replace('-gzip"', '"') if encoding == "gzip" else etag[:-1] + '-gzip"'
    full = get(url, {"Accept-Encoding": encoding, "If-None-Match": other})
    assert (full.status, full.body) == (200, first.body)


@pytest.mark.parametrize("path", ["/feeds/all.rss", "/feeds/all.json"])
def test_gzip_and_identity_are_cached_apart(stack: Stack, path: str) -> None:
    plain = get(stack.proxy + path, IDENTITY)
    packed = get(stack.proxy + path, GZIP)
    assert [cache_status(plain), cache_status(packed)] == ["MISS", "MISS"]
    plain_hit = get(stack.proxy + path, IDENTITY)
    packed_hit = get(stack.proxy + path, GZIP)
    assert [cache_status(plain_hit), cache_status(packed_hit)] == ["HIT", "HIT"]
    assert plain_hit.header("Content-Encoding") is None
    assert packed_hit.header("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in (packed_hit.header("Vary") or "")
    assert plain_hit.body == plain.body == get(stack.upstream + path, IDENTITY).body
    assert packed_hit.body == packed.body == get(stack.upstream + path, GZIP).body
    assert gzip.decompress(packed_hit.body) == plain_hit.body
    plain_etag = plain_hit.header("ETag")
    assert plain_etag is not None
    assert packed_hit.header("ETag") == plain_etag[:-1] + '-gzip"'


def max_age_of(reply: Reply) -> int:
    directives = dict(
        part.strip().partition("=")[::2]
        for part in (reply.header("Cache-Control") or "").split(",")
    )
    return int(directives["max-age"])


def poll(fetch: Callable[[], Reply], done: Callable[[Reply], bool], what: str) -> list[Reply]:
    """Fetch until ``done``; every reply seen, the last one done. Fails after CHANGE_SECONDS."""
    deadline = time.monotonic() + CHANGE_SECONDS
    seen = [fetch()]
    while not done(seen[-1]):
        assert time.monotonic() < deadline, f"{what} within {CHANGE_SECONDS}s"
        time.sleep(0.1)
        seen.append(fetch())
    return seen


def test_a_change_reaches_clients_once_max_age_has_passed(own_stack: Stack) -> None:
    changed, unchanged = "/feeds/japan.rss", "/feeds/korea.rss"
    before = {path: get(own_stack.proxy + path, IDENTITY) for path in (changed, unchanged)}
    cached_at = time.monotonic()
    assert [cache_status(r) for r in before.values()] == ["MISS", "MISS"]
    assert OLD_TITLE in before[changed].body and OLD_TITLE not in before[unchanged].body

    article = own_stack.collection / "002_c0ffee0000000002.txt"
    article.write_bytes(article.read_bytes().replace(OLD_TITLE, NEW_TITLE))
    upstream = poll(
        lambda: get(own_stack.upstream + changed, IDENTITY),
        lambda reply: NEW_TITLE in reply.body,
        "feeds serve did not pick up the change",
    )[-1]

    # nginx counts max-age in whole seconds: one more second and every entry above is stale.
    stale_at = cached_at + max(max_age_of(r) for r in before.values()) + 1
    time.sleep(max(0.0, stale_at - time.monotonic()))

    kept = get(own_stack.proxy + unchanged, IDENTITY)
    assert cache_status(kept) == "REVALIDATED"
    assert kept.body == before[unchanged].body
    assert kept.header("ETag") == before[unchanged].header("ETag")
    assert get(own_stack.upstream + unchanged, IDENTITY).header("ETag") == kept.header("ETag")

    # Another worker may still answer from the old snapshot for a moment: poll until it has not.
    seen = poll(
        lambda: get(own_stack.proxy + changed, IDENTITY),
        lambda reply: NEW_TITLE in reply.body,
        "the change never came through the proxy",
    )
    fresh = seen[-1]
    assert cache_status(fresh) in {"EXPIRED", "MISS"}, [cache_status(r) for r in seen]
    assert fresh.body == upstream.body
    assert fresh.header("ETag") == upstream.header("ETag") != before[changed].header("ETag")
    again = get(own_stack.proxy + changed, IDENTITY)
    assert (cache_status(again), again.body) == ("HIT", fresh.body)
