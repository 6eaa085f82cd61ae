"""feeds: a folder of plain-text news articles published as per-topic feeds."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .version import __version__

__all__ = ["__version__", "create_app"]


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    watch: bool = True,
    resume: bool | None = None,
    notify: bool = True,
) -> Any:
    """Build the Flask app: settings, then the index of the collection, then the routes.

    ``resume`` starts from the snapshot the last run kept (by default when watching, whose
    first step brings it up to date; otherwise call ``catch_up`` on the index). Without
    ``notify``, changes to the index tell no hub or cache (``feeds build`` pings itself)."""
    from flask import Flask

    from .config import Config
    from .fastpath import FastPath
    from .index.live import LiveIndex
    from .web import bp

    settings = Config.load(config)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = Flask(__name__)
    app.config["FEEDS"] = settings
    if resume is None:
        resume = watch and settings.reload_interval > 0
    live = LiveIndex(settings, fast_start=resume)
    app.extensions["feeds"] = live
    if notify and (settings.hubs or settings.purges):
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
