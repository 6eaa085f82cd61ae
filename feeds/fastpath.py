"""A WSGI layer in front of Flask that answers repeated GETs from memory.

Every successful GET response is a pure function of the snapshot, the URL and
whether the client takes gzip, so the first answer for a URL is kept (for the
life of the snapshot) as ready-made status, headers and body. Later requests
for it skip routing and rendering: a dictionary look-up, then either the
stored bytes or a 304 when the client's validators match. Anything else goes
to Flask untouched. What is kept is bounded in bytes (``FEEDS_CACHE_BYTES``),
so a flood of distinct URLs costs bounded memory.

Request lines longer than 8 KiB are refused here with ``414``, under any
server (gunicorn refuses them itself; granian passes them on).

Answers from memory come first. URLs whose number has no bound, searches and
combinations of topics, are rendered on a budget (:class:`RenderBudget`): while
many requests are being answered from memory, such renders take turns and use at most
15% of the worker's time; beyond that they get ``503`` with ``Retry-After``.
A flood of them can slow searches down, never the feeds everyone polls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from werkzeug.http import parse_accept_header, parse_date

from .cache import ByteCache

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

MAX_REQUEST_LINE = 8192
TOO_LONG = b"414 URI Too Long: request lines are limited to 8 KiB\n"
BUSY = b"503 Service Unavailable: too many searches just now; retry in a second\n"
PLAIN = [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")]
RENDER_SHARE = 0.15  # of a worker's time for costly renders while cached answers are asked for
CONTENDED_HITS = 50  # answers from memory in one second that make the budget apply
CONTENDED_SECONDS = 1.0  # and for how long after


class RenderBudget:
    """Costly renders take turns, and at most ``share`` of the time, while requests are
    being answered from memory (at least ``CONTENDED_HITS`` a second); otherwise they run
    freely."""

    def __init__(self, share: float = RENDER_SHARE) -> None:
        self.rest = 1 / share - 1  # seconds of rest after each second of rendering
        self._window = 0.0  # start of the second in which cached answers are counted
        self._hits = 0
        self._busy_until = 0.0  # cached traffic was seen recently up to then
        self._lock = threading.Lock()
        self._running = 0
        self._free_at = 0.0

    def hit(self) -> None:
        """One answer from memory (counted without a lock: an approximate count will do)."""
        now = time.monotonic()
        if now - self._window >= 1.0:
            self._window, self._hits = now, 0
        self._hits += 1
        if self._hits >= CONTENDED_HITS:
            self._busy_until = now + CONTENDED_SECONDS

    def enter(self) -> bool:
        now = time.monotonic()
        with self._lock:
            contended = now < self._busy_until
            if contended and (self._running or now < self._free_at):
                return False
            self._running += 1
            return True

    def leave(self, started: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._running -= 1
            self._free_at = max(self._free_at, now + (now - started) * self.rest)


def costly(environ: Environ) -> bool:
    """A URL of an unbounded family: a search, or a combination of topics."""
    path = environ.get("PATH_INFO", "")
    return "q=" in environ.get("QUERY_STRING", "") or any(c in path for c in "+,~")
# What a 304 repeats of the 200 (RFC 9110, 15.4.5), and nosniff, which every response has.
NOT_MODIFIED_HEADERS = {"cache-control", "content-location", "date", "etag", "expires", "vary",
                        "x-content-type-options"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Stored:
    headers: list[tuple[str, str]]
    not_modified: list[tuple[str, str]]
    body: bytes
    etag: str
    last_modified: datetime | None


class FastPath:
    """Serve stored answers for repeated GET and HEAD requests; pass the rest to ``app``."""

    def __init__(
        self, app: WSGIApp, current: Callable[[], object], limit: int = 64 << 20
    ) -> None:
        self.app = app
        self.current = current  # returns the snapshot in service
        self.limit = limit
        self._snapshot: object = None
        self._stored: ByteCache[tuple[str, str, bool], Stored] = ByteCache(limit)
        self._gzip: dict[str, bool] = {}
        self.budget = RenderBudget()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) > 2048 \
                and _request_line(environ) > MAX_REQUEST_LINE:  # fmt: skip
            start_response("414 URI TOO LONG", [
                *PLAIN, ("Connection", "close"), ("Content-Length", str(len(TOO_LONG))),
            ])  # fmt: skip
            return [TOO_LONG]
        if method != "GET" and method != "HEAD":
            return self.app(environ, start_response)
        snapshot = self.current()
        if snapshot is not self._snapshot:
            self._snapshot, self._stored = snapshot, ByteCache(self.limit)
        key = (environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
               self._takes_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")))  # fmt: skip
        stored = self._stored.peek(key)
        if stored is None:
            if not costly(environ):
                return self._first(environ, start_response, key, snapshot)
            return self._on_budget(environ, start_response, key, snapshot)
        self.budget.hit()
        if self._fresh(environ, stored):
            start_response("304 NOT MODIFIED", stored.not_modified)
            return []
        start_response("200 OK", stored.headers)
        return [] if method == "HEAD" else [stored.body]

    def _on_budget(
        self, environ: Environ, start_response: StartResponse, key: tuple[str, str, bool],
        snapshot: object,
    ) -> Iterable[bytes]:  # fmt: skip
        if not self.budget.enter():
            start_response("503 SERVICE UNAVAILABLE", [
                *PLAIN, ("Retry-After", "1"), ("Cache-Control", "no-store"),
                ("Content-Length", str(len(BUSY))),
            ])  # fmt: skip
            return [BUSY]
        started = time.monotonic()
        try:
            return self._first(environ, start_response, key, snapshot)
        finally:
            self.budget.leave(started)

    def _first(
        self, environ: Environ, start_response: StartResponse, key: tuple[str, str, bool],
        snapshot: object,
    ) -> Iterable[bytes]:  # fmt: skip
        """Let Flask answer, and keep a plain 200 GET answer for next time."""
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            captured[:] = [status, headers]
            return start_response(status, headers, *exc)

        chunks = self.app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status, headers = captured
        if status.startswith("200") and environ["REQUEST_METHOD"] == "GET":
            self._keep(key, headers, body, snapshot)
        return [body]

    def _keep(
        self, key: tuple[str, str, bool], headers: list[tuple[str, str]], body: bytes,
        snapshot: object,
    ) -> None:  # fmt: skip
        named = {name.lower(): value for name, value in headers}
        if "etag" not in named or "set-cookie" in named or snapshot is not self._snapshot:
            return
        modified = named.get("last-modified")
        stored = Stored(
            headers=list(headers),
            not_modified=[(n, v) for n, v in headers if n.lower() in NOT_MODIFIED_HEADERS]
            + ([("Last-Modified", modified)] if modified else []),
            body=body,
            etag=named["etag"],
            last_modified=parse_date(modified) if modified else None,
        )
        size = len(body) + sum(len(n) + len(v) for n, v in headers) + len(key[0]) + len(key[1])
        self._stored.put(key, stored, size + 512)

    def _takes_gzip(self, header: str) -> bool:
        known = self._gzip.get(header)
        if known is None:
            known = parse_accept_header(header).quality("gzip") > 0
            if len(self._gzip) < 1024:
                self._gzip[header] = known
        return known

    @staticmethod
    def _fresh(environ: Environ, stored: Stored) -> bool:
        """Whether the client's copy is current (RFC 9110, 13.1.2 and 13.1.3)."""
        tags = environ.get("HTTP_IF_NONE_MATCH")
        if tags is not None:
            # Weak comparison: W/"x" and "x" both match the strong tag "x".
            return tags.strip() == "*" or any(
                tag.strip().removeprefix("W/") == stored.etag for tag in tags.split(",")
            )
        since = environ.get("HTTP_IF_MODIFIED_SINCE")
        if since and stored.last_modified is not None:
            moment = parse_date(since)
            return moment is not None and stored.last_modified <= moment
        return False


def _request_line(environ: Environ) -> int:
    """The length of the request line as sent: method, target and protocol."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:  # the path as sent, percent-encoded again
        path = environ.get("PATH_INFO", "").encode("latin-1", "replace")
        query = environ.get("QUERY_STRING", "")
        target = quote(path, safe="/;:@&=+$,!~*'()%") + ("?" + query if query else "")
    protocol = environ.get("SERVER_PROTOCOL", "")
    return len(environ["REQUEST_METHOD"]) + len(target) + len(protocol) + 2
