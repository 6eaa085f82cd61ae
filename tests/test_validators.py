"""Validators never lie: Last-Modified never goes back, archive pages keep their bytes.

Readers that send only If-Modified-Since must see every change, removals included; an
archive page (served as unchanging for a week) changes only when an article it holds goes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from werkzeug.http import parse_date

from conftest import BASE_URL, MARKETS, app_settings, write_article

COUNT = 70  # markets: 3 archive pages and a feed
URLS = ["/feeds/japan.rss", "/feeds/all.atom", "/feeds/japan.json?limit=5", "/topics/japan",
        "/", "/topics.json", "/feeds.opml", "/feeds/japan,korea.rss"]  # fmt: skip


@pytest.fixture
def open_app(make_app):  # type: ignore[no-untyped-def]
    """``open_app(settings)``: the app and its live index, closed at the end of the test."""

    def open_(settings: dict[str, object]):  # type: ignore[no-untyped-def]
        app = make_app(settings)
        return app, app.extensions["feeds"]

    return open_


def modified(response) -> datetime:  # type: ignore[no-untyped-def]
    moment = parse_date(response.headers["Last-Modified"])
    assert moment is not None
    return moment


@pytest.mark.parametrize("url", URLS)
def test_a_removal_never_moves_last_modified_back(
    open_app, settings, collection: Path, url: str
) -> None:
    newest = write_article(collection, "newest.txt", "Tokyo newest story", "About Japan.",
                           date="2025-06-01T00:00:00Z")  # fmt: skip
    app, live = open_app(settings)
    client = app.test_client()
    seen = client.get(url)
    assert seen.status_code == 200
    newest.unlink()
    assert live.refresh()
    again = client.get(url, headers={"If-Modified-Since": seen.headers["Last-Modified"]})
    assert again.status_code == 200, "a reader that sends only If-Modified-Since kept it"
    assert modified(again) > modified(seen)
    assert b"Tokyo newest story" not in again.data
    stored = client.get(url, headers={"If-Modified-Since": seen.headers["Last-Modified"]})
    assert stored.status_code == 200  # from the stored answer too
    current = again.headers["Last-Modified"]
    assert client.get(url, headers={"If-Modified-Since": current}).status_code == 304
    live.close()
    app, live = open_app(settings)  # the removal keeps its date across a restart
    assert app.test_client().get(url).headers["Last-Modified"] == current


def test_an_old_article_added_moves_last_modified(open_app, settings, collection: Path) -> None:
    app, live = open_app(settings)
    client = app.test_client()
    seen = client.get("/feeds/japan.rss")
    write_article(collection, "old.txt", "Tokyo story from long ago", "About Japan.",
                  date="2001-01-01T00:00:00Z")  # fmt: skip
    assert live.refresh()
    again = client.get(
        "/feeds/japan.rss", headers={"If-Modified-Since": seen.headers["Last-Modified"]}
    )
    assert again.status_code == 200 and again.data != seen.data
    assert modified(again) > modified(seen)


def test_two_changes_in_one_second_have_two_dates(open_app, settings, collection: Path) -> None:
    app, live = open_app(settings)
    client = app.test_client()
    write_article(collection, "a.txt", "Tokyo first", "About Japan.", date="2020-01-01")
    live.refresh()
    first = client.get("/feeds/japan.rss")
    write_article(collection, "b.txt", "Tokyo second", "About Japan.", date="2020-01-02")
    live.refresh()
    second = client.get(
        "/feeds/japan.rss", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert second.status_code == 200 and b"Tokyo second" in second.data


@pytest.fixture
def market_settings(tmp_path: Path) -> dict[str, object]:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "topics.toml").write_text(MARKETS)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(COUNT):
        where = "Tokyo and Japan" if n % 2 else "Seoul and South Korea"
        write_article(folder, f"a{n:02d}_{n:016x}.txt", f"Market report {n}",
                      f"The market moved on day {n} in {where}.", "Markets were busy.",
                      date=(start + timedelta(days=n)).isoformat())  # fmt: skip
    return app_settings(folder, tmp_path / "i")


def archive(client, topic: str) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """Every archive page of a topic, by URL, followed from the feed."""
    pages = {}
    url = feedparser.parse(client.get(f"/feeds/{topic}.atom").data).feed.get("links", [])
    older = [link.href for link in url if link.rel == "prev-archive"]
    while older:
        path = older[0].removeprefix(BASE_URL)
        response = client.get(path)
        assert response.status_code == 200, path
        pages[path] = response.data
        links = feedparser.parse(response.data).feed.get("links", [])
        older = [link.href for link in links if link.rel == "prev-archive"]
    return pages


def test_a_removal_changes_only_the_archive_page_that_held_it(open_app, market_settings) -> None:
    app, live = open_app(market_settings)
    folder = Path(str(market_settings["collection"]))
    client = app.test_client()
    before = {topic: archive(client, topic) for topic in ("markets", "japan", "south-korea")}
    assert len(before["markets"]) == 3 and len(before["japan"]) == 1
    (folder / f"a03_{3:016x}.txt").unlink()  # page 1 of markets and of japan
    (folder / f"a50_{50:016x}.txt").unlink()  # page 3 of markets; south-korea's newest
    live.refresh()
    after = {topic: archive(client, topic) for topic in before}
    for topic in before:
        assert after[topic].keys() == before[topic].keys(), f"{topic}: pages went or came"
    changed = {url for topic in before for url in before[topic]
               if before[topic][url] != after[topic][url]}  # fmt: skip
    assert changed == {"/feeds/markets/archive/1.atom", "/feeds/markets/archive/3.atom",
                       "/feeds/japan/archive/1.atom"}  # fmt: skip
    assert b"Market report 3<" not in after["markets"]["/feeds/markets/archive/1.atom"]
    # South Korea's page did not hold either, so even a removal in its feed leaves it.
    assert after["south-korea"] == before["south-korea"]
    live.close()
    app, live = open_app(market_settings)  # and the pages keep their bytes across a restart
    client = app.test_client()
    assert {topic: archive(client, topic) for topic in before} == after


def test_an_emptied_archive_page_stays(open_app, market_settings) -> None:
    app, live = open_app(market_settings)
    folder = Path(str(market_settings["collection"]))
    client = app.test_client()
    for n in range(20):  # every article of markets' first page
        (folder / f"a{n:02d}_{n:016x}.txt").unlink()
    live.refresh()
    page = client.get("/feeds/markets/archive/1.atom")
    assert page.status_code == 200
    assert feedparser.parse(page.data).entries == []
    assert client.get("/feeds/markets/archive/3.atom").status_code == 200


def test_a_removal_while_no_server_ran_is_dated_at_the_next_start(
    open_app, settings, collection: Path
) -> None:
    newest = write_article(collection, "newest.txt", "Tokyo newest story", "About Japan.",
                           date="2025-06-01T00:00:00Z")  # fmt: skip
    app, live = open_app(settings)
    seen = app.test_client().get("/feeds/japan.rss")
    live.close()
    newest.unlink()
    app, live = open_app(settings)  # no snapshot to resume: rebuilt from the index
    again = app.test_client().get(
        "/feeds/japan.rss", headers={"If-Modified-Since": seen.headers["Last-Modified"]}
    )
    assert again.status_code == 200 and modified(again) > modified(seen)


def test_archive_pages_survive_a_removal_while_no_server_ran(open_app, market_settings) -> None:
    app, live = open_app(market_settings)
    before = archive(app.test_client(), "markets")
    live.close()
    folder = Path(str(market_settings["collection"]))
    (folder / f"a03_{3:016x}.txt").unlink()
    app, live = open_app(market_settings)
    after = archive(app.test_client(), "markets")
    assert after.keys() == before.keys()
    assert [url for url in before if before[url] != after[url]] == ["/feeds/markets/archive/1.atom"]


def test_a_renamed_topic_moves_last_modified(open_app, settings, collection: Path) -> None:
    app, live = open_app(settings)
    client = app.test_client()
    seen = client.get("/feeds/japan.rss")
    (collection / "topics.toml").write_text('[topics.japan]\nname = "Nippon"\n')
    assert live.refresh()
    again = client.get(
        "/feeds/japan.rss", headers={"If-Modified-Since": seen.headers["Last-Modified"]}
    )
    assert again.status_code == 200 and b"Nippon" in again.data
