"""feeds: a folder of plain-text news articles published as per-topic feeds."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None, *, watch: bool = True) -> Any:
    """Build the Flask app: settings, then the index of the collection, then the routes."""
    from flask import Flask

    from .config import Config
    from .fastpath import FastPath
    from .live import LiveIndex
    from .web import bp

    settings = Config.load(config)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = Flask(__name__)
    app.config["FEEDS"] = settings
    live = LiveIndex(settings, fast_start=watch and settings.reload_interval > 0)
    app.extensions["feeds"] = live
    if settings.hubs or settings.purges:
        from .push import Notifier

        notifier = Notifier(settings, lock=settings.index_path / "push.lock")
        live.on_change = notifier.snapshot_changed
        app.extensions["feeds-push"] = notifier
        if watch and not live.resumed:
            notifier.purge_everything()  # copies cached before the start may all be stale
    if watch:
        live.start()
    app.register_blueprint(bp)
    app.wsgi_app = FastPath(  # type: ignore[method-assign]
        app.wsgi_app, lambda: live.snapshot, settings.cache_bytes
    )
    return app
