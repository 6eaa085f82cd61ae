"""Floods of distinct URLs cost bounded memory and never stop the answers served from cache.

A real `feeds serve` (granian, one worker) with a small FEEDS_CACHE_BYTES; the worker's
resident memory is read from /proc before and after. Counts and times are bounded; speed
itself is measured by bench/search.py, not here.
"""

from __future__ import annotations

import random
import string
import threading
from pathlib import Path

from servers import Client, feeds_serve

from conftest import write_article

CACHE_BYTES = 4 * 1024 * 1024
WORDS = ["said", "market", "tokyo", "japan", "government", "minister", "bank", "year", "week",
         "shares", "prices", "trade", "talks", "officials", "economy"]  # fmt: skip
PARAGRAPH = ("The government said on {n} the market in Tokyo and Japan moved as the minister met "
             "bank officials this week; shares, prices, trade talks and the economy were up this "
             "year, officials said. ")  # fmt: skip


def big_collection(folder: Path, count: int = 120) -> Path:
    """Articles long enough, and varied enough, that every feed of 60 to 100 items is large."""
    vocabulary = ["".join(random.Random(i).choices(string.ascii_lowercase, k=7))
                  for i in range(3000)]  # fmt: skip
    for n in range(count):
        pick = random.Random(n).choices
        body = [PARAGRAPH.format(n=n) + " ".join(pick(vocabulary, k=80)) for _ in range(12)]
        write_article(folder, f"{n:03d}_{0xB000 + n:016x}.txt", f"Markets report {n}",
                      PARAGRAPH.format(n=n), *body, date=f"2025-01-{1 + n % 28:02d}")  # fmt: skip
    return folder


def worker_rss(main: int) -> int:
    """Resident bytes of the worker processes of the server whose main process is ``main``."""
    total = 0
    for task in Path(f"/proc/{main}/task").iterdir():
        for child in (task / "children").read_text().split():
            status = Path(f"/proc/{child}/status").read_text()
            line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
            total += int(line.split()[1]) * 1024
    return total


def server_pid(port: int) -> int:
    """The main process listening on ``port`` (the one whose command line names it)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                command = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in command and str(port).encode() in command:
                return int(proc.name)
    raise AssertionError(f"no feeds serve process on port {port}")


def test_a_flood_of_distinct_urls_costs_bounded_memory(tmp_path: Path) -> None:
    collection = big_collection(tmp_path / "collection")
    with feeds_serve(collection, tmp_path / "server", cache_bytes=str(CACHE_BYTES),
                     workers="1") as url:  # fmt: skip
        main = server_pid(int(url.rsplit(":", 1)[1]))
        client = Client(url)
        for word in WORDS:  # everything that is not per-URL is in place: the baseline
            assert client.get(f"/feeds/all.rss?q={word}").status == 200
        before = worker_rss(main)
        count = 0
        for limit in range(60, 100):
            for word in WORDS[:8]:
                for fmt in ("rss", "atom"):
                    reply = client.get(f"/feeds/all.{fmt}?limit={limit}&q={word}")
                    assert reply.status == 200 and len(reply.body) > 300_000
                    count += 1
        after = worker_rss(main)
        client.close()
    assert count == 640  # some 500 MB of distinct documents, kept whole by a count-bounded cache
    grown = after - before
    assert grown < 2 * CACHE_BYTES + 50 * 1024 * 1024, f"the worker grew by {grown >> 20} MiB"


def test_a_search_flood_beside_cached_requests(tmp_path: Path) -> None:
    collection = big_collection(tmp_path / "collection", count=60)
    with feeds_serve(collection, tmp_path / "server", workers="1") as url:
        client = Client(url)
        first = client.get("/feeds/all.rss")
        failures: list[str] = []
        answered: list[int] = []

        def search(seed: int) -> None:
            searcher = Client(url)
            try:
                for n in range(150):
                    reply = searcher.get(f"/feeds/all.rss?q={WORDS[n % len(WORDS)]}+{seed}{n}")
                    if reply.status == 200:
                        answered.append(n)
                    elif reply.status != 503 or reply.header("Retry-After") != "1":
                        failures.append(f"search {n}: {reply.status}")
            finally:
                searcher.close()

        searchers = [threading.Thread(target=search, args=(seed,)) for seed in (1, 2)]
        for thread in searchers:
            thread.start()
        for _ in range(300):
            reply = client.get("/feeds/all.rss", {"If-None-Match": "nothing"})
            assert reply.status == 200 and reply.header("ETag") == first.header("ETag")
            assert reply.body == first.body
        for thread in searchers:
            thread.join(timeout=120)
        client.close()
    assert not failures, failures[:5]
    assert answered, "no search was answered at all"


def test_a_flood_of_distinct_combinations_costs_bounded_memory(tmp_path: Path) -> None:
    from feeds.taxonomy import load_taxonomy

    collection = big_collection(tmp_path / "collection")
    others = sorted(slug for slug in load_taxonomy().topics if slug != "japan")[:320]
    with feeds_serve(collection, tmp_path / "server", cache_bytes=str(CACHE_BYTES),
                     workers="1") as url:  # fmt: skip
        main = server_pid(int(url.rsplit(":", 1)[1]))
        client = Client(url)
        assert client.get("/feeds/all.rss?limit=100").status == 200
        before = worker_rss(main)
        for slug in others:
            key = ",".join(sorted(["japan", slug]))  # every Japan article, whatever the other
            for fmt in ("rss", "atom"):
                reply = client.get(f"/feeds/{key}.{fmt}?limit=100")
                assert reply.status == 200 and len(reply.body) > 300_000, (key, reply.status)
        after = worker_rss(main)
        client.close()
    grown = after - before
    assert grown < 2 * CACHE_BYTES + 50 * 1024 * 1024, f"the worker grew by {grown >> 20} MiB"
