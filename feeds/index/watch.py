"""Noticing changes: file-system events (inotify through watchdog) where they work,
periodic scans where they do not, and a full scan now and then in case events were lost."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..collection import file_identity

log = logging.getLogger(__name__)

RESCAN_SECONDS = 300.0  # a full scan now and then, in case file-system events were lost
EVERYTHING = "/"  # the pending path that asks for a full scan
# A file being written is read once its writer closes it; one written to and then left open
# this long is read as it is.
WRITING_SECONDS = 10.0
# File systems shared over a network or from a virtual machine's host: their events tell of
# changes made on this machine only, so a collection on one is scanned every interval.
SHARED = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "virtiofs", "ceph", "glusterfs", "lustre",
    "afs", "gpfs", "beegfs", "vboxsf", "vmhgfs", "prl_fs",
})  # fmt: skip
# FUSE file systems are shared ones (sshfs, rclone, s3fs...) but for these, local to the machine.
LOCAL_FUSE = frozenset({"fuse.fuse-overlayfs", "fuse.lxcfs"})
MOUNTS = Path("/proc/self/mountinfo")


class Watcher:
    """Collects the paths that changed and calls ``check`` with them from its own thread.

    ``check`` is called with the paths noticed since the last call (relative to the root,
    folders with a trailing ``/``; :data:`EVERYTHING` for a full scan); ``busy`` says
    whether the index has writes to retry, which brings the next check closer.
    """

    def __init__(
        self,
        root: Path,
        interval: float,
        check: Callable[[], object],
        busy: Callable[[], bool],
        retry_seconds: Callable[[], float],
    ) -> None:
        self.root = root
        self.interval = interval
        self._check = check
        self._busy = busy
        self._retry_seconds = retry_seconds
        self.pending: set[str] = set()
        # Files written to and not yet closed, with the moment of the last write: read at
        # their close, so that a file copied in slowly is never published half-written.
        self._writing: dict[str, float] = {}
        self._state = threading.Lock()  # pending and writing, changed from two threads
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._observer: object = None
        self._folder = file_identity(root)  # the folder the root names, to notice a swap
        self._watched = root  # the folder events come from: the root, links followed

    def take(self) -> set[str]:
        """The paths noticed since the last call, but files still being written."""
        with self._state:
            since = time.monotonic() - WRITING_SECONDS
            for path in [p for p, moment in self._writing.items() if moment <= since]:
                del self._writing[path]  # written to, then left open: read as it is
                self.pending.add(path)
            taken = self.pending - self._writing.keys()
            self.pending = set()
        return taken

    def again(self, paths: set[str]) -> None:
        """Paths a failed check is to look at again, at the next one."""
        with self._state:
            self.pending |= paths

    def writing(self) -> frozenset[str]:
        """The files being written now: a whole scan leaves them to their close."""
        with self._state:
            return frozenset(self._writing)

    def queue(self, paths: set[str]) -> None:
        """Paths to look at again at the next check."""
        with self._state:
            self.pending |= paths
            for path in paths:
                self._writing.pop(path, None)
        self._wake.set()

    def notice(self, path: str, is_directory: bool, written: bool = False) -> None:
        """Note a changed path; the watcher thread picks it up at once, or, for a file being
        written (``written``), once it is closed."""
        try:
            relative = Path(path).relative_to(self._watched).as_posix()
        except ValueError:
            return
        if relative == ".":
            relative = ""
        if written and not is_directory:
            with self._state:
                self._writing[relative] = time.monotonic()
            return
        self.queue({relative + "/" if is_directory else relative})

    def start(self, first: Callable[[], object] | None = None) -> None:
        """Follow the collection; ``first`` runs beside, in a thread of its own (the
        comparison of a resumed snapshot with the collection), so changes go through
        meanwhile."""
        if self._threads:
            return
        self._observer = self._observe()
        threads = [threading.Thread(target=self._run, name="feeds-reload", daemon=True)]
        if first is not None:
            threads.append(threading.Thread(target=first, name="feeds-reconcile", daemon=True))
        self._threads = threads
        for thread in threads:
            thread.start()

    def _observe(self) -> object:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return None
        folder = Path(os.path.realpath(self.root))  # events name paths in it, links followed
        kind = file_system(folder)
        if kind is not None and shared(kind):
            log.info(
                "the collection's file system (%s) tells of no change made on another "
                "machine: scanning it every %g s", kind, self.interval,
            )  # fmt: skip
            return None
        watcher = self
        observer = Observer()
        # inotify tells when a writer closes a file: a write waits for that. Elsewhere each
        # write is read as it comes.
        closes = type(observer).__name__ == "InotifyObserver"

        class Handler(FileSystemEventHandler):  # type: ignore[misc]
            def on_any_event(self, event) -> None:  # type: ignore[no-untyped-def]
                if event.event_type in ("opened", "closed_no_write"):
                    return
                if event.is_directory and event.event_type in ("modified", "closed"):
                    return  # a file inside changed: its own event says which
                # A write, or a file just created empty: its writer has yet to close it. A
                # file moved in whole is read at once.
                written = closes and (
                    event.event_type == "modified"
                    or (event.event_type == "created" and _empty(event.src_path))
                )
                for raw in (event.src_path, getattr(event, "dest_path", "")):
                    if raw:
                        watcher.notice(os.fsdecode(raw), event.is_directory, written)

        self._watched = folder
        try:
            observer.schedule(Handler(), str(self._watched), recursive=True)
            observer.start()
        except OSError as exc:  # e.g. the inotify watch limit: fall back to scanning
            log.warning("file-system events unavailable (%s); scanning instead", exc)
            return None
        return observer

    def _run(self) -> None:
        last_scan = time.monotonic()
        while not self._stop.is_set():
            if self._observer is None:
                self._stop.wait(self.interval)
                if not self._stop.is_set():
                    self._swapped()  # a scan follows the path: nothing more to do
                    self._check()
                continue
            busy = self._busy()
            timeout = RESCAN_SECONDS - (time.monotonic() - last_scan)
            if busy:
                timeout = min(timeout, self._retry_seconds())  # an index to write or heal
            woke, swapped = self._wait(time.monotonic() + max(timeout, 0.0))
            if self._stop.is_set():
                break
            if swapped:
                self._add(EVERYTHING)
            elif woke:
                self._stop.wait(min(self.interval, 0.05))  # let a burst of events settle
                self._wake.clear()
            elif time.monotonic() - last_scan >= RESCAN_SECONDS:
                self._add(EVERYTHING)
                last_scan = time.monotonic()
            if busy or self._due():
                self._check()

    def _add(self, path: str) -> None:
        with self._state:
            self.pending.add(path)

    def _due(self) -> bool:
        """Whether a path waits to be read: one not being written, or one left open."""
        with self._state:
            return bool(self.pending - self._writing.keys()) or self._left_open()

    def _left_open(self) -> bool:
        """Whether a file written to has had no write for WRITING_SECONDS: read it as it is."""
        since = time.monotonic() - WRITING_SECONDS
        return any(moment <= since for moment in self._writing.values())

    def _wait(self, deadline: float) -> tuple[bool, bool]:
        """Wait for an event until ``deadline``, looking every interval at whether the root
        still names the folder being watched and whether a file was left open: (woken by an
        event, root swapped)."""
        while True:
            left = deadline - time.monotonic()
            woke = self._wake.wait(max(min(left, self.interval), 0.0))
            if woke:  # cleared only when seen: a wake between a timeout and here stays set
                self._wake.clear()
            if self._stop.is_set():
                return woke, False
            if self._swapped():
                return woke, True
            with self._state:
                left_open = self._left_open()
            if woke or left_open or time.monotonic() >= deadline:
                return woke, False

    def _swapped(self) -> bool:
        """Whether the root names another folder than before: a link switched to a new
        release, a folder renamed into its place, a share mounted again. Events then come
        from the new folder, and the whole of it is compared with what is published. A
        root that is gone, or cannot be read, changes nothing until it is back."""
        folder = file_identity(self.root)
        if folder == self._folder:
            return False
        self._folder = folder
        if folder is None:
            log.warning(
                "the collection folder %s is gone or cannot be read: its articles are kept "
                "as they were until it is back", self.root,
            )  # fmt: skip
            return False
        log.info("the collection folder %s is another folder now: comparing it", self.root)
        if self._observer is not None:
            self._observer.stop()  # type: ignore[attr-defined]
            self._observer = self._observe()
        return True

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()  # type: ignore[attr-defined]
        for thread in self._threads:
            thread.join(timeout=10)


def _empty(path: str | bytes) -> bool:
    try:
        return os.stat(path).st_size == 0
    except OSError:
        return False


def shared(kind: str) -> bool:
    """Whether a file system of this type may change without this machine's events."""
    return kind in SHARED or (kind.startswith("fuse.") and kind not in LOCAL_FUSE)


def file_system(path: Path, mounts: str | None = None) -> str | None:
    """The type of the file system ``path`` is on, from the mount table (``mounts``, the text
    of /proc/self/mountinfo, read when not given); None where there is none to read."""
    if mounts is None:
        try:
            mounts = MOUNTS.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            return None
    best, kind = -1, None
    for line in mounts.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        point = _unescape(fields[4])
        # The deepest mount holding the path; of two at one point, the later mounted.
        holds = path == Path(point) or Path(point) in path.parents
        if holds and len(point) >= best:
            best, kind = len(point), fields[fields.index("-", 6) + 1]
    return kind


def _unescape(field: str) -> str:
    """A mount point as written in the mount table: spaces and the like as ``\\040``."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)
