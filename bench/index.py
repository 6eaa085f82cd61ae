"""Index: how long `feeds serve` takes to serve its first feed, what it holds, how it follows edits.

For each size: a cold start (empty index folder) and a warm restart (same index folder,
unchanged files) until ``/feeds/all.rss`` answers 200; the peak resident memory of the
server's process tree; its CPU use while nothing changes; then one new article, the time
until it is in ``/feeds/all.rss``, and whether topic feeds that do not hold it kept their
ETags. Every wait is bounded by ``--limit`` seconds; a wait that runs out is a result.

    python bench/index.py [--sizes 1000,10000,100000] [--limit 900]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from folders import WORK
from generate import collection, parse_sizes
from probe import HOST, feed_links, free_port, get, wait_for_200
from processes import (
    MemorySampler,
    Server,
    count_log,
    cpu_seconds,
    feeds_command,
    other_work,
    pss_kb,
    server_name,
)
from report import feeds_settings, fmt_kb, log, publish, table, wait_until_quiet

FEED = "/feeds/all.rss"
SETTLE_WINDOW = 3.0  # seconds; longer than the shipped reload interval of 2 s
SETTLED_CPU = 0.3  # cores: below this the server has finished indexing
IDLE_WINDOW = 10.0
TOPICS_CHECKED = 200
STABLE_HITS = 10  # consecutive responses holding the new article


@dataclass
class Start:
    first_feed: float | None
    why: str
    settled: float | None = None
    peak_hwm_kb: int = 0
    peak_rss_kb: int = 0
    pss_kb: int = 0
    processes: int = 0
    process_names: str = ""
    idle_cpu: float | None = None
    others: float = 0.0  # cores used meanwhile by processes outside the measurement

    def describe(self) -> str:
        return f"{self.first_feed:.2f} s" if self.first_feed is not None else self.why


@dataclass
class Change:
    first_seen: float | None = None
    stable: float | None = None
    why: str = "not run"
    slowest_poll: float = 0.0
    polls: int = 0
    unchanged: list[str] = field(default_factory=list)  # without the article, same ETag
    changed: list[str] = field(default_factory=list)  # without the article, new ETag
    holding: list[str] = field(default_factory=list)  # with the article, new ETag
    stale: list[str] = field(default_factory=list)  # with the article, same ETag


@dataclass
class SizeResult:
    articles: int
    cold: Start
    warm: Start | None = None
    change: Change = field(default_factory=Change)
    log_counts: dict[str, int] = field(default_factory=dict)
    server: str = ""


def serve(folder: Path, index: Path, port: int, log_path: Path) -> Server:
    cmd = [*feeds_command(), "serve", "--collection", str(folder), "--index", str(index)]
    return Server([*cmd, "--host", HOST, "--port", str(port)], log_path)


def wait_settled(server: Server, deadline: float) -> float | None:
    """Seconds from start until the tree uses less than SETTLED_CPU cores over a window."""
    while time.monotonic() < deadline and server.alive():
        before = cpu_seconds(server.tree())
        time.sleep(SETTLE_WINDOW)
        if (cpu_seconds(server.tree()) - before) / SETTLE_WINDOW < SETTLED_CPU:
            return time.monotonic() - server.started - SETTLE_WINDOW
    return None


def idle_cpu(server: Server) -> float:
    """Cores used by the tree while the collection does not change."""
    before = cpu_seconds(server.tree())
    time.sleep(IDLE_WINDOW)
    return (cpu_seconds(server.tree()) - before) / IDLE_WINDOW


def start(server: Server, port: int, limit: float) -> Start:
    """Wait for the first feed, let the server settle, sample memory and idle CPU."""
    sampler = MemorySampler(server.pid).start()
    deadline = server.started + limit
    first, why = wait_for_200(server, port, FEED, deadline)
    result = Start(first, why)
    if first is not None:
        result.settled = wait_settled(server, deadline)
        if result.settled is not None:
            result.idle_cpu = idle_cpu(server)
        result.pss_kb = sum(pss_kb(p) for p in server.tree())
    sampler.stop()
    result.peak_hwm_kb, result.peak_rss_kb = sampler.peak_hwm_kb, sampler.peak_rss_kb
    result.processes, result.process_names = sampler.peak_processes, sampler.names
    return result


def marker_article(token: str) -> str:
    return (
        "---\ndate: 2025-06-01T12:00:00Z\n---\n"
        f"Norway: harbour marker {token} opens in Oslo\n\n"
        f"A new harbour marker, number {token}, opened in Oslo, Norway, on Sunday.\n"
        "The marker was paid for by the port authority and the city council of Oslo.\n"
        "Original Source: www.example.org\n"
    )


def change_test(server: Server, folder: Path, port: int, limit: float) -> Change:
    """Add one article; time until /feeds/all.rss has it; compare other topics' ETags."""
    result = Change()
    slugs = feed_links(get(port, "/").body)[:TOPICS_CHECKED]
    before = {slug: get(port, f"/feeds/{slug}.rss").header("etag") for slug in slugs}
    token = os.urandom(6).hex()
    target = folder / "2025" / "06" / f"99999_{os.urandom(8).hex()}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name("." + target.name)  # hidden: never read as an article
    staging.write_text(marker_article(token))
    try:
        staging.rename(target)
        added = time.monotonic()
        deadline, hits, streak = added + limit, 0, 0.0
        marker = token.encode()
        while time.monotonic() < deadline and server.alive() and hits < STABLE_HITS:
            asked = time.monotonic() - added
            try:
                reply = get(port, FEED, timeout=max(0.1, deadline - time.monotonic()))
            except OSError:
                continue
            result.polls += 1
            result.slowest_poll = max(result.slowest_poll, reply.seconds)
            hits = hits + 1 if reply.status == 200 and marker in reply.body else 0
            if hits == 1:
                streak = asked
                if result.first_seen is None:
                    result.first_seen = asked
            time.sleep(0.1)
        result.stable = streak if hits >= STABLE_HITS else None
        result.why = "ok" if result.stable else "timeout" if server.alive() else "server exited"
        if result.stable:
            for slug, etag in before.items():
                reply = get(port, f"/feeds/{slug}.rss")
                same = reply.header("etag") == etag
                if marker in reply.body:
                    (result.stale if same else result.holding).append(slug)
                else:
                    (result.unchanged if same else result.changed).append(slug)
    finally:
        target.unlink(missing_ok=True)
        staging.unlink(missing_ok=True)
        for folder_path in (target.parent, target.parent.parent):
            if folder_path.is_dir() and not any(folder_path.iterdir()):
                folder_path.rmdir()
    return result


def measure_size(articles: int, limit: float) -> SizeResult:
    folder = collection(articles)
    work = WORK / "index" / f"n{articles}"
    shutil.rmtree(work, ignore_errors=True)
    index, port = work / "index", free_port()
    log(f"{articles} articles: cold start")
    server = serve(folder, index, port, work / "cold.log")
    try:
        with other_work(server.tree) as others:
            cold = start(server, port, limit)
        cold.others = others.cores
    finally:
        server.stop()
    text = server.log_text()
    result = SizeResult(articles, cold, log_counts=count_log(text), server=server_name(text))
    log(f"{articles} articles: cold {cold.describe()}, settled {cold.settled}")
    if cold.first_feed is None:
        return result
    log(f"{articles} articles: warm restart")
    server = serve(folder, index, port, work / "warm.log")
    try:
        with other_work(server.tree) as others:
            result.warm = start(server, port, limit)
        result.warm.others = others.cores
        if result.warm.first_feed is not None:
            log(f"{articles} articles: warm {result.warm.describe()}; adding one article")
            result.change = change_test(server, folder, port, limit)
    finally:
        server.stop()
        for key, value in count_log(server.log_text()).items():
            result.log_counts[key] += value
    log(f"{articles} articles: change {result.change}")
    return result


def seconds(value: float | None, why: str = "—") -> str:
    return f"{value:.2f} s" if value is not None else why


def report(results: list[SizeResult], limit: float) -> None:
    starts = []
    for r in results:
        for label, run in (("cold", r.cold), ("warm restart", r.warm)):
            if run is None:
                continue
            starts.append(
                [
                    f"{r.articles:,}",
                    label,
                    run.describe(),
                    seconds(run.settled, "not settled"),
                    fmt_kb(run.peak_hwm_kb),
                    fmt_kb(run.pss_kb) if run.pss_kb else "—",
                    f"{run.processes} ({run.process_names})",
                    f"{run.idle_cpu:.2f}" if run.idle_cpu is not None else "—",
                    f"{run.others:.2f}",
                ]
            )
    changes = []
    for r in results:
        c = r.change
        etags = (
            f"{len(c.unchanged)} kept, {len(c.changed)} changed"
            + (f" ({', '.join(c.changed[:10])})" if c.changed else "")
            + f" / {len(c.holding)} changed ({', '.join(c.holding[:6])}), {len(c.stale)} kept"
            if c.stable
            else "—"
        )
        changes.append(
            [
                f"{r.articles:,}",
                seconds(c.first_seen, c.why),
                seconds(c.stable, c.why),
                f"{c.slowest_poll:.2f} s",
                etags,
            ]
        )
    logs = [[f"{r.articles:,}", r.server, *r.log_counts.values()] for r in results]
    log_header = list(results[0].log_counts) if results else []
    start_table = table(
        ["Articles", "Start", "First feed", "Settled", "Peak memory (Σ VmHWM)", "PSS settled"]
        + ["Processes", "Idle CPU (cores)", "Other work (cores)"],
        starts,
    )
    change_table = table(
        ["Articles", "First seen", f"From then on ({STABLE_HITS} in a row)", "Slowest poll"]
        + ["Topic ETags: feeds without it / with it"],
        changes,
    )
    body = f"""
`feeds serve` as shipped ({feeds_settings()}) on generated collections outside any git
repository, unpinned, the files in the page cache. *First feed*: from starting the process until
`{FEED}` answers 200. *Settled*: until the whole process tree uses less than {SETTLED_CPU}
of a core over {SETTLE_WINDOW:.0f} s (every worker has built its index). *Peak memory*: the
largest sum of VmHWM over master and workers, sampled every 0.2 s; PSS counts shared pages
once, taken once settled. *Idle CPU*: cores used over {IDLE_WINDOW:.0f} s after settling,
with no file changing. *Other work*: cores used by other processes on the machine during
the start, competing with it. Every wait is bounded at {limit:.0f} s.

{start_table}

One new article (dated newest, in a new sub-folder) is added to the served collection by an
atomic rename. `{FEED}` is then polled every 0.1 s on fresh connections: when the first
response holding the article was asked for, and when the first of {STABLE_HITS} responses in a
row holding it was (each worker process keeps its own index). Then the RSS feed of every
topic linked from `/` (at most {TOPICS_CHECKED}) is fetched again: a feed without the new
article should keep its ETag, one with it should not.

{change_table}

Server log lines over both starts:

{table(["Articles", "Server", *log_header], logs)}
"""
    publish("index", "Index", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[1000, 10000, 100000])
    parser.add_argument("--limit", type=float, default=900, help="seconds per wait")
    parser.add_argument(
        "--quiet", type=float, default=120, help="seconds to wait for other work to stop"
    )
    args = parser.parse_args()
    began = time.monotonic()
    wait_until_quiet(args.quiet)
    results = []
    for size in args.sizes:
        results.append(measure_size(size, args.limit))
        report(results, args.limit)
    log(f"index bench done in {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
