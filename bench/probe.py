"""HTTP requests to the servers under test, on 127.0.0.1."""

from __future__ import annotations

import http.client
import re
import socket
import time
from dataclasses import dataclass

from processes import Server

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 30) -> Reply:
    """One GET on a fresh connection to 127.0.0.1:port."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
        return Reply(response.status, found, body, time.monotonic() - started)
    finally:
        conn.close()


def wait_for_200(
    server: Server, port: int, path: str, deadline: float, interval: float = 0.02
) -> tuple[float | None, str]:
    """Seconds from the server's start until ``path`` answers 200, or None and the reason."""
    while time.monotonic() < deadline:
        if not server.alive():
            return None, f"server exited with status {server.proc.returncode}"
        try:
            reply = get(port, path, timeout=max(0.1, deadline - time.monotonic()))
            if reply.status == 200:
                return time.monotonic() - server.started, "ok"
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(interval)
    return None, "timeout"


def feed_links(html: bytes) -> list[str]:
    """The topic slugs a page links feeds for, in page order (``all`` left out)."""
    slugs = re.findall(rb"/feeds/([a-z0-9][a-z0-9-]*)\.rss\b", html)
    return [s for s in dict.fromkeys(x.decode() for x in slugs) if s != "all"]
