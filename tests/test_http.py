"""HTTP behaviour: media types, validators, conditional GET, HEAD, caching and errors."""

from __future__ import annotations

import re

import pytest

from conftest import BASE_URL

PATHS = ["/feeds/korea.rss", "/feeds/korea.atom", "/feeds/all.rss", "/", "/topics/korea"]


@pytest.mark.parametrize("path", PATHS)
def test_strong_etag_last_modified_and_max_age(client, path: str) -> None:
    response = client.get(path)
    etag, weak = response.get_etag()
    assert etag and not weak
    assert response.last_modified is not None
    assert response.cache_control.max_age == 300
    assert response.cache_control.public


@pytest.mark.parametrize("path", PATHS)
def test_if_none_match_answers_304_with_an_empty_body(client, path: str) -> None:
    first = client.get(path)
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_if_modified_since_answers_304(client) -> None:
    first = client.get("/feeds/korea.rss")
    again = client.get(
        "/feeds/korea.rss", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert again.status_code == 304 and again.data == b""
    older = client.get(
        "/feeds/korea.rss", headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}
    )
    assert older.status_code == 200


def test_stale_etag_gets_the_full_feed(client) -> None:
    response = client.get("/feeds/korea.rss", headers={"If-None-Match": '"stale"'})
    assert response.status_code == 200 and response.data


def test_last_modified_is_the_feeds_newest_change(client) -> None:
    response = client.get("/feeds/korea.rss")
    assert response.headers["Last-Modified"] == "Fri, 21 Mar 2025 09:30:00 GMT"


def test_topics_have_their_own_validators(client) -> None:
    assert (
        client.get("/feeds/korea.rss").headers["ETag"]
        != client.get("/feeds/japan.rss").headers["ETag"]
    )


def test_head_has_headers_and_no_body(client) -> None:
    get = client.get("/feeds/korea.atom")
    head = client.head("/feeds/korea.atom")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(get.data))


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/feeds/atlantis.rss", 404, "unknown topic 'atlantis'"),
        ("/feeds/korea.xml", 404, "feeds end in .rss, .atom"),
        ("/feeds/korea", 404, "feeds end in"),
        ("/feeds/Korea!.rss", 404, "not a topic slug"),
        ("/articles/nope", 404, "no article"),
        ("/topics/atlantis", 404, "unknown topic"),
        ("/feeds/korea.rss?limit=0", 400, "limit must be a whole number from 1 to 100"),
        ("/feeds/korea.rss?limit=101", 400, "from 1 to 100"),
        ("/feeds/korea.rss?limit=ten", 400, "from 1 to 100"),
        ("/feeds/korea.rss?limit=-3", 400, "from 1 to 100"),
        ("/nowhere", 404, "Not Found"),
    ],
    ids=lambda v: str(v),
)
def test_errors_are_short_and_helpful(client, path: str, status: int, says: str) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.content_type == "text/plain; charset=utf-8"
    assert says in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_post_is_not_allowed(client) -> None:
    response = client.post("/feeds/korea.rss")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/feeds/korea.rss?limit=20", "/feeds/korea.rss"),
        ("/feeds/korea.rss?limit=05", "/feeds/korea.rss?limit=5"),
    ],
)
def test_non_canonical_urls_redirect(client, path: str, location: str) -> None:
    response = client.get(path)
    assert response.status_code == 301
    assert response.headers["Location"] == BASE_URL + location


def test_links_come_from_the_configured_base_url_not_the_host_header(client) -> None:
    body = client.get("/feeds/korea.rss", headers={"Host": "evil.example"}).data
    assert b"evil.example" not in body
    assert BASE_URL.encode() in body


def test_pages_list_topics_and_articles(client) -> None:
    index = client.get("/").get_data(as_text=True)
    assert '<link rel="alternate" type="application/rss+xml"' in index
    assert f'href="{BASE_URL}/feeds/all.atom"' in index
    assert 'href="/topics/korea">Korea</a>' in index
    topic = client.get("/topics/korea").get_data(as_text=True)
    assert "North Korea Conducts Anti-Aircraft Missile Test" in topic
    assert f'href="{BASE_URL}/feeds/korea.rss"' in topic
    article = client.get("/articles/73bcabc292162f38").get_data(as_text=True)
    assert "Kim Jong Un was reportedly present" in article
    assert "<script>" not in client.get("/articles/markup-test").get_data(as_text=True)


@pytest.mark.parametrize("base", [BASE_URL, BASE_URL + "/news"], ids=["root", "folder"])
def test_pages_link_to_each_other_from_the_site_root(settings, make_app, base) -> None:
    """Links between pages leave out the scheme and host (any host serving the export
    serves the same bytes); feed autodiscovery and addresses to copy stay absolute."""
    root = base.removeprefix(BASE_URL)
    client = make_app({**settings, "base_url": base}).test_client()
    for url in ("/", "/topics/korea", "/articles/73bcabc292162f38"):
        page = client.get(url).get_data(as_text=True)
        hrefs = re.findall(r'(?:href|src|action)="([^"#]*)"', page)
        site = [h for h in hrefs if not h.startswith(("https://", "http://"))]
        assert site and all(h.startswith(root + "/") for h in site), (url, site)
        assert f'rel="stylesheet" href="{root}/style.css"' in page
        alternates = re.findall(r'<link rel="alternate" [^>]*href="([^"]*)"', page)
        assert alternates and all(h.startswith(base + "/feeds/") for h in alternates)
    topic = client.get("/topics/korea").get_data(as_text=True)
    copies = [
        re.sub("<[^>]+>", "", c) for c in re.findall(r'<code class="copy">(.*?)</code>', topic)
    ]
    assert copies and all(c.startswith(base + "/feeds/korea.") for c in copies)


def test_article_page_says_why_it_is_in_its_topics(client) -> None:
    page = client.get("/articles/73bcabc292162f38").get_data(as_text=True)
    why = page.split('<h2 id="topics">Topics</h2>')[1]
    north = why.split('href="/topics/north-korea">North Korea</a>')[1]
    feeds, details = north.split("<details>")[0], north.split("</details>")[0]
    assert 'href="/feeds/north-korea.rss" aria-label="North Korea (RSS 2.0)"' in feeds
    assert 'href="/feeds/north-korea.atom"' in feeds
    assert "<summary>Why</summary>" in details
    assert "<p>Score 23.46 reaches the threshold 3.5.</p>" in details
    assert "<li>named in the title, the summary and 14 sentences of the story</li>" in details
    assert "<li>the subject of the summary and 4 sentences</li>" in details
    assert "<li>North Korea: title 1, summary 2, lead 1, body 4</li>" in details
    grain = client.get("/articles/5a1e0c2b9d4f7e31").get_data(as_text=True)
    japan = grain.split('href="/topics/japan">Japan</a>')[1].split("</details>")[0]
    assert "<p>Set by the editor.</p>" in japan
