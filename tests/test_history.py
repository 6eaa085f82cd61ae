"""History (RFC 5005): a reader walks from the newest document back to the oldest article."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from conftest import BASE_URL, MARKETS, app_settings, write_article

FH = "http://purl.org/syndication/history/1.0"
ATOM = "http://www.w3.org/2005/Atom"
COUNT = 47


def write_reports(folder: Path, numbers: range) -> None:
    """Market reports ``numbers``, one a day from 2024-01-01, in a collection of the markets
    topic."""
    folder.mkdir(exist_ok=True)
    (folder / "topics.toml").write_text(MARKETS)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in numbers:
        when = (start + timedelta(days=n)).isoformat()
        write_article(folder, f"a{n:02d}_{n:016x}.txt", f"Market report {n}",
                      f"The market moved on day {n}.", "Markets were busy.", date=when)  # fmt: skip


@pytest.fixture
def history_app(make_app, tmp_path: Path):  # type: ignore[no-untyped-def]
    write_reports(tmp_path / "c", range(COUNT))
    return make_app(app_settings(tmp_path / "c", tmp_path / "i"))


def links(parsed) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {link.rel: link.href for link in parsed.feed.get("links", [])}


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.parametrize("rel", ["next", "prev-archive"])
def test_walking_back_collects_every_article(history_app, fmt: str, rel: str) -> None:
    client = history_app.test_client()
    url, seen, versions = f"{BASE_URL}/feeds/markets.{fmt}", {}, []
    while url:
        response = client.get(url.removeprefix(BASE_URL))
        assert response.status_code == 200, url
        parsed = feedparser.parse(response.data)
        assert parsed.bozo == 0
        versions.append(parsed.version)
        for entry in parsed.entries:
            assert seen.setdefault(entry.id, entry.title) == entry.title
        url = links(parsed).get(rel)
        assert len(versions) < 10, "the links loop"
    assert sorted(seen.values()) == sorted(f"Market report {n}" for n in range(COUNT))
    # The feed in its format, then the archive pages, in Atom whatever the feed's format.
    assert versions == [{"atom": "atom10", "rss": "rss20"}[fmt]] + ["atom10"] * (COUNT // 20)


def test_rss_feed_links_the_atom_archive_pages_by_their_type(history_app) -> None:
    body = history_app.test_client().get("/feeds/markets.rss").data
    channel = etree.fromstring(body).find("channel")
    found = {(link.get("rel"), link.get("href"), link.get("type"))
             for link in channel.iterfind("{http://www.w3.org/2005/Atom}link")}  # fmt: skip
    atom = "application/atom+xml"
    assert found >= {
        ("self", f"{BASE_URL}/feeds/markets.rss", "application/rss+xml"),
        ("first", f"{BASE_URL}/feeds/markets.rss", "application/rss+xml"),
        ("last", f"{BASE_URL}/feeds/markets/archive/1.atom", atom),
        ("next", f"{BASE_URL}/feeds/markets/archive/2.atom", atom),
        ("prev-archive", f"{BASE_URL}/feeds/markets/archive/2.atom", atom),
    }


def test_json_feed_names_no_next_page_it_cannot_give_in_json(history_app) -> None:
    """JSON Feed's next_url names another JSON Feed; the archive pages are Atom."""
    document = history_app.test_client().get("/feeds/markets.json").get_json(force=True)
    assert "next_url" not in document
    assert [item["title"] for item in document["items"]] == [
        f"Market report {n}" for n in range(COUNT - 1, COUNT - 21, -1)
    ]


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


def test_a_lone_archive_page_is_unmarked_until_a_second_page_comes(
    make_app, tmp_path: Path
) -> None:
    """RFC 5005 gives the only archive page neither prev-archive nor next-archive, and the W3C
    validator warns of an fh:archive page without one ("Archive incomplete")."""
    folder = tmp_path / "c"
    write_reports(folder, range(30))
    app = make_app(app_settings(folder, tmp_path / "i"))
    page = app.test_client().get("/feeds/markets/archive/1.atom")
    assert page.status_code == 200
    root = etree.fromstring(page.data)
    assert root.find(f"{{{FH}}}archive") is None
    rels = links(feedparser.parse(page.data))
    assert rels["current"] == f"{BASE_URL}/feeds/markets.atom"
    assert "prev-archive" not in rels and "next-archive" not in rels
    write_reports(folder, range(30, 40))
    assert app.extensions["feeds"].refresh()
    page = app.test_client().get("/feeds/markets/archive/1.atom")
    assert etree.fromstring(page.data).find(f"{{{FH}}}archive") is not None
    assert links(feedparser.parse(page.data))["next-archive"] == (
        f"{BASE_URL}/feeds/markets/archive/2.atom"
    )


def test_archive_items_give_their_published_date_only_when_it_is_not_the_updated_one(
    history_app, tmp_path: Path
) -> None:
    write_article(tmp_path / "c", "a03_0000000000000003.txt", "Market report 3",
                  "The market moved on day 3.", "Markets were busy.",
                  date="2024-01-04T00:00:00Z", updated="2024-03-01T00:00:00Z")  # fmt: skip
    assert history_app.extensions["feeds"].refresh()
    page = history_app.test_client().get("/feeds/markets/archive/1.atom").data
    entries = etree.fromstring(page).findall(f"{{{ATOM}}}entry")
    dated = {e.findtext(f"{{{ATOM}}}title"): e.findtext(f"{{{ATOM}}}published") for e in entries}
    assert dated.pop("Market report 3") == "2024-01-04T00:00:00+00:00"
    assert set(dated.values()) == {None}
    # A reader has the one date of each item all the same.
    parsed = feedparser.parse(page)
    assert all(entry.updated_parsed for entry in parsed.entries)
    feed = etree.fromstring(history_app.test_client().get("/feeds/markets.atom").data)
    assert all(e.find(f"{{{ATOM}}}published") is not None for e in feed.iter(f"{{{ATOM}}}entry"))


def test_rss_history_links_come_before_the_items(history_app) -> None:
    body = history_app.test_client().get("/feeds/markets.rss").data
    channel = etree.fromstring(body).find("channel")
    tags = [child.tag for child in channel]
    atom_links = [i for i, t in enumerate(tags) if t == "{http://www.w3.org/2005/Atom}link"]
    assert max(atom_links) < tags.index("item")
    assert channel.find(f"{{{FH}}}archive") is None  # the feed itself is no archive


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
    first = history_app.test_client().get("/feeds/markets/archive/2.atom")
    settings = {k.lower(): v for k, v in history_app.config["FEEDS"].__dict__.items()}
    again = make_app(settings)
    second = again.test_client().get("/feeds/markets/archive/2.atom")
    assert second.data == first.data and second.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize(
    ("path", "status"),
    [("/feeds/markets/archive/3.atom", 404), ("/feeds/markets/archive/0.atom", 404),
     ("/feeds/markets/archive/01.atom", 301), ("/feeds/markets/archive/1.xml", 404),
     ("/feeds/markets/archive/3.rss", 404), ("/feeds/markets/archive/0.json", 404)],
)  # fmt: skip
def test_archive_urls(history_app, path: str, status: int) -> None:
    assert history_app.test_client().get(path).status_code == status


@pytest.mark.parametrize("path", ["/feeds/markets/archive/2.rss", "/feeds/markets/archive/2.json",
                                  "/feeds/markets/archive/02.rss"])  # fmt: skip
def test_archive_pages_once_in_rss_and_json_move_to_atom_for_good(history_app, path: str) -> None:
    """Links to the pages of every format stay good: they lead, in one step, to the Atom page."""
    client = history_app.test_client()
    moved = client.get(path)
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"{BASE_URL}/feeds/markets/archive/2.atom"
    assert moved.cache_control.max_age >= 7 * 24 * 3600
    assert client.get(moved.headers["Location"].removeprefix(BASE_URL)).status_code == 200
