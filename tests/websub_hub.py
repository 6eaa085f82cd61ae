"""A WebSub hub on 127.0.0.1 for the tests: the hub of flask-websub, as installed from PyPI.

``python tests/websub_hub.py PORT DATABASE [--refuse]``. Its Celery tasks (verifying a
subscriber's intent, fetching a topic, distributing it) run eagerly, inside the request that
starts them, so the hub needs no broker. With ``--refuse`` it does not take publish pings and
answers them 400, as hubs that are not told of updates do.
"""

from __future__ import annotations

import sys

from celery import Celery
from flask import Flask
from flask_websub.hub import Hub, SQLite3HubStorage


def make_app(database: str, refuse: bool) -> Flask:
    app = Flask(__name__)
    app.config["PUBLISH_SUPPORTED"] = not refuse
    app.config["HUB_MIN_LEASE_SECONDS"] = 10
    celery = Celery("hub")
    celery.conf.task_always_eager = True
    hub = Hub(SQLite3HubStorage(database), celery, BACKOFF_BASE=0.1, MAX_ATTEMPTS=3)
    app.register_blueprint(hub.build_blueprint(url_prefix="/hub"))
    return app


if __name__ == "__main__":
    port, database = int(sys.argv[1]), sys.argv[2]
    make_app(database, "--refuse" in sys.argv).run("127.0.0.1", port, threaded=True)
