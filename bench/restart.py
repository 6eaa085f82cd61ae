"""Restart: how soon a restarted `feeds serve` serves a full feed, and publishes a change.

A warm restart (the index folder of an earlier run, unchanged files) is timed from starting
the process until ``/feeds/all.rss`` answers 200. Right then one new article is added (an
atomic rename) and ``/feeds/all.rss`` is polled until it holds it, while the server compares
the snapshot it resumed with the collection in the background; the log says when that
comparison ended. The imports of the main process (``feeds.cli``) and of a worker
(``feeds.web`` and the live index) are timed apart, each in a fresh interpreter. Every wait
is bounded by ``--limit`` seconds.

    python bench/restart.py [--articles 100000] [--runs 3] [--index DIR] [--limit 900]
                            [--nice N]

``--nice -10`` (as root) runs the server ahead of the machine's other work: on a shared,
busy host that comes closest to a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from folders import WORK  # noqa: E402
from generate import collection  # noqa: E402
from probe import HOST, free_port, get, wait_for_200  # noqa: E402
from processes import Server, cpu_seconds, feeds_command  # noqa: E402
from report import log, machine, table, write_section  # noqa: E402

FEED = "/feeds/all.rss"
IMPORTS = {"main process": "import feeds.cli", "worker": "import feeds.web, feeds.index.live"}
RECONCILED = "the resumed snapshot is up to date with the collection"


@dataclass
class Run:
    first_feed: float | None
    cpu: float | None = None  # CPU seconds of the server's processes until then
    change_seen: float | None = None  # from writing the article until the feed holds it
    reconciled: float | None = None  # from writing the article until the comparison ended


def import_seconds(statement: str, runs: int) -> float:
    """The median wall time of a fresh interpreter that runs ``statement``."""
    times = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", statement], check=True, timeout=120)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def ensure_index(folder: Path, index: Path, limit: float) -> None:
    """Index the collection once (``feeds check`` keeps the snapshot for a fast start)."""
    if (index / "snapshot.pickle").exists():
        return
    log(f"indexing {folder} into {index} (once)")
    cmd = [*feeds_command(), "check", "--collection", str(folder), "--index", str(index)]
    subprocess.run(cmd, timeout=limit, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def marker_article(token: str) -> str:
    return (
        "---\ndate: 2030-01-01T12:00:00Z\n---\n"
        f"Norway: restart marker {token} opens in Oslo\n\n"
        f"A restart marker, number {token}, opened in Oslo, Norway, on Sunday.\n"
    )


def restart(folder: Path, index: Path, work: Path, limit: float, nice: int | None) -> Run:
    port = free_port()
    ahead = ["nice", "-n", str(nice)] if nice is not None else []
    cmd = [*ahead, *feeds_command(), "serve", "--collection", str(folder), "--index", str(index)]
    server = Server([*cmd, "--host", HOST, "--port", str(port)], work / "serve.log")
    target = folder / f"restart_{os.urandom(8).hex()}.txt"
    staging = target.with_name("." + target.name)
    try:
        first, why = wait_for_200(server, port, FEED, server.started + limit)
        result = Run(first, cpu_seconds(server.tree()))
        if first is None:
            log(f"no feed: {why}")
            return result
        token = os.urandom(6).hex()
        staging.write_text(marker_article(token))
        staging.rename(target)
        written = time.monotonic()
        while time.monotonic() < written + limit and server.alive():
            if token.encode() in get(port, FEED).body:
                result.change_seen = time.monotonic() - written
                break
            time.sleep(0.02)
        while time.monotonic() < written + limit and server.alive():
            if RECONCILED in server.log_text():
                result.reconciled = time.monotonic() - written
                break
            time.sleep(0.05)
        return result
    finally:
        server.stop()
        target.unlink(missing_ok=True)
        staging.unlink(missing_ok=True)


def seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "—"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--index", type=Path, help="index folder to reuse (made if missing)")
    parser.add_argument("--limit", type=float, default=900, help="seconds per wait")
    parser.add_argument("--nice", type=int, help="niceness of the server (negative: root)")
    parser.add_argument("--no-write", action="store_true", help="print, leave RESULTS.md alone")
    args = parser.parse_args()
    folder = collection(args.articles)
    work = WORK / "restart" / f"n{args.articles}"
    index = args.index or work / "index"
    ensure_index(folder, index, args.limit)
    imports = {name: import_seconds(code, args.runs) for name, code in IMPORTS.items()}
    runs = []
    for n in range(args.runs):
        runs.append(restart(folder, index, work, args.limit, args.nice))
        log(f"run {n + 1}: {runs[-1]}")
    first = [r.first_feed for r in runs if r.first_feed is not None]
    cpu = [r.cpu for r in runs if r.cpu is not None]
    seen = [r.change_seen for r in runs if r.change_seen is not None]
    done = [r.reconciled for r in runs if r.reconciled is not None]
    rows = [
        (f"{args.articles:,}", "warm restart to a full feed", seconds(statistics.median(first))
         if first else "—", ", ".join(seconds(r.first_feed) for r in runs)),
        ("", "CPU of the server's processes until then", seconds(statistics.median(cpu))
         if cpu else "—", ", ".join(seconds(r.cpu) for r in runs)),
        ("", "a change made then, until published", seconds(statistics.median(seen))
         if seen else "—", ", ".join(seconds(r.change_seen) for r in runs)),
        ("", "the same change, until the comparison ended", seconds(statistics.median(done))
         if done else "—", ", ".join(seconds(r.reconciled) for r in runs)),
        *(("", f"import, {name}", seconds(value), "") for name, value in imports.items()),
    ]  # fmt: skip
    body = (
        "`feeds serve` as shipped (granian, one worker) restarted on the index folder of an "
        "earlier run, the files unchanged and in the page cache; median of "
        f"{args.runs} runs (each run listed)"
        + (f", the server at niceness {args.nice}" if args.nice is not None else "")
        + ".\n\n"
        + table(["Articles", "Measure", "Median", "Runs"], rows)
        + "\n\nMachine:\n\n" + machine()
    )  # fmt: skip
    print(body)
    if not args.no_write:
        write_section("restart", "Restart", body)


if __name__ == "__main__":
    main()
