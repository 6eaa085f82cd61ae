"""Running the app under gunicorn, configured from the same settings."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from .config import Config


class FeedsServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn with the feeds app, each worker building its own index."""

    def __init__(self, config: Config) -> None:
        self.feeds_config = config
        super().__init__()

    def load_config(self) -> None:
        settings = {
            "bind": f"{self.feeds_config.host}:{self.feeds_config.port}",
            "workers": self.feeds_config.workers,
            "worker_class": "gthread",
            "threads": 4,
            "accesslog": "-",
            "timeout": 60,
            "graceful_timeout": 10,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from . import create_app

        return create_app(self.feeds_config.__dict__)


def serve(config: Config) -> None:
    FeedsServer(config).run()
