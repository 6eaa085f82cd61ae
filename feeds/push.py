"""Telling WebSub hubs and caches of changes, in the background.

When a snapshot replaces another, each cache in ``FEEDS_PURGE_URLS`` gets a soft purge of the
surrogate keys that changed, and each hub in ``FEEDS_WEBSUB_HUBS`` a ``publish`` ping for every
subscription feed whose bytes changed (see :mod:`feeds.changes`). The pings of a change wait
for the first attempt of its purges and then, briefly, for the cache to serve the new copies
(:func:`settle`), so a hub that fetches the feed through the cache pushes the new one.

Each endpoint has its own queue and threads: a hub that is down or never answers delays
nothing but its own pings, never a snapshot, a request, another hub or a purge. Every request
is bounded: one deadline from connecting to the last byte (a slow drip is cut there), at most
``MAX_ANSWER`` bytes of an answer read (a huge body is never read whole), redirects never
followed (requests go only to the configured URLs), and at most ``MAX_PENDING`` requests queued.
Failures are retried with exponential backoff and jitter, ``ATTEMPTS`` times in all; each one is
logged, and so is giving up.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import http.client
import itertools
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from .changes import SITE, Change, batches, changed_feeds
from .config import Config
from .snapshot import Snapshot
from .version import __version__

log = logging.getLogger(__name__)

TIMEOUT = 5.0  # seconds for one request, from connecting to the last byte read
ATTEMPTS = 5  # in all: over about 15 s of backoff, which outlasts a restart of a hub or a cache
BACKOFF = 1.0  # seconds before the first retry, doubled for each one after it
MAX_ANSWER = 64 * 1024  # bytes of an answer read at most; only its status matters
MAX_RETRY_AFTER = 300.0  # seconds: a Retry-After is honoured up to this
MAX_PENDING = 10_000  # requests queued per endpoint; past it the newest are dropped
CONNECTIONS = 4  # requests sent at once to one endpoint: a change names a dozen feeds or so
USER_AGENT = f"feeds/{__version__}"


class Refused(Exception):
    """The endpoint answered that it will not do it: trying again would not help."""


class Failed(Exception):
    """No usable answer (refused connection, timeout, 5xx, 429): worth another try."""

    def __init__(self, reason: str, retry_after: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after  # seconds the endpoint asked to be left alone


@dataclass(frozen=True)
class Outgoing:
    """One request to an endpoint."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    what: str  # for the log


def publish(hub: str, topic: str) -> Outgoing:
    """A WebSub publish ping; hubs read the topic as ``hub.url`` or as ``hub.topic``."""
    body = urlencode({"hub.mode": "publish", "hub.topic": topic, "hub.url": topic}).encode()
    headers = (("Content-Type", "application/x-www-form-urlencoded"),)
    return Outgoing("POST", hub, headers, body, f"ping for {topic}")


def purge(cache: str, keys: str) -> Outgoing:
    """A soft purge of surrogate keys: Varnish's xkey reads the first header, CDNs the second."""
    headers = (("xkey-softpurge", keys), ("Surrogate-Key", keys))
    return Outgoing("PURGE", cache, headers, b"", f"purge of {keys}")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage


def exchange(outgoing: Outgoing, timeout: float = TIMEOUT) -> Answer:
    """Send one request and return the answer, within ``timeout`` seconds whatever the peer
    does; raises :class:`Refused` or :class:`Failed`."""
    parts = urlsplit(outgoing.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"{outgoing.url!r} is not an http or https URL")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=timeout)
    deadline = time.monotonic() + timeout
    cut = threading.Event()
    timer: threading.Timer | None = None
    try:
        connection.connect()
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), _cut, (connection, cut))
        timer.daemon = True
        timer.start()
        headers = {"User-Agent": USER_AGENT, "Connection": "close", **dict(outgoing.headers)}
        path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        connection.request(outgoing.method, path, body=outgoing.body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_ANSWER)  # the rest is never read: the connection closes
        answer = Answer(response.status, response.headers)
        if cut.is_set():  # what came before the cut may look whole: it is not to be trusted
            raise TimeoutError
    except (OSError, http.client.HTTPException) as exc:
        # The cut, or the socket's own timeout when it comes first (a busy machine may run
        # the timer late): either way, no answer came in time.
        late = cut.is_set() or isinstance(exc, TimeoutError)
        reason = f"no answer within {timeout:.3g} s" if late else _describe(exc)
        raise Failed(reason) from None
    finally:
        if timer is not None:
            timer.cancel()
        connection.close()
    return _judge(answer)


def _judge(answer: Answer) -> Answer:
    status = answer.status
    if 200 <= status < 300:
        return answer
    if 300 <= status < 400:
        raise Refused(f"answered {status}: redirects are not followed; set the URL it names")
    if status == 429 or status >= 500:
        raise Failed(f"answered {status}", _retry_after(answer.headers.get("Retry-After", "")))
    raise Refused(f"answered {status}")


def _retry_after(value: str) -> float:
    """A ``Retry-After`` in seconds (RFC 9110, 10.2.3), at most ``MAX_RETRY_AFTER``."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if moment.tzinfo is None:
        return 0.0
    return max(0.0, min((moment - datetime.now(UTC)).total_seconds(), MAX_RETRY_AFTER))


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    """The deadline passed: end the exchange, however slowly the peer was still sending."""
    cut.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # closed meanwhile
            sock.shutdown(socket.SHUT_RDWR)


class Countdown:
    """Opens once every one of ``count`` things is done."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.opened = threading.Event()
        self._lock = threading.Lock()
        if count <= 0:
            self.opened.set()

    def one_done(self) -> None:
        with self._lock:
            self.left -= 1
            if self.left <= 0:
                self.opened.set()


@dataclass(order=True)
class _Job:
    due: float
    number: int
    outgoing: Outgoing = field(compare=False)
    attempt: int = field(default=1, compare=False)
    first_done: Callable[[], None] | None = field(default=None, compare=False)


class Endpoint:
    """One hub or cache: its own queue and threads, at most ``CONNECTIONS`` requests at once."""

    def __init__(self, url: str, role: str, timeout: float | None = None) -> None:
        self.url, self.role, self.timeout = url, role, timeout or TIMEOUT
        self._jobs: list[_Job] = []
        self._waiting: set[Outgoing] = set()  # queued and not yet tried: never queued twice
        self._busy = 0  # requests being sent
        self._numbers = itertools.count()
        self._condition = threading.Condition()
        self._stop = False
        # Started at the first request: an app that never changes runs no thread (so
        # `feeds build` may still fork its rendering processes).
        self._threads: list[threading.Thread] = []

    def put(self, outgoing: Outgoing, first_done: Callable[[], None] | None = None) -> None:
        with self._condition:
            if outgoing in self._waiting:
                if first_done is not None:
                    first_done()  # the request already queued stands for this one
                return
            if len(self._jobs) >= MAX_PENDING:
                log.error("%s %s: %d requests waiting; %s dropped",
                          self.role, self.url, len(self._jobs), outgoing.what)  # fmt: skip
                if first_done is not None:
                    first_done()
                return
            if not self._threads:
                self._start()
            self._waiting.add(outgoing)
            job = _Job(time.monotonic(), next(self._numbers), outgoing, 1, first_done)
            heapq.heappush(self._jobs, job)
            self._condition.notify()

    def _start(self) -> None:
        name = f"feeds-{self.role}"
        self._threads = [threading.Thread(target=self._run, name=name, daemon=True)
                         for _ in range(CONNECTIONS)]  # fmt: skip
        for thread in self._threads:
            thread.start()

    def idle(self) -> bool:
        with self._condition:
            return not self._jobs and not self._busy

    def close(self) -> None:
        with self._condition:
            self._stop = True
            self._condition.notify_all()

    def _next(self) -> _Job | None:
        with self._condition:
            while not self._stop:
                wait = self._jobs[0].due - time.monotonic() if self._jobs else None
                if wait is not None and wait <= 0:
                    self._busy += 1
                    return heapq.heappop(self._jobs)
                self._condition.wait(wait)
            return None

    def _run(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._attempt(job)
            except Exception:
                log.exception("%s %s: %s failed", self.role, self.url, job.outgoing.what)
            finally:
                with self._condition:
                    self._busy -= 1

    def _attempt(self, job: _Job) -> None:
        outgoing = job.outgoing
        if job.attempt == 1:
            with self._condition:
                self._waiting.discard(outgoing)
        try:
            exchange(outgoing, self.timeout)
            log.info("%s %s: %s done", self.role, self.url, outgoing.what)
        except Refused as exc:
            log.error("%s %s refused the %s: %s; not retried",
                      self.role, self.url, outgoing.what, exc)  # fmt: skip
        except Failed as exc:
            self._retry(job, str(exc), exc.retry_after)
        finally:
            if job.first_done is not None:
                job.first_done()
                job.first_done = None

    def _retry(self, job: _Job, reason: str, retry_after: float = 0.0) -> None:
        what = job.outgoing.what
        if job.attempt >= ATTEMPTS:
            log.error("%s %s: %s failed (%s); gave up after %d attempts",
                      self.role, self.url, what, reason, job.attempt)  # fmt: skip
            return
        delay = max(retry_after, BACKOFF * 2 ** (job.attempt - 1) * random.uniform(0.5, 1.5))
        log.warning(
            "%s %s: %s failed (%s); attempt %d of %d in %.1f s",
            self.role, self.url, what, reason, job.attempt + 1, ATTEMPTS, delay,
        )  # fmt: skip
        with self._condition:
            job.due, job.attempt = time.monotonic() + delay, job.attempt + 1
            job.number = next(self._numbers)
            heapq.heappush(self._jobs, job)
            self._condition.notify()


SETTLE_SECONDS = 2.0  # a change's pings wait at most this long for the cache's new copies


def settle(changed: dict[str, str]) -> bool:
    """Fetch each changed feed from its public URL until the cache in front serves its new
    bytes (whose ETag is given), for at most ``SETTLE_SECONDS`` in all.

    After a soft purge a cache serves its old copy once more while it fetches the new one; a
    hub that fetched then would push the old feed. The fetches ask for gzip, as hubs and most
    readers do; a first round makes the cache fetch every changed feed at once, later rounds
    check the ones still old.
    """
    deadline = time.monotonic() + SETTLE_SECONDS
    waiting = dict(changed)
    while waiting:
        for url, etag in list(waiting.items()):
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("the cache did not serve %d new copies within %g s",
                            len(waiting), SETTLE_SECONDS)  # fmt: skip
                return False
            try:
                if _etag(url, left) == etag:
                    del waiting[url]
            except (Refused, Failed) as exc:
                log.warning("cache: the fetch of %s failed (%s)", url, exc)
                return False
        if waiting:
            time.sleep(0.01)
    return True


def _etag(url: str, timeout: float) -> str:
    """The ETag the public URL answers with, without the gzip form's suffix."""
    fetch = Outgoing("GET", url, (("Accept-Encoding", "gzip"),), b"", f"fetch of {url}")
    answer = exchange(fetch, timeout)
    return answer.headers.get("ETag", "").strip('W/"').removesuffix("-gzip")


class Notifier:
    """Turns each new snapshot into purges and pings; every call returns at once."""

    def __init__(self, config: Config, lock: Path | None = None) -> None:
        self.hubs = [Endpoint(url, "hub") for url in config.hubs]
        self.caches = [Endpoint(url, "cache") for url in config.purges]
        self._lock_path = lock
        self._lock_file: int | None = None
        self._pending: Change | None = None
        self._planning = False
        self._condition = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None  # started at the first change

    def snapshot_changed(self, before: Snapshot, after: Snapshot) -> None:
        """What :attr:`LiveIndex.on_change` calls: queue the change, merged with any waiting."""
        change = Change.between(before, after)
        with self._condition:
            self._pending = change if self._pending is None else self._pending.then(change)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="feeds-notify",
                                                daemon=True)  # fmt: skip
                self._thread.start()
            self._condition.notify()

    def purge_everything(self) -> None:
        """Purge every response feeds sent (at a start that could not tell what changed)."""
        for cache in self.caches:
            cache.put(purge(cache.url, SITE))

    def ping(self, urls: Iterable[str]) -> None:
        """Tell every hub of these feed URLs (for a static export)."""
        for url in urls:
            for hub in self.hubs:
                hub.put(publish(hub.url, url))

    def flush(self, timeout: float) -> bool:
        """Wait until every request was sent or given up; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._condition:
                planning = self._pending is not None or self._planning
            if not planning and all(e.idle() for e in (*self.hubs, *self.caches)):
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        with self._condition:
            self._stop = True
            self._condition.notify()
        for endpoint in (*self.hubs, *self.caches):
            endpoint.close()
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._pending is None and not self._stop:
                    self._condition.wait()
                if self._stop:
                    return
                change, self._pending, self._planning = self._pending, None, True
                assert change is not None
            try:
                self._send(change)
            except Exception:
                log.exception("notifying hubs and caches of a change failed")
            finally:
                with self._condition:
                    self._planning = False

    def _send(self, change: Change) -> None:
        keys = batches(change.keys)
        purged = Countdown(len(keys) * len(self.caches))
        for cache in self.caches:
            for batch in keys:
                cache.put(purge(cache.url, batch), first_done=purged.one_done)
        if not self.hubs or not self._pings_here():
            return
        changed = changed_feeds(change)
        if self.caches:
            purged.opened.wait(2 * TIMEOUT)
            settle(changed)
        log.info("telling %d hubs of %d changed feeds", len(self.hubs), len(changed))
        for url in changed:
            for hub in self.hubs:
                hub.put(publish(hub.url, url))

    def _pings_here(self) -> bool:
        """Whether this process pings: of the workers sharing an index folder, one does, so
        a hub hears of each change once."""
        if self._lock_path is None:
            return True
        if self._lock_file is None:
            self._lock_path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_file = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False


PING_SECONDS = 60.0  # a static build waits this long at most for its pings


def changed_feed_files(files: list[str], base_url: str) -> list[str]:
    """The URLs of the subscription feeds among the files a static build changed (a feed new
    to this build has no subscribers yet, and the build does not list it)."""
    return [
        f"{base_url}/{name}"
        for name in files
        if name.startswith("feeds/") and "/archive/" not in name and not name.endswith(".gz")
    ]


def ping_and_wait(config: Config, urls: list[str]) -> bool:
    """Tell every hub of ``urls`` and wait for the answers; False if some were still waiting
    after ``PING_SECONDS`` (each failure is logged)."""
    notifier = Notifier(config)
    try:
        notifier.ping(urls)
        return notifier.flush(PING_SECONDS)
    finally:
        notifier.close()
