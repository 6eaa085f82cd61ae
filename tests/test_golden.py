"""Golden feeds: the exact bytes for the test collection. Refresh with `make golden`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from servers import collection_with_archives

from conftest import app_settings

GOLDEN = Path(__file__).parent / "golden"
DOCUMENTS = ["all.rss", "all.atom", "all.json", "korea.rss", "korea.atom", "korea.json"]
# RFC 5005 archive pages, of the test collection with enough Korea articles to fill two, and
# the feeds that lead to them: RSS links the Atom pages, JSON Feed has no next page.
ARCHIVES = {
    "korea-archive-1.atom": "korea/archive/1.atom",
    "korea-archive-2.atom": "korea/archive/2.atom",
    "korea-with-archives.rss": "korea.rss",
    "korea-with-archives.json": "korea.json",
}


def matches_golden(request: pytest.FixtureRequest, name: str, body: bytes) -> None:
    golden = GOLDEN / name
    if request.config.getoption("--update-golden"):
        GOLDEN.mkdir(exist_ok=True)
        golden.write_bytes(body)
    assert golden.exists(), f"{golden} is missing: run `make golden`"
    assert body == golden.read_bytes(), f"{name} changed: review it, then run `make golden`"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_feed_matches_its_golden_file(client, request: pytest.FixtureRequest, name: str) -> None:
    matches_golden(request, name, client.get(f"/feeds/{name}").data)


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from feeds import create_app

    root = tmp_path_factory.mktemp("archives")
    collection = collection_with_archives(root / "collection")
    app = create_app(app_settings(collection, root / "index"), watch=False)
    yield app.test_client()
    app.extensions["feeds"].close()


@pytest.mark.parametrize("name", ARCHIVES)
def test_archive_page_matches_its_golden_file(
    archived, request: pytest.FixtureRequest, name: str
) -> None:
    reply = archived.get(f"/feeds/{ARCHIVES[name]}")
    assert reply.status_code == 200
    matches_golden(request, name, reply.data)


def test_output_is_byte_stable_across_restarts(settings, make_app: Callable[..., Any]) -> None:
    bodies = []
    for _ in range(2):
        app = make_app(settings)
        bodies.append([app.test_client().get(f"/feeds/{name}").data for name in DOCUMENTS])
        app.extensions["feeds"].close()
    assert bodies[0] == bodies[1]
