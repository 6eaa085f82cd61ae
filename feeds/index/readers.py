"""Reading files: parsing and tagging them, in a process pool when there are many."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from pathlib import Path

from .. import collection, reasons
from ..collection import FileEntry
from ..models import Problem
from ..store import FileRecord, Stored, stored
from ..taxonomy import Taxonomy
from ..topics import Matcher

log = logging.getLogger(__name__)

PARALLEL_FROM = 2000  # files; below this a process pool costs more than it saves
CHUNK = 500  # files parsed, tagged and stored at a time

Read = tuple[FileRecord, Stored]  # a file's record, and its row in the index


def read_and_tag(
    root: Path, entries: Iterable[FileEntry], matcher: Matcher, fingerprint: str
) -> list[Read]:
    """Parse and tag files: records without texts, each with the row that stores it (its
    text, and the words search finds it by, made here rather than by the process that
    stores them)."""
    done: list[Read] = []
    for entry in entries:
        article, problems = collection.read_article(root, entry)
        if article is None:
            record = FileRecord(entry, None, tuple(problems))
            done.append((record, stored(record, None)))
            continue
        unknown = [s for s in article.declared_topics if s not in matcher.taxonomy]
        if unknown:
            reason = f"unknown topics ignored: {', '.join(unknown)}"
            problems.append(Problem(article.path, reason, "warning"))
        topics, why = reasons.tag(matcher, article)
        record = FileRecord(entry, article.indexed(topics), tuple(problems), fingerprint,
                            reasons.dumps(why))  # fmt: skip
        done.append((record, stored(record, (article.summary, *article.body))))
    return done


_worker: tuple[Matcher, str] | None = None


def _start_worker(taxonomy: Taxonomy, fingerprint: str) -> None:
    """A spawned process: it builds its own matcher from the topics."""
    _keep_worker(Matcher(taxonomy), fingerprint)


def _keep_worker(matcher: Matcher, fingerprint: str) -> None:
    """A forked process: it holds the matcher this one built, with every module imported."""
    global _worker
    _worker = (matcher, fingerprint)


def _work(root: Path, entries: list[FileEntry]) -> list[Read]:
    assert _worker is not None
    return read_and_tag(root, entries, *_worker)


@contextmanager
def _package_first() -> Iterator[None]:
    """Spawned processes import this package from where this process did, never from a
    ``feeds`` folder in the working directory that happens to come first on the path."""
    home = str(Path(__file__).resolve().parent.parent.parent)
    saved = sys.path[:]
    sys.path[:] = [home, *(p for p in saved if p not in ("", ".", os.getcwd(), home))]
    try:
        yield
    finally:
        sys.path[:] = saved


class Readers:
    """Reads files in chunks: in this process, or over every core when there are many."""

    def __init__(self, root: Path, parallel_from: int = PARALLEL_FROM) -> None:
        self.root = root
        self.parallel_from = parallel_from

    def read(
        self, entries: list[FileEntry], taxonomy: Taxonomy, matcher: Matcher, fingerprint: str
    ) -> Iterator[list[Read]]:
        """What each chunk of ``entries`` gives, chunk by chunk."""
        chunks = [entries[i : i + CHUNK] for i in range(0, len(entries), CHUNK)]
        workers = min(os.cpu_count() or 1, 8)
        if len(entries) < self.parallel_from or workers < 2:
            for chunk in chunks:
                yield read_and_tag(self.root, chunk, matcher, fingerprint)
            return
        context, start, args = _pool_start(taxonomy, matcher, fingerprint)
        done = 0
        try:
            with _package_first(), ProcessPoolExecutor(
                workers, mp_context=context,
                initializer=start, initargs=args,
            ) as pool:  # fmt: skip
                for results in pool.map(_work, [self.root] * len(chunks), chunks):
                    done += 1
                    yield results
        except (BrokenProcessPool, OSError) as exc:
            log.warning("parallel indexing failed (%s); indexing in one process", exc)
            for chunk in chunks[done:]:
                yield read_and_tag(self.root, chunk, matcher, fingerprint)


def _pool_start(
    taxonomy: Taxonomy, matcher: Matcher, fingerprint: str
) -> tuple[BaseContext, Callable[..., None], tuple[object, ...]]:
    """How the pool's processes start: the context, and what each runs first with what."""
    if _may_fork():  # started in a moment, imports and matcher already made
        return get_context("fork"), _keep_worker, (matcher, fingerprint)
    return get_context("spawn"), _start_worker, (taxonomy, fingerprint)  # never fork threads


def _may_fork() -> bool:
    """Whether the pool may start by forking this process: where the system can, and only
    while this process runs no other thread (a lock another thread held at the fork would
    stay held in the copy). A one-off command indexing from nothing is such a process; a
    server's worker, with its watcher and request threads, spawns its pool instead."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
