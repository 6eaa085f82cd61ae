"""Golden feeds: the exact bytes for the test collection. Refresh with `make golden`."""

from __future__ import annotations

from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
DOCUMENTS = ["all.rss", "all.atom", "korea.rss", "korea.atom"]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_feed_matches_its_golden_file(client, request: pytest.FixtureRequest, name: str) -> None:
    body = client.get(f"/feeds/{name}").data
    golden = GOLDEN / name
    if request.config.getoption("--update-golden"):
        GOLDEN.mkdir(exist_ok=True)
        golden.write_bytes(body)
    assert golden.exists(), f"{golden} is missing: run `make golden`"
    assert body == golden.read_bytes(), f"{name} changed: review it, then run `make golden`"


def test_output_is_byte_stable_across_restarts(settings, make_app) -> None:
    bodies = []
    for _ in range(2):
        app = make_app(settings)
        bodies.append([app.test_client().get(f"/feeds/{name}").data for name in DOCUMENTS])
        app.extensions["feeds"].close()
    assert bodies[0] == bodies[1]
