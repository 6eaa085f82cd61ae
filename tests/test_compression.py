"""Compression: gzip when accepted, one strong validator per representation, 304 per encoding."""

from __future__ import annotations

import gzip

import pytest

from feeds.compose import GZIP_MIN_BYTES

PATHS = ["/feeds/all.rss", "/feeds/all.atom", "/feeds/all.json", "/", "/feeds.opml"]


@pytest.mark.parametrize("path", PATHS)
def test_gzip_when_the_client_accepts_it(client, path: str) -> None:
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    packed = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(packed.data) == plain.data
    assert (
        "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    )
    assert packed.headers["ETag"] != plain.headers["ETag"]
    assert not packed.get_etag()[1] and not plain.get_etag()[1], "both validators are strong"


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_304_per_encoding(client, encoding: str) -> None:
    first = client.get("/feeds/all.rss", headers={"Accept-Encoding": encoding})
    again = client.get(
        "/feeds/all.rss",
        headers={"Accept-Encoding": encoding, "If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304 and again.data == b""


def test_gzip_refused_with_q_zero(client) -> None:
    response = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in response.headers


def test_small_responses_are_not_compressed(client) -> None:
    # Korea but not Korea: a feed without items, well under the size worth compressing.
    response = client.get("/feeds/korea~korea.json", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and len(response.data) < GZIP_MIN_BYTES
    assert "Content-Encoding" not in response.headers


def test_compressed_bytes_are_made_once_per_snapshot(client, monkeypatch) -> None:
    import feeds.compose

    calls = []
    real = feeds.compose.gzip.compress
    monkeypatch.setattr(
        feeds.compose.gzip, "compress", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    first = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip"})
    for _ in range(5):
        again = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip"})
        assert again.data == first.data
    client.get("/feeds/all.rss", headers={"Accept-Encoding": "identity"})
    assert len(calls) == 1


def test_gzip_bytes_are_deterministic(settings, make_app) -> None:
    bodies = []
    for _ in range(2):
        app = make_app(settings)
        bodies.append(
            app.test_client().get("/feeds/all.atom", headers={"Accept-Encoding": "gzip"}).data
        )
        app.extensions["feeds"].close()
    assert bodies[0] == bodies[1]
