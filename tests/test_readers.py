"""Reading files in a process pool: forked from a process that runs no other thread, with its
imports and matcher made already, else spawned; the same rows either way as in one process."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from feeds.collection import scan
from feeds.index.readers import read_and_tag
from feeds.taxonomy import load_taxonomy
from feeds.topics import Matcher

# Run in a process of its own, with no thread but the main one unless told to start one:
# which start method the pool took, and every row it gave, pickled to standard output.
POOL = """
import multiprocessing, os, pickle, signal, sys, threading
from pathlib import Path
from feeds.collection import scan
from feeds.index import readers
from feeds.taxonomy import load_taxonomy
from feeds.topics import Matcher

root, busy, kill = Path(sys.argv[1]), sys.argv[2] == "busy", sys.argv[3] == "kill"
if busy:  # a thread that runs while the pool starts, as a server's watcher does
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
methods = []
original = readers.get_context
readers.get_context = lambda method: methods.append(method) or original(method)
readers.CHUNK = 7  # several chunks, for several processes
taxonomy = load_taxonomy()
entries, _ = scan(root)
rows = []
for chunk in readers.Readers(root, parallel_from=1).read(
        entries, taxonomy, Matcher(taxonomy), "fingerprint"):
    rows += [stored for _, stored in chunk]
    if kill:  # every process of the pool killed after the first chunk: the rest in this one
        kill = False
        for process in multiprocessing.active_children():
            os.kill(process.pid, signal.SIGKILL)
sys.stdout.buffer.write(pickle.dumps((methods, rows)))
"""

STORIES = [
    ("Seoul", "South Korea's parliament met in Seoul to debate the budget."),
    ("Tokyo", "Japan's government said the yen would be watched closely."),
    ("Moscow", "Russia's foreign ministry summoned the ambassador in Moscow."),
    ("Nowhere", "A story that names no place at all, about the weather."),
]


def write_folder(root: Path, count: int) -> Path:
    root.mkdir()
    for n in range(count):
        city, summary = STORIES[n % len(STORIES)]
        (root / f"{n:03d}_{n:016x}.txt").write_text(
            f"---\ndate: 2025-01-{n % 28 + 1:02d}\n---\nNews from {city} {n}\n\n{summary}\n"
            f"More of it, in a second paragraph about {city}.\n"
        )
    (root / "bad_00000000000000ff.txt").write_bytes(b"\x00\x01 not text")
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "collection", 30)


def pooled(root: Path, busy: bool, kill: bool = False) -> tuple[list[str], list[object], str]:
    done = subprocess.run(
        [sys.executable, "-c", POOL, str(root), "busy" if busy else "quiet",
         "kill" if kill else "spare"],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    methods, rows = pickle.loads(done.stdout)  # noqa: S301  # ours
    return methods, rows, done.stderr.decode()


def in_one_process(root: Path) -> list[object]:
    taxonomy = load_taxonomy()
    entries, _ = scan(root)
    return [stored for _, stored in read_and_tag(root, entries, Matcher(taxonomy), "fingerprint")]


@pytest.mark.parametrize(("busy", "method"), [(False, "fork"), (True, "spawn")],
                         ids=["no-other-thread-forks", "a-running-thread-spawns"])  # fmt: skip
def test_the_pool_gives_the_rows_one_process_gives(folder: Path, busy: bool, method: str) -> None:
    methods, rows, _ = pooled(folder, busy)
    assert methods == [method]
    assert rows == in_one_process(folder)
    assert len(rows) == 31 and sum(row[5] is None for row, _ in rows) == 1  # the bad file: no id


@pytest.mark.parametrize("busy", [False, True], ids=["forked", "spawned"])
def test_a_killed_pool_leaves_the_rest_to_this_process(tmp_path: Path, busy: bool) -> None:
    """Every process of the pool killed (SIGKILL) after the first chunk: the other chunks are
    read in the indexing process, and the rows are whole, in order, as one process gives them.
    (Enough files that the pool is still at work when it is killed: 86 chunks.)"""
    folder = write_folder(tmp_path / "collection", 600)
    _, rows, log = pooled(folder, busy, kill=True)
    assert "parallel indexing failed" in log
    assert rows == in_one_process(folder)
