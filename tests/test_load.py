"""Changes under load: articles are added, edited, renamed and removed while readers poll.

Bounded: a fixed number of reader threads for a fixed time on 127.0.0.1. Every
response must be a complete, well-formed feed whose ETag matches its bytes,
and each change must show within the promised delay.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from pathlib import Path

from lxml import etree
from servers import Client, feeds_serve

from conftest import DATA, write_article

READERS = 4
SECONDS = 15.0
PROMISED_DELAY = 5.0  # reload interval 0.25 s plus a rebuild, with room for a loaded machine
PATHS = [
    "/feeds/all.rss",
    "/feeds/all.atom",
    "/feeds/japan.rss",
    "/feeds/korea.atom",
    "/feeds/all.json",
]


class Readers:
    """Reader threads that poll until told to stop, checking every response."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.count = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(READERS)]

    def run(self, number: int) -> None:
        client = Client(self.url)
        etags: dict[str, str] = {}
        i = number
        try:
            while not self.stop.is_set():
                path = PATHS[i % len(PATHS)]
                i += 1
                headers = {"If-None-Match": etags[path]} if path in etags and i % 3 == 0 else {}
                reply = client.get(path, headers)
                problem = self.check(path, reply, headers)
                if reply.status == 200:
                    etags[path] = reply.header("ETag") or ""
                with self.lock:
                    self.count += 1
                    if problem:
                        self.failures.append(problem)
        except Exception as exc:  # a failed request is a failure, not a crash of the test
            with self.lock:
                self.failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            client.close()

    @staticmethod
    def check(path: str, reply, headers: dict) -> str | None:  # type: ignore[no-untyped-def]
        if reply.status == 304 and headers and reply.body == b"":
            return None
        if reply.status != 200:
            return f"{path}: status {reply.status}"
        if reply.header("ETag") != '"' + hashlib.sha256(reply.body).hexdigest()[:32] + '"':
            return f"{path}: the ETag does not match the bytes"
        if path.endswith(".json"):
            return None if reply.body.rstrip().endswith(b"}") else f"{path}: truncated JSON"
        try:
            etree.fromstring(reply.body, etree.XMLParser(recover=False))
        except etree.XMLSyntaxError as exc:
            return f"{path}: not well-formed: {exc}"
        return None

    def __enter__(self) -> Readers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def appears(client: Client, text: bytes, present: bool = True) -> float:
    """Seconds until ``text`` is (or is no longer) in the all-articles feed, within the promise."""
    start = time.monotonic()
    while time.monotonic() - start < PROMISED_DELAY:
        if (text in client.get("/feeds/all.rss?limit=100").body) == present:
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"{text!r} {'did not appear' if present else 'did not go'} in time")


def test_changes_under_load(tmp_path: Path) -> None:
    collection = tmp_path / "collection"
    shutil.copytree(DATA / "collection", collection)
    with feeds_serve(collection, tmp_path / "server", reload_interval="0.25") as url:
        watcher = Client(url)
        with Readers(url) as readers:
            deadline = time.monotonic() + SECONDS
            delays, n = [], 0
            while n == 0 or time.monotonic() < deadline - 4:
                name = f"load_{n:016x}.txt"
                title = f"Load article {n} in Tokyo"
                path = write_article(collection, name, title, "Japan news from Tokyo.",
                                     date=f"2025-04-{n % 28 + 1:02d}T00:00:00Z")  # fmt: skip
                delays.append(appears(watcher, title.encode()))
                path.write_text(path.read_text().replace(title, title + " (edited)"))
                delays.append(appears(watcher, f"{title} (edited)".encode()))
                renamed = path.rename(collection / f"renamed_{n:016x}.txt")
                delays.append(appears(watcher, f"{title} (edited)".encode()))  # same id, kept
                renamed.unlink()
                delays.append(appears(watcher, title.encode(), present=False))
                n += 1
            while time.monotonic() < deadline:
                time.sleep(0.1)  # keep the readers polling for the whole bounded run
        watcher.close()
    assert readers.failures == [], readers.failures[:5]
    assert readers.count > 100, "the readers hardly ran"
    assert n >= 1 and max(delays) < PROMISED_DELAY
