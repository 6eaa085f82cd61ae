"""The pages guide a reader: topics by region, what is covered most and lately, a topic's
coverage over time with a text equivalent, error pages with a way back."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from lxml import html

from conftest import app_settings, write_article
from feeds.models import Article
from feeds.overview import coverage

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
# (place, stories, the month of its newest): Russia most covered, Kenya the latest.
STORIES = [("Russia", 5, 3), ("France", 3, 2), ("Korea", 2, 4), ("Kenya", 1, 6)]


@pytest.fixture
def world(make_app, tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "world"
    n = 0
    for place, count, newest in STORIES:
        for k in range(count):
            n += 1
            path = write_article(folder, f"{n:016x}.txt", f"{place} news {k}",
                                 f"The government of {place} met.", f"{place} agreed.")  # fmt: skip
            moment = datetime(2025, newest - k % 2, 10 + k, tzinfo=UTC).timestamp()
            os.utime(path, (moment, moment))
    return make_app(app_settings(folder, tmp_path / "index")).test_client()


def page(client, path: str) -> html.HtmlElement:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200
    return html.fromstring(response.data)


def names(items: list[html.HtmlElement]) -> list[str]:
    return [item.xpath("string(a[1])") for item in items]


def test_home_groups_topics_by_region_with_their_countries(world) -> None:
    home = page(world, "/")
    groups = home.xpath("//section[@aria-labelledby='topics']/section[@class='group']")
    headings = [g.xpath("string(h3/a)") for g in groups]
    assert headings == ["Africa", "Asia", "Europe"]
    europe = groups[2]
    assert names(europe.xpath("ul/li")) == ["Eastern Europe", "Western Europe"]
    assert names(europe.xpath("ul/li/ul/li")) == ["Russia", "France"]
    russia = europe.xpath("ul/li/ul/li")[0]
    links = russia.xpath(".//span[@class='feeds']/a/@href")
    assert links == [f"/feeds/russia.{ext}" for ext in ("rss", "atom", "json")]


def test_home_shows_the_most_covered_and_the_most_recently_active(world) -> None:
    home = page(world, "/")
    covered = home.xpath("//section[@aria-labelledby='most-covered']//ol/li")
    assert names(covered) == ["Russia", "France", "Korea", "Kenya"]
    assert "5" in covered[0].xpath("string(span)")
    recent = home.xpath("//section[@aria-labelledby='recently-active']//ol/li")
    assert names(recent) == ["Kenya", "Korea", "Russia", "France"]
    assert recent[0].xpath("string(.//time/@datetime)").startswith("2025-06-10")
    for item in covered + recent:
        assert len(item.xpath(".//span[@class='feeds']/a")) == 3, "each with its feeds"


def test_home_says_how_feeds_overlap_and_links_the_lists_without_duplicates(world) -> None:
    note = page(world, "/").xpath("//section[@aria-labelledby='following']")[0]
    assert "up to seven times" in note.text_content()
    hrefs = note.xpath(".//a/@href")
    assert "/feeds.opml?set=countries" in hrefs
    assert "/feeds/all.atom" in hrefs
    assert "?topics=korea,russia" in note.text_content()


def test_the_topic_page_charts_its_coverage_with_a_text_equivalent(world) -> None:
    figure = page(world, "/topics/russia").xpath("//figure[@class='chart']")[0]
    svg = figure.xpath("svg")[0]
    assert svg.get("role") == "img" and "5 articles" in svg.get("aria-label")
    assert not figure.xpath(".//script") and not svg.xpath(".//text")
    bars = svg.xpath("rect[@class='bar']")
    heights = [float(b.get("height")) for b in bars]
    assert max(heights) == 100.0 and all(h > 0 for h in heights)
    caption = figure.xpath("string(figcaption)")
    assert "5 articles from 11 February 2025 to 14 March 2025" in caption
    rows = figure.xpath(".//table/tbody/tr")
    assert len(rows) == 32 == len(svg.xpath("rect")) + 27, "a row for every day, a bar if any"
    assert sum(int(r.xpath("string(td)")) for r in rows) == 5
    assert rows[0].xpath("string(th)") == "11 February 2025"


def test_coverage_picks_the_period_that_keeps_the_bars_few() -> None:
    def at(*days: date) -> tuple[Article, ...]:
        when = [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days]
        return tuple(Article(id=str(n), path="p", title="t", digest="d", published=w, updated=w)
                     for n, w in enumerate(when))  # fmt: skip

    daily = coverage(at(date(2025, 3, 1), date(2025, 3, 3), date(2025, 3, 3)))
    assert [(b.label, b.count) for b in daily] == [
        ("1 March 2025", 1), ("2 March 2025", 0), ("3 March 2025", 2)
    ]  # fmt: skip
    monthly = coverage(at(date(2024, 1, 5), date(2025, 6, 1)))
    assert len(monthly) == 18 and monthly[0].label == "January 2024"
    yearly = coverage(at(date(1990, 1, 5), date(2025, 6, 1)))
    assert len(yearly) == 36 and yearly[-1].label == "2025"
    assert coverage(()) == []


def test_errors_are_pages_for_browsers_and_text_for_feeds_and_apis(world) -> None:
    response = world.get("/topics/nowhere", headers=BROWSER)
    assert response.status_code == 404 and response.content_type.startswith("text/html")
    error = html.fromstring(response.data)
    assert "unknown topic 'nowhere'" in error.text_content()
    assert "/" in error.xpath("//main//a/@href"), "a way back"
    assert world.get("/articles/missing", headers=BROWSER).content_type.startswith("text/html")
    for path in ("/feeds/nowhere.rss", "/feeds/all.rss?limit=0", "/feeds.opml?format=x",
                 "/topics/nowhere.json", "/logo.gif"):  # fmt: skip
        plain = world.get(path, headers=BROWSER)
        assert plain.status_code in (400, 404)
        assert plain.content_type == "text/plain; charset=utf-8", path
    assert world.get("/topics/nowhere").content_type == "text/plain; charset=utf-8", "not a browser"


def test_feed_urls_wrap_only_after_their_slashes(world) -> None:
    body = world.get("/topics/russia").data.decode()
    whole = '<span class="whole">{}</span>'.format
    url = "/<wbr>".join([whole("http://feeds.test"), whole("feeds"), whole("russia.rss")])
    assert f'<code class="copy">{url}</code>' in body
    home = world.get("/").data.decode()
    assert whole("feeds.opml?topics=korea,russia") in home


def test_the_site_name_is_used_everywhere(make_app, tmp_path: Path) -> None:
    write_article(tmp_path / "c", "a.txt", "Korea talks", "Korea and Seoul.", "Korea said.")
    app = make_app(app_settings(tmp_path / "c", tmp_path / "i", title="World Desk"))
    client = app.test_client()
    assert b"<h1>World Desk</h1>" in client.get("/").data
    assert b"<title>World Desk: Korea</title>" in client.get("/feeds/korea.atom").data
