"""Varnish with the README's VCL in front of `feeds serve`, purged by surrogate key.

Copies are kept for a day (s-maxage), yet a new article is in its topic's feed through the
cache within a second; the feeds of other topics stay cached; and while the app is down the
cache keeps serving what it has.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import Reply, feeds_env, free_port, get, running
from test_websub import hub, listening, signed, subscribe, titles

from conftest import DATA, readme_code, write_article

VARNISHD = shutil.which("varnishd") or shutil.which("varnishd", path="/usr/sbin:/usr/local/sbin")
XKEY = [p for p in Path("/usr/lib").glob("*/varnish/vmods/libvmod_xkey.so")]
if VARNISHD is None or not XKEY:
    pytest.skip(
        "Varnish with the xkey module is missing: run `make varnish` as root "
        "(apt-get install varnish varnish-modules)",
        allow_module_level=True,
    )

VCL = readme_code("### Real time: WebSub push and a purged cache", "vcl")
IDENTITY = {"Accept-Encoding": "identity"}
PUSH_SECONDS = 1.0  # the promise: a new article through the cache within a second
DEADLINE = 20.0
TITLE = "Seoul and Pyongyang reopen their hotline"


@dataclass
class Stack:
    collection: Path
    app: str
    cache: str
    feeds: subprocess.Popen[bytes]  # the `feeds serve` process


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with start(tmp_path) as found:
        yield found


@contextmanager
def start(tmp_path: Path, **settings: str) -> Iterator[Stack]:
    """`feeds serve` behind Varnish, purging it; ``settings`` are more FEEDS_ variables."""
    collection = tmp_path / "collection"
    shutil.copytree(DATA / "collection", collection)
    app_port, cache_port = free_port(), free_port()
    app, cache = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{cache_port}"
    vcl = tmp_path / "feeds.vcl"
    vcl.write_text(VCL.replace('.port = "8000"', f'.port = "{app_port}"'))
    command = [
        sys.executable, "-m", "feeds", "serve", "--collection", str(collection),
        "--index", str(tmp_path / "index"), "--host", "127.0.0.1", "--port", str(app_port),
        "--base-url", cache,
    ]  # fmt: skip
    env = feeds_env(purge_urls=cache + "/", reload_interval="0.2", **settings)
    varnish = [
        VARNISHD, "-F", "-a", f"127.0.0.1:{cache_port}", "-f", str(vcl), "-n", str(tmp_path / "v"),
        "-p", "http_gzip_support=off", "-s", "malloc,32m",
        *(["-j", "none"] if os.geteuid() == 0 else []),
    ]  # fmt: skip
    with (
        running(
            command, [tmp_path / "serve.log"], app + "/topics.json", "feeds serve", env
        ) as feeds,  # fmt: skip
        running(varnish, [tmp_path / "varnish.log"], cache + "/topics.json", "varnish"),
    ):
        yield Stack(collection, app, cache, feeds)


def wait_for(fetch, done, what: str, seconds: float = DEADLINE) -> Reply:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not done(reply := fetch()):
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.02)
    return reply


def test_a_new_article_passes_the_cache_at_once_and_others_stay_cached(stack: Stack) -> None:
    korea, japan = stack.cache + "/feeds/korea.rss", stack.cache + "/feeds/japan.rss"
    direct = get(stack.app + "/feeds/korea.rss", IDENTITY)
    assert "s-maxage=86400" in (direct.header("Cache-Control") or "")
    assert direct.header("xkey") == "feeds korea"
    before = {}
    for url in (korea, japan):
        assert get(url, IDENTITY).header("X-Cache") == "MISS"
        before[url] = get(url, IDENTITY)
        assert before[url].header("X-Cache") == "HIT"
    # Readers see their own max-age; the day-long lifetime and the keys stay in Varnish.
    assert before[korea].header("Cache-Control") == (
        "public, max-age=300, stale-while-revalidate=60, stale-if-error=86400"
    )
    assert before[korea].header("xkey") is None
    wait_for(lambda: get(stack.app + "/feeds/all.rss"), lambda r: r.status == 200, "app ready")

    added = time.monotonic()
    write_article(stack.collection / "korea", "hotline.txt", TITLE,
                  "North Korea and South Korea reopened the hotline.",
                  "Officials in Seoul said so.", date="2025-05-01T00:00:00Z")  # fmt: skip
    fresh = wait_for(lambda: get(korea, IDENTITY), lambda r: TITLE.encode() in r.body,
                     "the new article through the cache")  # fmt: skip
    took = time.monotonic() - added
    assert took <= PUSH_SECONDS, f"the new article took {took:.2f} s to pass the cache"
    assert fresh.header("ETag") != before[korea].header("ETag")

    kept = get(japan, IDENTITY)
    assert kept.header("X-Cache") == "HIT"
    assert kept.body == before[japan].body and kept.header("ETag") == before[japan].header("ETag")
    assert int(kept.header("Age") or 0) >= int(before[japan].header("Age") or 0)


def test_the_cache_serves_its_copies_while_the_app_is_down(stack: Stack) -> None:
    paths = ["/feeds/korea.rss", "/feeds/japan.atom", "/topics/korea", "/"]
    copies = {}
    for path in paths:
        get(stack.cache + path, IDENTITY)
        copies[path] = get(stack.cache + path, IDENTITY)
    # A soft purge leaves a stale copy: it is served too while the app is away.
    purged = purge(stack.cache, "japan")
    assert purged.status == 200
    kill_tree(stack.feeds)
    with pytest.raises(OSError):
        get(stack.app + "/topics.json")
    for path in paths:
        reply = get(stack.cache + path, IDENTITY)
        assert (reply.status, reply.body) == (200, copies[path].body), path


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process and every process under it (granian's workers), as a crash would."""
    found, todo = [], [process.pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(child) for child in children.read_text().split()]
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=10)


def purge(cache: str, keys: str, source: str = "127.0.0.1", how: str = "xkey-softpurge") -> Reply:
    host, port = cache.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10,
                                            source_address=(source, 0))  # fmt: skip
    try:
        connection.request("PURGE", "/", headers={how: keys})
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def test_purges_are_taken_from_this_machine_only(stack: Stack) -> None:
    url = stack.cache + "/feeds/russia.rss"
    get(url, IDENTITY)
    assert get(url, IDENTITY).header("X-Cache") == "HIT"
    try:
        refused = purge(stack.cache, "russia", source="127.0.0.2", how="xkey-purge")
    except OSError as exc:  # no second loopback address here
        pytest.skip(f"cannot send from 127.0.0.2: {exc}")
    assert refused.status == 403
    # A hard purge from here still finds the copy: the refused one removed nothing.
    taken = purge(stack.cache, "russia", how="xkey-purge")
    assert taken.status == 200 and b"Purged 1" in taken.body
    assert get(url, IDENTITY).header("X-Cache") == "MISS"


def test_a_hub_fetching_through_the_cache_pushes_the_new_article(tmp_path: Path) -> None:
    with (
        hub(tmp_path / "hub") as real_hub,
        listening() as subscriber,
        start(tmp_path, websub_hubs=real_hub) as stack,
    ):
        korea = stack.cache + "/feeds/korea.rss"
        for encoding in ("gzip", "identity"):  # the cache holds both forms of the old feed
            get(korea, {"Accept-Encoding": encoding})
        subscribe(real_hub, subscriber, korea)
        write_article(stack.collection / "korea", "hotline.txt", TITLE,
                      "North Korea and South Korea reopened the hotline.",
                      "Officials in Seoul said so.", date="2025-05-01T00:00:00Z")  # fmt: skip
        deadline = time.monotonic() + DEADLINE
        while not subscriber.to(korea):
            assert time.monotonic() < deadline, "no push within the deadline"
            time.sleep(0.05)
        [pushed] = subscriber.to(korea)
        assert signed(pushed)
        # The cache had the old feed; the hub fetched it through the cache after the purge.
        assert TITLE in titles(pushed.body)
