"""The combinations of topics readers asked for, shared by the workers of one index folder.

Each worker remembers the combinations it served (:class:`~feeds.snapshot.Requested`), but
only one worker tells hubs of a change (:mod:`feeds.push`): without this file, a combination
one reader subscribed to through another worker would never be pinged. Each worker appends a
combination the first time it serves it, one line in its canonical spelling; the file is
rewritten with the newest ``REQUESTED_KEPT`` when it grows past ``MAX_BYTES``, so a client
asking for endless new combinations cannot fill the disk. Writers and readers take a lock
file, and a rewrite replaces the file whole, so a reader never sees half of one. A line that
is not a selection (a damaged file) is skipped; a file that cannot be written (a full or
read-only disk) costs only the pings, and is reported once.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections import OrderedDict
from pathlib import Path

from ..models import Selection
from ..snapshot import REQUESTED_KEPT
from ..store import locked
from ..urls import SelectionError, parse_selection, selection_key

log = logging.getLogger(__name__)

FILE_NAME = "requested.txt"
MAX_BYTES = 512 * 1024  # about 15,000 lines: rewritten down to REQUESTED_KEPT past this


class SharedRequests:
    """The file of combinations asked for, in an index folder."""

    def __init__(self, folder: Path, kept: int = REQUESTED_KEPT, max_bytes: int = MAX_BYTES):
        self.path = folder / FILE_NAME
        self._lock_path = folder / (FILE_NAME + ".lock")
        self.kept = kept
        self.max_bytes = max_bytes
        self._failed = False  # reported once, not at every request

    def add(self, selection: Selection) -> None:
        try:
            with locked(self._lock_path):
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(selection_key(selection) + "\n")
                    size = handle.tell()
                if size > self.max_bytes:
                    self._rewrite(self._read()[-self.kept :])
        except OSError as exc:
            self._report("remember", exc)

    def load(self) -> list[Selection]:
        """The combinations asked for, oldest first, each once, at most ``kept``."""
        try:
            with locked(self._lock_path, fcntl.LOCK_SH):
                return self._read()[-self.kept :]
        except OSError as exc:
            self._report("read", exc)
            return []

    def _read(self) -> list[Selection]:
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []
        found: OrderedDict[Selection, None] = OrderedDict()
        for line in lines:
            try:
                selection = parse_selection(line.strip())
            except SelectionError:
                continue
            if not selection.is_everything:
                found[selection] = None
                found.move_to_end(selection)
        return list(found)

    def _rewrite(self, selections: list[Selection]) -> None:
        staged = self.path.with_name(self.path.name + ".new")
        with staged.open("w", encoding="utf-8") as handle:
            handle.writelines(selection_key(s) + "\n" for s in selections)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staged, self.path)

    def _report(self, doing: str, exc: OSError) -> None:
        if not self._failed:
            self._failed = True
            log.warning(
                "cannot %s the combinations asked for in %s (%s): hubs hear only of those "
                "this worker served", doing, self.path, exc.strerror or exc,
            )  # fmt: skip
