"""Every feed against the publisher's checklist, read by feedparser and a strict XML parser."""

from __future__ import annotations

import html
import re
from email.utils import parsedate_to_datetime

import feedparser
import pytest
from lxml import etree

from conftest import BASE_URL, app_settings, write_article

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
FEEDS = ["all", "korea", "north-korea", "russia", "japan", "china"]
RFC822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (\+0000|GMT)$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def fetch(client, path):  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, response.data
    return response


def strict(body: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    return etree.fromstring(body, parser)


@pytest.mark.parametrize("topic", FEEDS)
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feedparser_reads_every_feed_cleanly(client, topic: str, fmt: str) -> None:
    body = fetch(client, f"/feeds/{topic}.{fmt}").data
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == ("rss20" if fmt == "rss" else "atom10")
    assert parsed.entries, f"{topic} has no entries"
    ids = [e.id for e in parsed.entries]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("urn:uuid:") for i in ids)


@pytest.mark.parametrize("topic", FEEDS)
def test_rss_meets_the_checklist(client, topic: str) -> None:
    url = f"/feeds/{topic}.rss"
    response = fetch(client, url)
    assert response.content_type == "application/rss+xml; charset=utf-8"
    channel = strict(response.data).find("channel")
    self_links = channel.findall(f"{ATOM}link[@rel='self']")
    assert [(a.get("href"), a.get("type")) for a in self_links] == [
        (BASE_URL + url, "application/rss+xml")
    ]
    page = "/" if topic == "all" else f"/topics/{topic}"
    assert channel.findtext("link") == BASE_URL + page
    assert RFC822.match(channel.findtext("lastBuildDate"))
    newest = None
    for item in channel.findall("item"):
        guid = item.find("guid")
        assert guid.get("isPermaLink") == "false"
        assert RFC822.match(item.findtext("pubDate"))
        published = parsedate_to_datetime(item.findtext("pubDate"))
        assert newest is None or published <= newest, "items must be newest first"
        newest = published
        tags = [child.tag for child in item]
        assert tags.index("description") < tags.index(CONTENT)
        assert "<" not in item.findtext("title") or "&lt;" not in item.findtext("title")
        assert item.find("source").get("url").startswith("https://")
        assert item.findtext("link").startswith(BASE_URL + "/articles/")


@pytest.mark.parametrize("topic", FEEDS)
def test_atom_meets_the_checklist(client, topic: str) -> None:
    url = f"/feeds/{topic}.atom"
    response = fetch(client, url)
    assert response.content_type == "application/atom+xml; charset=utf-8"
    feed = strict(response.data)
    links = {(a.get("rel"), a.get("type")): a.get("href") for a in feed.findall(f"{ATOM}link")}
    assert links[("self", "application/atom+xml")] == BASE_URL + url
    page = "/" if topic == "all" else f"/topics/{topic}"
    assert links[("alternate", "text/html")] == BASE_URL + page
    assert feed.findtext(f"{ATOM}id").startswith("urn:uuid:")
    assert feed.find(f"{ATOM}author/{ATOM}name").text
    assert RFC3339.match(feed.findtext(f"{ATOM}updated"))
    for entry in feed.findall(f"{ATOM}entry"):
        assert RFC3339.match(entry.findtext(f"{ATOM}updated"))
        assert RFC3339.match(entry.findtext(f"{ATOM}published"))
        assert entry.find(f"{ATOM}summary").get("type") in ("text", "html")
        assert entry.find(f"{ATOM}content").get("type") == "html"


def test_feed_updated_is_its_own_newest_change_not_the_clock(client) -> None:
    korea = feedparser.parse(fetch(client, "/feeds/korea.atom").data)
    japan = feedparser.parse(fetch(client, "/feeds/japan.atom").data)
    assert korea.feed.updated == "2025-03-21T09:30:00+00:00"
    assert japan.feed.updated == "2025-03-22T12:00:00+00:00"  # the edited article's date


def test_same_article_has_the_same_id_in_every_feed_and_format(client) -> None:
    ids = {}
    for path in ("/feeds/all.rss", "/feeds/all.atom", "/feeds/korea.rss", "/feeds/russia.atom"):
        for entry in feedparser.parse(fetch(client, path).data).entries:
            ids.setdefault(entry.link, set()).add(entry.id)
    assert ids and all(len(found) == 1 for found in ids.values())


def test_feed_ids_differ_per_topic_and_match_across_formats(client) -> None:
    def feed_id(path: str) -> str:
        parsed = feedparser.parse(fetch(client, path).data)
        return parsed.feed.get("id") or ""

    assert feed_id("/feeds/korea.atom") != feed_id("/feeds/russia.atom")
    assert feed_id("/feeds/korea.atom").startswith("urn:uuid:")


def test_markup_in_text_stays_text(client) -> None:
    rss = fetch(client, "/feeds/china.rss").data
    parsed = feedparser.parse(rss)
    entry = parsed.entries[0]
    assert entry.title == 'Fish & Chips <b>not bold</b> "quoted" in China'
    assert "<script>" not in entry.content[0].value
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in entry.content[0].value
    # Atom sends markup-looking text as escaped type="html": it displays as the same text.
    atom = feedparser.parse(fetch(client, "/feeds/china.atom").data).entries[0]
    assert atom.title_detail.type == "text/html"
    assert html.unescape(atom.title) == entry.title
    assert html.unescape(atom.summary).startswith(
        "A summary with <script>alert(1)</script> & an ampersand, ]]>"
    )


def test_rss_writes_ampersands_and_angle_brackets_as_hex_references(client) -> None:
    rss = fetch(client, "/feeds/china.rss").data
    assert b"<title>Fish &#x26; Chips &#x3C;b&gt;not bold&#x3C;/b&gt;" in rss
    assert b"&amp;" not in rss and b"&lt;" not in rss
    assert strict(rss).find("channel/item/title").text.startswith("Fish & Chips <b>")


def test_items_carry_categories_source_and_content(client) -> None:
    parsed = feedparser.parse(fetch(client, "/feeds/russia.rss").data)
    grain = next(e for e in parsed.entries if "grain" in e.title)
    assert {t.term for t in grain.tags} >= {"Russia", "Ukraine", "Japan"}
    assert grain.source.href == "https://www.example.org/world/grain"
    assert grain.content[0].value.startswith("<p>Russia and Ukraine accused")
    assert grain.author_detail.name == "Jane Reporter"


@pytest.mark.parametrize(
    ("query", "count"), [("", 4), ("?limit=1", 1), ("?limit=100", 4)], ids=["default", "1", "100"]
)
def test_limit(client, query: str, count: int) -> None:
    parsed = feedparser.parse(fetch(client, "/feeds/all.atom" + query).data)
    assert len(parsed.entries) == count
    self_link = next(link.href for link in parsed.feed.links if link.rel == "self")
    assert self_link == BASE_URL + "/feeds/all.atom" + query


def test_feeds_of_long_articles_stay_well_under_250_kb(make_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "long"
    sentence = "The committee heard evidence from ministers, officials and experts. "
    for n in range(25):  # more than a feed's 20 items, each about 60,000 characters
        paragraphs = [f"Paragraph {i}. " + sentence * 12 for i in range(70)]
        write_article(folder, f"long_{n:016x}.txt", f"Long report {n} from Tokyo",
                      "A summary of the Japanese report. " * 40, *paragraphs,
                      date=f"2024-01-{n + 1:02d}T00:00:00Z")  # fmt: skip
    write_article(folder, "one_0000000000000100.txt", "One endless paragraph about Japan",
                  "Japan, briefly.", sentence * 1000, date="2024-12-01T00:00:00Z")  # fmt: skip
    write_article(folder, "short_0000000000000200.txt", "A short note on Japan",
                  "Japan, briefly.", "Tokyo said so.", date="2025-01-01T00:00:00Z")  # fmt: skip
    app = make_app(app_settings(folder, tmp_path / "index"))
    client = app.test_client()
    for fmt in ("rss", "atom", "json"):
        body = fetch(client, f"/feeds/all.{fmt}").data
        assert 120_000 < len(body) < 200_000, (fmt, len(body))  # 18 long items of 20
    short, endless, long_one, *_ = feedparser.parse(fetch(client, "/feeds/all.atom").data).entries
    assert long_one.title == "Long report 24 from Tokyo"
    page = long_one.link
    assert long_one.content[0].value.endswith(
        f'<p><a href="{page}">Continue reading</a></p><p>Original source: '
        '<a href="https://www.example.com/">www.example.com</a></p>'
    )
    assert len(long_one.summary) <= 1000 and long_one.summary.endswith("…")
    assert "Paragraph 69." in client.get(page.removeprefix(BASE_URL)).text  # the page has it all
    assert endless.title == "One endless paragraph about Japan"
    assert "…</p><p><a href=" in endless.content[0].value  # cut after a word, then linked
    assert short.title == "A short note on Japan"
    assert "Continue reading" not in short.content[0].value
    assert "Tokyo said so." in short.content[0].value


def test_reused_entries_give_the_bytes_feedgen_writes_for_the_whole_document(  # type: ignore[no-untyped-def]
    make_app, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RSS and Atom entries are written once and reused across documents: every feed and
    archive page, rendered in a random order with the entries of the others at hand, has the
    bytes feedgen writes when it builds the document alone."""
    import random

    from servers import collection_with_archives

    from feeds.compose import FeedRequest, archive_pages, compose
    from feeds.models import Selection
    from feeds.render import atom, common, rss

    collection = collection_with_archives(tmp_path / "collection")
    app = make_app(app_settings(collection, tmp_path / "index"))
    snap = app.extensions["feeds"].snapshot
    requests = []
    for selection in [Selection(), *(Selection(all_of=(s,)) for s in snap.taxonomy.topics)]:
        if not snap.select(selection):
            continue
        requests += [FeedRequest(selection, ext, snap.config.feed_items) for ext in ("rss", "atom")]
        requests += [
            FeedRequest(selection, "atom", snap.config.feed_items, page=page)
            for page in range(1, archive_pages(len(snap.slots(selection))) + 1)
        ]
    feeds = [(r.extension, compose(snap, r)) for r in requests]
    modules = {"rss": rss, "atom": atom}
    alone = {}
    for n, (ext, feed) in enumerate(feeds):
        monkeypatch.setattr(modules[ext], "ENTRIES", common.entry_cache())
        alone[n] = modules[ext].render(feed)
    assert any(feed.archive for _, feed in feeds) and len(feeds) > 20
    for ext in modules:
        monkeypatch.setattr(modules[ext], "ENTRIES", common.entry_cache(128 << 10))
    order = list(range(len(feeds)))
    random.Random(5).shuffle(order)
    hits = 0
    for n in order + order:
        ext, feed = feeds[n]
        hits += sum(modules[ext].ENTRIES.get(common.entry_key(feed, a)) is not None
                    for a in feed.items)  # fmt: skip
        assert modules[ext].render(feed) == alone[n], requests[n]
    assert hits > len(feeds) * 5, "hardly any entry was reused"
