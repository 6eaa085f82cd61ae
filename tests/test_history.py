"""History (RFC 5005): a reader walks from the newest document back to the oldest article."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from conftest import BASE_URL, MARKETS, app_settings, write_article

FH = "http://purl.org/syndication/history/1.0"
COUNT = 47


@pytest.fixture
def history_app(make_app, tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "topics.toml").write_text(MARKETS)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(COUNT):
        when = (start + timedelta(days=n)).isoformat()
        write_article(folder, f"a{n:02d}_{n:016x}.txt", f"Market report {n}",
                      f"The market moved on day {n}.", "Markets were busy.", date=when)  # fmt: skip
    return make_app(app_settings(folder, tmp_path / "i"))


def links(parsed) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {link.rel: link.href for link in parsed.feed.get("links", [])}


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_walking_next_links_collects_every_article(history_app, fmt: str) -> None:
    client = history_app.test_client()
    url, seen, documents = f"{BASE_URL}/feeds/markets.{fmt}", {}, 0
    while url:
        response = client.get(url.removeprefix(BASE_URL))
        assert response.status_code == 200, url
        parsed = feedparser.parse(response.data)
        assert parsed.bozo == 0
        for entry in parsed.entries:
            assert seen.setdefault(entry.id, entry.title) == entry.title
        url = links(parsed).get("next")
        documents += 1
        assert documents < 10, "the next links loop"
    assert sorted(seen.values()) == sorted(f"Market report {n}" for n in range(COUNT))
    assert documents == 1 + COUNT // 20


def test_json_feed_next_url_walks_the_same_way(history_app) -> None:
    client = history_app.test_client()
    url, titles = f"{BASE_URL}/feeds/markets.json", set()
    while url:
        document = client.get(url.removeprefix(BASE_URL)).get_json(force=True)
        titles |= {item["title"] for item in document["items"]}
        url = document.get("next_url")
    assert len(titles) == COUNT


def test_archive_documents_are_marked_and_linked(history_app) -> None:
    client = history_app.test_client()
    response = client.get("/feeds/markets/archive/1.atom")
    root = etree.fromstring(response.data)
    assert root.find(f"{{{FH}}}archive") is not None
    parsed = feedparser.parse(response.data)
    assert [e.title for e in parsed.entries] == [f"Market report {n}" for n in range(19, -1, -1)]
    rels = links(parsed)
    assert rels["current"] == f"{BASE_URL}/feeds/markets.atom"
    assert rels["next-archive"] == f"{BASE_URL}/feeds/markets/archive/2.atom"
    assert "prev-archive" not in rels
    assert rels["self"] == f"{BASE_URL}/feeds/markets/archive/1.atom"
    newest = links(feedparser.parse(client.get("/feeds/markets.atom").data))
    assert newest["prev-archive"] == f"{BASE_URL}/feeds/markets/archive/2.atom"
    assert response.cache_control.max_age >= 7 * 24 * 3600


def test_rss_history_links_come_before_the_items(history_app) -> None:
    body = history_app.test_client().get("/feeds/markets/archive/2.rss").data
    channel = etree.fromstring(body).find("channel")
    tags = [child.tag for child in channel]
    atom_links = [i for i, t in enumerate(tags) if t == "{http://www.w3.org/2005/Atom}link"]
    assert max(atom_links) < tags.index("item")
    assert channel.find(f"{{{FH}}}archive") is not None


def test_archive_pages_keep_their_bytes_when_articles_are_added(history_app, tmp_path) -> None:
    client = history_app.test_client()
    before = client.get("/feeds/markets/archive/1.atom")
    write_article(tmp_path / "c", "new.txt", "Market report new", "The market rose.",
                  date="2025-01-01T00:00:00Z")  # fmt: skip
    assert history_app.extensions["feeds"].refresh()
    after = client.get("/feeds/markets/archive/1.atom")
    assert after.data == before.data
    assert after.headers["ETag"] == before.headers["ETag"]
    assert client.get("/feeds/markets.atom").headers["ETag"] != before.headers["ETag"]


def test_archive_pages_are_byte_stable_across_restarts(history_app, make_app) -> None:
    first = history_app.test_client().get("/feeds/markets/archive/2.rss")
    settings = {k.lower(): v for k, v in history_app.config["FEEDS"].__dict__.items()}
    again = make_app(settings)
    second = again.test_client().get("/feeds/markets/archive/2.rss")
    assert second.data == first.data and second.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize(
    ("path", "status"),
    [("/feeds/markets/archive/3.atom", 404), ("/feeds/markets/archive/0.atom", 404),
     ("/feeds/markets/archive/01.atom", 301), ("/feeds/markets/archive/1.xml", 404)],
)  # fmt: skip
def test_archive_urls(history_app, path: str, status: int) -> None:
    assert history_app.test_client().get(path).status_code == status
