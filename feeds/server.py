"""Running the app under a production WSGI server, configured from the same settings.

Two servers are supported. granian (the default) parses HTTP in Rust and only
calls into Python for the application, which with the in-memory fast path
(:mod:`feeds.fastpath`) serves several times more requests per core than a
pure-Python server. gunicorn is the classic alternative. Each worker process
builds its own index from the shared persistent index and follows the
collection on its own, so workers and replicas need no coordination.

One server per port: before starting, the port is bound once without
``SO_REUSEPORT``, which fails while any other process listens there (granian's
workers share a port through that option, so without this check a second server
would silently share the first one's requests). Workers end when the main process
does, so none is left holding the port.
"""

from __future__ import annotations

import errno
import logging
import os
import resource
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from .config import Config

PARENT_POLL_SECONDS = 0.5
MAX_REQUEST_LINE = 8190  # gunicorn's largest limit; longer request lines answer 414
# Connections a granian worker holds at once. Clients that open connections and send their
# headers slowly, or never, each hold one: past granian's default of 1,024 every other
# client waited. Each costs about 20 KiB while held, and at most HEADER_SECONDS.
CONNECTIONS = 8192
HEADER_SECONDS = 10  # to send a request's headers; a reader's client sends them at once

log = logging.getLogger(__name__)


class PortTaken(OSError):
    """Another process listens on the address and port ``feeds serve`` was given."""


def app_from_environment() -> Any:
    """The WSGI app, configured from ``FEEDS_*`` variables: what each worker process loads."""
    from . import create_app

    exit_with_parent(os.getppid())
    return create_app()


def exit_with_parent(parent: int) -> None:
    """End this worker process when its main process is gone, whatever killed it."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        log.warning("worker %d: the main process %d is gone; exiting", os.getpid(), parent)
        os._exit(1)

    threading.Thread(target=watch, name="feeds-parent", daemon=True).start()


def check_port(host: str, port: int) -> None:
    """Raise :class:`PortTaken` if another process listens on ``host:port``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise PortTaken(f"cannot listen on {host}:{port}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortTaken(
                    f"port {port} on {host} is already in use (another feeds serve?); "
                    "stop it or choose another --port"
                ) from None
            raise PortTaken(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve(config: Config) -> None:
    check_port(config.host, config.port)
    os.environ.update(config.environ())  # worker processes inherit it and load the same settings
    SERVERS[config.server](config)


def open_files() -> int:
    """Raise this process's limit of open files to its hard limit (systemd starts services
    at 1,024) and return it: every connection held is one."""
    unlimited = resource.RLIM_INFINITY
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = (1 << 20) if hard == unlimited else hard  # the kernel's own bound, nr_open
    if soft != unlimited and soft < wanted:
        with suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return wanted if soft == unlimited else soft


def _granian(config: Config) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    # Files beside the connections: the index, the collection's files, the log, a reserve.
    connections = max(64, min(CONNECTIONS, open_files() - 256))
    Granian(
        "feeds.server:app_from_environment",
        factory=True,
        address=config.host,
        port=config.port,
        interface=Interfaces.WSGI,
        workers=config.workers,
        blocking_threads=config.threads,
        http=HTTPModes.http1,
        websockets=False,  # WSGI has none; left on, granian says so at every start
        log_access=config.access_log,
        backpressure=connections,
        http1_settings=HTTP1Settings(header_read_timeout=HEADER_SECONDS * 1000),
    ).serve()


def _plain_error(sock: Any, status: int, reason: str, message: str) -> None:
    """gunicorn's answer to a request it refuses itself (414, malformed requests), as short
    plain text with nosniff, like every answer of the app."""
    from gunicorn import util

    body = f"{status} {reason}: {message}\n".encode("latin-1", "replace")
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
    util.write_nonblock(sock, head.encode("latin-1") + body)


def _gunicorn(config: Config) -> None:
    from gunicorn import util
    from gunicorn.app.base import BaseApplication

    util.write_error = _plain_error  # its workers answer refused requests through this

    class FeedsServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
        def load_config(self) -> None:
            settings = {
                "bind": f"{config.host}:{config.port}",
                "workers": config.workers,
                "worker_class": "gthread",
                "threads": config.threads,
                "accesslog": "-" if config.access_log else None,
                "timeout": 60,
                "graceful_timeout": 10,
                "keepalive": 5,
                "limit_request_line": MAX_REQUEST_LINE,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app_from_environment()

    FeedsServer().run()


# The servers `feeds serve` runs, by the name FEEDS_SERVER and --server give.
SERVERS: dict[str, Callable[[Config], None]] = {"granian": _granian, "gunicorn": _gunicorn}
