"""The fast-start state: the last snapshot's files and articles, kept beside the index so a
restart serves at once, before it has compared the collection with what it knew."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from ..collection import FileEntry
from ..models import Article, Problem, field_values, restorer
from ..store import IndexStore
from .files import FileTable

log = logging.getLogger(__name__)

STATE_VERSION = 3


_article_values = field_values(Article)
_article = restorer(Article)
_entry = restorer(FileEntry)


def pack(entry: FileEntry, problems: tuple[Problem, ...], dated: Article | None) -> tuple:  # type: ignore[type-arg]
    """One file of a snapshot as plain tuples (an article's dates as they are: pickle makes
    them again without a call each): quick to pickle and to load."""
    fields = None if dated is None else _article_values(dated)
    found = tuple((p.path, p.reason, p.severity) for p in problems)
    return (entry.path, entry.size, entry.mtime_ns), found, fields


def unpack(packed: tuple) -> tuple[FileEntry, tuple[Problem, ...], Article | None]:  # type: ignore[type-arg]
    entry, problems, fields = packed
    found = tuple(Problem(*p) for p in problems) if problems else ()
    return _entry(entry), found, None if fields is None else _article(fields)


class FastStart:
    """Saves a file table with what made it, and gives it back if those still hold."""

    def __init__(self, store: IndexStore) -> None:
        self.store = store

    def save(
        self, table: FileTable, newest_first: tuple[Article, ...], fingerprint: str, git_key: object
    ) -> None:
        # Newest first, as the snapshot holds them: a resumed snapshot need not sort again.
        order = {a.id: n for n, a in enumerate(newest_first)}
        last = len(order)
        paths = sorted(table.entries, key=lambda p: order.get(table.articles[p].id, last)
                       if p in table.articles else last)  # fmt: skip
        files = [
            pack(table.entries[p], table.problems_of.get(p, ()), table.articles.get(p))
            for p in paths
        ]
        problems = [(p.path, p.reason, p.severity) for p in table.scan_problems]
        state = (STATE_VERSION, self.store.generation, fingerprint, git_key, problems, files)
        try:
            self.store.snapshot_file.save(state)
        except OSError as exc:
            log.warning("could not keep the snapshot for a fast start: %s", exc)

    def load(self, fingerprint: str) -> tuple[FileTable, object] | None:
        """The table the last run kept, with the git key it was dated with; None when there
        is none, or it was made with another index, other topics or other code."""
        state = self.store.snapshot_file.load()
        if state is None:
            return None
        if not isinstance(state, tuple) or len(state) != 6 or state[0] != STATE_VERSION:
            log.info("snapshot %s is from another version: building anew",
                     self.store.snapshot_file.path)  # fmt: skip
            return None
        _, generation, kept_fingerprint, git_key, scan_problems, files = state
        if generation != self.store.generation:
            # The database is not the one the snapshot was made with (rebuilt, replaced).
            log.warning("snapshot %s does not match the index %s: building anew",
                        self.store.snapshot_file.path, self.store.path)  # fmt: skip
            return None
        if kept_fingerprint != fingerprint:
            return None
        try:
            table = _unpack_table(files, scan_problems)
        except Exception as exc:  # a whole file of the wrong shape: it was not ours
            self.store.snapshot_file.discard(exc)
            return None
        return table, git_key


def _unpack_table(files: list[tuple], scan_problems: list[tuple]) -> FileTable:  # type: ignore[type-arg]
    table = FileTable()
    articles: dict[str, Article] = {}
    with no_collection():
        for packed in files:
            entry, problems, dated = unpack(packed)
            table.entries[entry.path] = entry
            if problems:
                table.problems_of[entry.path] = problems
            if dated is not None:
                articles[entry.path] = dated
        table.scan_problems = [Problem(*p) for p in scan_problems]
        table.set_articles(articles)
    return table


@contextmanager
def no_collection() -> Iterator[None]:
    """Hundreds of thousands of objects made at once, none of them garbage: skip the
    collector's passes over them meanwhile, and afterwards, as they live as long as the
    process serves them (frozen, they are never walked again; dropped, they are freed as
    ever, by their reference counts)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.freeze()
            gc.enable()
