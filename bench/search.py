"""Search beside cached feeds: what two clients searching in a loop cost everyone else, and
what 3,000 distinct searches leave in a worker's memory.

`feeds serve` (granian, the shipped defaults) runs pinned to core 0; wrk (on core 1) asks
for a cached feed, alone and then while two clients (threads of this script, also on core 1)
search in a loop, each search a distinct URL, so none is answered from cache. The two
conditions alternate, RUNS runs each, and the medians are kept. Then one client sends 3,000
distinct searches and the worker's resident memory is read from /proc before and after.

Targets (the README's): the cached feed keeps at least 80% of its requests/s while the
searchers run; the worker grows by no more than FEEDS_CACHE_BYTES plus 50 MB.

    python bench/search.py [--runs 3] [--seconds 5] [--connections 64] [--articles 2000]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import threading
import time
from pathlib import Path

from folders import WORK
from generate import collection
from probe import HOST, free_port, wait_for_200
from processes import CLIENT_CPU, SERVER_CPU, Server, feeds_command, process_tree, status_kb
from report import feeds_settings, log, median, publish, table, tool_version, wait_until_quiet
from serving import load_options, wrk
from tools import installed

from feeds.config import Config

FEED = "/feeds/all.rss"
DISTINCT_SEARCHES = 3000


def vocabulary(folder: Path, limit: int = 4000) -> list[str]:
    """Words that occur in the collection: searches that find something, as readers' do."""
    words: dict[str, None] = {}
    for path in sorted(folder.rglob("*.txt"))[:400]:
        for word in re.findall(r"[a-z]{4,}", path.read_text(errors="replace").lower()):
            words.setdefault(word)
    return list(words)[:limit]


def search_url(word: str, limit: int) -> str:
    """A search in its canonical spelling (``limit`` first, left out at the default), which
    the server answers without a redirect."""
    return f"{FEED}?" + (f"limit={limit}&" if limit != 20 else "") + f"q={word}"


class Searcher(threading.Thread):
    """Searches in a loop, each time a URL not asked before, until told to stop."""

    def __init__(self, port: int, words: list[str], seed: int) -> None:
        super().__init__(daemon=True)
        self.port, self.words, self.random = port, words, random.Random(seed)
        self.stop = threading.Event()
        self.done = 0
        self.refused = 0  # 503 with Retry-After: the search budget was spent
        self.errors = 0
        self.latencies: list[float] = []
        self.seed = seed

    def run(self) -> None:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        n = 0
        while not self.stop.is_set():
            n += 1
            path = search_url(self.random.choice(self.words), 1 + (n + self.seed) % 100)
            started = time.monotonic()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                self.errors += 1
                connection.close()
                connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
                continue
            if response.status == 503:
                self.refused += 1
                continue
            self.errors += response.status != 200
            self.latencies.append(time.monotonic() - started)
            self.done += 1
        connection.close()


def worker_kb(server: Server) -> int:
    """Resident memory of the worker processes (the tree without its main process)."""
    return sum(status_kb(pid, "VmRSS") for pid in process_tree(server.pid)[1:])


def feed_rate(wrk_path: str, port: int, args: argparse.Namespace, words: list[str] | None,
              seed: int) -> tuple[float, float, int, list[Searcher]]:  # fmt: skip
    searchers = [Searcher(port, words, seed * 10 + n) for n in range(2)] if words else []
    for searcher in searchers:
        searcher.start()
    try:
        result = wrk(wrk_path, port, FEED, {}, args.seconds, args.connections)
    finally:
        for searcher in searchers:
            searcher.stop.set()
        for searcher in searchers:
            searcher.join(timeout=60)
    return result.requests_per_second, result.p99_ms, result.errors, searchers


def memory_after_searches(
    port: int, server: Server, words: list[str]
) -> tuple[int, int, int, float]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    errors = received = 0
    before = worker_kb(server)
    for n in range(DISTINCT_SEARCHES):
        for _ in range(10):  # a polite client: it waits as Retry-After says
            connection.request("GET", search_url(words[n % len(words)], 50 + n % 50))
            response = connection.getresponse()
            body = response.read()
            if response.status != 503:
                break
            time.sleep(float(response.getheader("Retry-After") or 1))
        received += len(body)
        errors += response.status != 200
    connection.close()
    return before, worker_kb(server), errors, received / DISTINCT_SEARCHES


def measure(args: argparse.Namespace) -> None:
    wrk_path = installed("wrk")
    os.sched_setaffinity(0, {int(CLIENT_CPU)})  # the searchers share wrk's core, not the server's
    wait_until_quiet(args.quiet)
    folder = collection(args.articles)
    words = vocabulary(folder)
    work = WORK / "search"
    shutil.rmtree(work, ignore_errors=True)
    port = free_port()
    server = Server(
        [*feeds_command(), "serve", "--collection", str(folder), "--index", str(work / "index"),
         "--host", HOST, "--port", str(port)],
        work / "feeds.log", cpus=SERVER_CPU,
    )  # fmt: skip
    try:
        ready, why = wait_for_200(server, port, FEED, time.monotonic() + 600)
        if ready is None:
            raise SystemExit(f"feeds serve did not start: {why}; see {server.log_path}")
        wrk(wrk_path, port, FEED, {}, 1, args.connections)  # warm-up
        alone: list[tuple[float, float, int]] = []
        beside: list[tuple[float, float, int]] = []
        searchers: list[Searcher] = []
        for run in range(args.runs):
            rate, p99, errors, _ = feed_rate(wrk_path, port, args, None, run)
            alone.append((rate, p99, errors))
            rate, p99, errors, done = feed_rate(wrk_path, port, args, words, run)
            beside.append((rate, p99, errors))
            searchers += done
            log(f"run {run + 1}: alone {alone[-1][0]:.0f} req/s, with searches {rate:.0f} req/s "
                f"({sum(s.done for s in done)} searches)")  # fmt: skip
        before, after, search_errors, size = memory_after_searches(port, server, words)
        log(f"worker memory {before} kB -> {after} kB after {DISTINCT_SEARCHES} searches")
    finally:
        server.stop()
    report(args, alone, beside, searchers, (before, after, search_errors, size))


def report(args: argparse.Namespace, alone: list[tuple[float, float, int]],
           beside: list[tuple[float, float, int]], searchers: list,  # type: ignore[type-arg]
           memory: tuple[int, int, int, float]) -> None:  # fmt: skip
    rate_alone, rate_beside = median([r for r, _, _ in alone]), median([r for r, _, _ in beside])
    ratio = rate_beside / rate_alone if rate_alone else 0.0
    latencies = sorted(t for s in searchers for t in s.latencies)
    searches = sum(s.done for s in searchers)
    seconds = args.seconds * args.runs
    rows = [
        ["cached feed alone", f"{rate_alone:,.0f}", f"{median([p for _, p, _ in alone]):.1f}",
         sum(e for _, _, e in alone), ""],
        ["cached feed, two clients searching", f"{rate_beside:,.0f}",
         f"{median([p for _, p, _ in beside]):.1f}", sum(e for _, _, e in beside),
         f"{searches / seconds:,.0f}/s answered (median {median(latencies) * 1000:.1f} ms), "
         f"{sum(s.refused for s in searchers) / seconds:,.0f}/s refused with 503, "
         f"{sum(s.errors for s in searchers)} errors"],
        ["**with searches / alone**", f"**{ratio:.2f}**", "", "", "target ≥ 0.80"],
    ]  # fmt: skip
    before, after, errors, size = memory
    cache = Config.load().cache_bytes
    grown = (after - before) / 1024
    target = cache / 1024 / 1024 + 50
    body = f"""
{args.articles:,} generated articles. `feeds serve` as shipped ({feeds_settings()}) pinned to
core {SERVER_CPU}; wrk (`-t1 -c{args.connections} -d{args.seconds}s`) asks for `{FEED}`
(cached: the same bytes every time) on core {CLIENT_CPU}, alone and then while two clients
on the same core search in a loop, each search a new URL
(`{FEED}?limit=<n>&q=<a word of the collection>`), so each is looked up in the word index
and rendered. The searchers ignore `Retry-After`: a 503 is followed at once by the next
search. {args.runs} runs of each, alternating; medians.

{table(["Scenario", "Requests/s", "p99 ms", "Errors", "Searches"], rows)}

Memory: one client, waiting as `Retry-After` says when told to, then sent
{DISTINCT_SEARCHES:,} distinct searches (a word of the
collection, `limit` 50 to 99, so most documents are large: {size / 1024:,.0f} KiB on
average). The worker's resident memory went from {before / 1024:.0f} MiB to
{after / 1024:.0f} MiB: **{grown:+.0f} MiB**, against a target of FEEDS_CACHE_BYTES
({cache / 1024 / 1024:.0f} MiB) plus 50 MB = {target:.0f} MiB. {errors} errors.
"""
    publish("search", "Search and memory", body, {"wrk": tool_version("wrk", "-v")})


def main() -> None:
    args = load_options(__doc__, runs=3, connections=64, articles=2000, quiet=60)
    started = time.monotonic()
    measure(args)
    log(f"search bench done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
