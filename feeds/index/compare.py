"""Comparing what the file table knows with the collection: which files changed or went."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import collection
from ..collection import FileEntry
from ..models import Problem


@dataclass
class Difference:
    """Files to read again, and files that went."""

    changed: list[FileEntry] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.changed or self.gone)


def scan(root: Path) -> tuple[dict[str, FileEntry], list[Problem], frozenset[str]]:
    """Every article file of the collection now, by path, what the scan found wrong, and
    the folders it could not read (path prefixes, "" for the root)."""
    unread: set[str] = set()
    entries, problems = collection.scan(root, unread=unread)
    return {e.path: e for e in entries}, problems, frozenset(unread)


def difference(
    now: Mapping[str, FileEntry],
    known: Mapping[str, FileEntry],
    unread: Iterable[str] = (),
    writing: Container[str] = (),
) -> Difference:
    """What differs between a whole scan and what is known. Files known under a folder the
    scan could not read are unknown now, not gone: a collection folder being swapped, an
    unmounted share or a folder without permission never empties a feed. Files still being
    written are left to be read when they are closed."""
    changed = [now[p] for p in sorted(now) if known.get(p) != now[p] and p not in writing]
    gone = {p for p in known.keys() - now.keys() if not under(p, unread)}
    return Difference(changed, gone)


def under(path: str, folders: Iterable[str]) -> bool:
    """Whether a path is inside one of the folders, given as prefixes ("" for the root)."""
    return any(path.startswith(folder) for folder in folders)


def named(
    root: Path, paths: Iterable[str], known: Mapping[str, FileEntry], stale: set[str]
) -> Difference | None:
    """What differs among the named files and the folders named with a trailing ``/``
    (``stale``: files to read again whatever they say); None when only a whole scan can
    tell (links, special files, the root itself)."""
    found = Difference()
    for path in sorted(paths):
        if any(part.startswith(".") for part in path.split("/")):
            continue
        if path.endswith("/"):
            if not _folder(root, path.rstrip("/"), known, found):
                return None
            continue
        if not path.endswith(".txt"):
            continue
        try:
            info = (root / path).stat()
        except (FileNotFoundError, NotADirectoryError):
            found.gone.add(path)
            continue
        except OSError:
            return None  # there, but unreadable: the full scan keeps it and reports why
        if not collection.stat.S_ISREG(info.st_mode) or (root / path).is_symlink():
            return None  # anything unusual: let the full scan judge it
        entry = FileEntry(path, info.st_size, min(info.st_mtime_ns, collection.MAX_MTIME_NS))
        if known.get(path) != entry or path in stale:
            found.changed.append(entry)
    found.gone &= known.keys()
    if found.gone and not root.is_dir():
        return None  # the collection folder itself went: not its files
    # A file named by its own event and by its folder's is read once.
    found.changed = sorted({e.path: e for e in found.changed}.values(), key=lambda e: e.path)
    return found


def _folder(root: Path, folder: str, known: Mapping[str, FileEntry], found: Difference) -> bool:
    """A folder that appeared, moved or went: scan just it. False: scan everything."""
    if not folder or (root / folder).is_symlink():
        return False
    prefix = folder + "/"
    inside, problems = ({}, []) if not (root / folder).is_dir() else _scan_folder(root, folder)
    if problems:
        return False  # links, special files: the full scan reports them
    found.changed += [e for p, e in inside.items() if known.get(p) != e]
    found.gone |= {p for p in known if p.startswith(prefix) and p not in inside}
    return True


def _scan_folder(root: Path, folder: str) -> tuple[dict[str, FileEntry], list[Problem]]:
    entries, problems = collection.scan(root, folder)
    return {e.path: e for e in entries}, problems
