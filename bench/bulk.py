"""Bulk copy: a served collection receives thousands of articles at once, then loses them.

`feeds serve` as shipped follows a collection of one article. A generated collection is copied
into it file by file (``shutil.copytree``, as ``cp -r`` does: every file created, written and
closed, every folder created), and ``/status.json`` is polled until every article is
published; the server's log says how many files it read to get there. The folder is then
removed whole, and polled until only the first article is left. Every wait is bounded.

    python bench/bulk.py [--articles 30000] [--limit 900] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from folders import WORK  # noqa: E402
from generate import collection  # noqa: E402
from probe import HOST, free_port, get, wait_for_200  # noqa: E402
from processes import Server, feeds_command  # noqa: E402
from report import log, machine, table, write_section  # noqa: E402

FIRST = (
    "---\ndate: 2025-01-01T12:00:00Z\n---\nNorway opens a bridge in Oslo\n\n"
    "Norway opened a bridge in Oslo on Sunday.\n"
)
CHANGED = re.compile(r"snapshot: (\d+) changed, (\d+) removed files")


def articles(port: int) -> int:
    return int(json.loads(get(port, "/status.json").body)["articles"])


def wait_for_count(server: Server, port: int, count: int, limit: float) -> float | None:
    """Seconds until ``/status.json`` counts ``count`` articles, or None past ``limit``."""
    started = time.monotonic()
    while time.monotonic() < started + limit and server.alive():
        if articles(port) == count:
            return time.monotonic() - started
        time.sleep(0.25)
    return None


def reads(server: Server, done: int, limit: float = 10) -> tuple[int, int]:
    """The files the server read again and the files it dropped, summed over its log; a
    snapshot is served a moment before its line is logged, so the sums are read again until
    ``done`` of them are there, for ``limit`` seconds at most."""
    deadline = time.monotonic() + limit
    while True:
        found = [(int(a), int(b)) for a, b in CHANGED.findall(server.log_text())]
        counts = sum(a for a, _ in found), sum(b for _, b in found)
        if done in counts or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=30_000)
    parser.add_argument("--limit", type=float, default=900, help="seconds per wait")
    parser.add_argument("--no-write", action="store_true", help="print, leave RESULTS.md alone")
    args = parser.parse_args()
    source = collection(args.articles)
    files = sum(1 for _ in source.rglob("*.txt"))
    work = WORK / "bulk" / f"n{args.articles}"
    shutil.rmtree(work, ignore_errors=True)
    folder = work / "collection"
    folder.mkdir(parents=True)
    (folder / "first.txt").write_text(FIRST)
    port = free_port()
    cmd = [*feeds_command(), "serve", "--collection", str(folder), "--index", str(work / "index")]
    server = Server([*cmd, "--host", HOST, "--port", str(port)], work / "serve.log")
    try:
        first, why = wait_for_200(server, port, "/feeds/all.rss", server.started + args.limit)
        if first is None:
            raise SystemExit(f"feeds serve never answered: {why}")
        started = time.monotonic()
        shutil.copytree(source, folder / "bulk")
        copied = time.monotonic() - started
        log(f"copied {files:,} files in {copied:.1f} s")
        published = wait_for_count(server, port, files + 1, args.limit)
        read, _ = reads(server, files)
        log(f"published {published} s after the copy, {read:,} files read")
        started = time.monotonic()
        shutil.rmtree(folder / "bulk")
        removed = time.monotonic() - started
        gone = wait_for_count(server, port, 1, args.limit)
        _, dropped = reads(server, files)
    finally:
        server.stop()

    def seconds(value: float | None) -> str:
        return f"{value:.1f} s" if value is not None else f"over {args.limit:.0f} s"

    rows = [
        (f"{files:,}", "copied in, file by file", seconds(copied), seconds(published),
         f"{read:,}"),
        ("", "removed, the folder at once", seconds(removed), seconds(gone), f"{dropped:,}"),
    ]  # fmt: skip
    body = (
        "`feeds serve` as shipped (granian, one worker, file-system events) follows a "
        "collection of one article; generated articles, in folders by year and month, are copied "
        "in by `shutil.copytree` (as `cp -r`), then the folder is removed. *Published*: from "
        "the end of the copy (or removal) until `/status.json` counts every article (or only "
        "the first again), polled every 0.25 s. *Files read* / *dropped*: summed from the "
        "server's `snapshot:` log lines; each file once is the least.\n\n"
        + table(["Articles", "Change", "Took", "Published", "Files read / dropped"], rows)
        + "\n\nMachine:\n\n"
        + machine()
    )
    print(body)
    if not args.no_write:
        write_section("bulk", "Bulk copy", body)


if __name__ == "__main__":
    main()
