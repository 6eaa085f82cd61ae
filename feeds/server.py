"""Running the app under a production WSGI server, configured from the same settings.

Two servers are supported. granian (the default) parses HTTP in Rust and only
calls into Python for the application, which with the in-memory fast path
(:mod:`feeds.fastpath`) serves several times more requests per core than a
pure-Python server. gunicorn is the classic alternative. Each worker process
builds its own index from the shared persistent index and follows the
collection on its own, so workers and replicas need no coordination.
"""

from __future__ import annotations

import os
from typing import Any

from .config import Config

SERVERS = ("granian", "gunicorn")


def app_from_environment() -> Any:
    """The WSGI app, configured from ``FEEDS_*`` variables: what each worker process loads."""
    from . import create_app

    return create_app()


def _export(config: Config) -> None:
    """Hand the settings to worker processes through the environment they inherit."""
    for name, value in config.__dict__.items():
        os.environ["FEEDS_" + name.upper()] = str(int(value) if isinstance(value, bool) else value)


def serve(config: Config) -> None:
    _export(config)
    if config.server == "gunicorn":
        _gunicorn(config)
    else:
        _granian(config)


def _granian(config: Config) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

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
    ).serve()


def _gunicorn(config: Config) -> None:
    from gunicorn.app.base import BaseApplication

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
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app_from_environment()

    FeedsServer().run()
