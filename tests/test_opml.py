"""The OPML subscription list and /topics.json: every listed feed can be fetched and read."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import jsonschema
import pytest
from lxml import etree

from conftest import BASE_URL, app_settings
from feeds.urls import article_urn

SCHEMA = json.loads((Path(__file__).parent / "data" / "schemas" / "jsonfeed-1.1.json").read_text())


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_every_outline_feed_is_fetchable_and_valid(client, fmt: str) -> None:
    path = "/feeds.opml" + ("" if fmt == "rss" else f"?format={fmt}")
    response = client.get(path)
    assert response.status_code == 200
    assert response.content_type == "text/x-opml; charset=utf-8"
    root = etree.fromstring(response.data)
    assert root.get("version") == "2.0" and root.findtext("head/title")
    feeds = root.findall(".//outline[@xmlUrl]")
    assert len(feeds) >= 4
    for outline in feeds:
        assert outline.get("type") == "rss" and outline.get("text")
        assert outline.get("htmlUrl").startswith(BASE_URL)
        assert outline.get("xmlUrl").endswith("." + fmt)
        feed = client.get(outline.get("xmlUrl").removeprefix(BASE_URL))
        assert feed.status_code == 200
        if fmt == "json":
            jsonschema.validate(feed.get_json(force=True), SCHEMA)
        else:
            assert feedparser.parse(feed.data).bozo == 0


def test_outlines_follow_the_topic_hierarchy(client) -> None:
    root = etree.fromstring(client.get("/feeds.opml").data)
    folder = root.find(".//outline[@text='Korea'][outline]")
    assert folder is not None and folder.get("xmlUrl") is None
    inside = [o.get("xmlUrl") for o in folder.findall("outline")]
    assert f"{BASE_URL}/feeds/korea.rss" in inside
    assert f"{BASE_URL}/feeds/north-korea.rss" in inside


def test_opml_format_is_checked(client) -> None:
    assert client.get("/feeds.opml?format=xml").status_code == 400
    assert client.get("/feeds.opml?format=rss").status_code == 301


def test_topics_json_lists_every_topic(client, app) -> None:
    document = client.get("/topics.json").get_json()
    topics = {t["slug"]: t for t in document["topics"]}
    assert set(topics) == set(app.extensions["feeds"].snapshot.taxonomy.topics)
    north = topics["north-korea"]
    assert north["parent"] == "korea" and north["articles"] == 1
    assert north["feeds"]["atom"] == f"{BASE_URL}/feeds/north-korea.atom"
    assert north["url"] == f"{BASE_URL}/topics/north-korea"
    empty = [t for t in topics.values() if t["articles"] == 0]
    assert empty and all(t["url"] is None and t["feeds"] is None for t in empty)
    for record in topics.values():  # every URL listed answers
        for url in [record["url"], *(record["feeds"] or {}).values()]:
            if url:
                assert client.get(url.removeprefix(BASE_URL)).status_code == 200, url


@pytest.fixture
def world(make_app, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Stories about one or two countries each, in several regions."""
    from conftest import write_article

    pairs = [("Korea", "Russia"), ("Korea", None), ("Russia", "France"), ("France", None),
             ("Brazil", "Russia"), ("Japan", "Korea"), ("Kenya", None),
             ("Japan", None)]  # fmt: skip
    for n, (one, two) in enumerate(pairs):
        both = f"{one} and {two}" if two else one
        write_article(tmp_path / "world", f"{n:016x}.txt", f"{both} talks",
                      f"Leaders of {both} met.",
                      f"{one} said so." + (f" {two} agreed." if two else ""))  # fmt: skip
    return make_app(app_settings(tmp_path / "world", tmp_path / "index"))


def outline_feeds(client, path: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Each region folder of an OPML list with the ids of every story in each of its feeds."""
    response = client.get(path)
    assert response.status_code == 200, response.data
    root = etree.fromstring(response.data, etree.XMLParser(recover=False))
    folders: dict[str, list[str]] = {}
    for folder in root.find("body"):
        assert folder.get("xmlUrl") is None, "every feed is in a folder named for its region"
        for outline in folder:
            url = outline.get("xmlUrl").removeprefix(BASE_URL) + "?limit=100"
            parsed = feedparser.parse(client.get(url).data)
            assert parsed.bozo == 0
            folders.setdefault(folder.get("text"), []).extend(e.id for e in parsed.entries)
    return folders


def test_a_chosen_set_has_every_story_of_its_topics_once(world) -> None:
    client = world.test_client()
    assert (
        client.get("/feeds.opml?topics=russia,korea")
        .headers["Location"]
        .endswith("/feeds.opml?topics=korea,russia")
    )
    folders = outline_feeds(client, "/feeds.opml?topics=korea,russia")
    assert set(folders) == {"Asia", "Europe"}
    ids = [i for found in folders.values() for i in found]
    snap = world.extensions["feeds"].snapshot
    both = {article_urn(a.id) for slug in ("korea", "russia") for a in snap.by_topic[slug]}
    assert len(ids) == len(set(ids)), "no story twice"
    assert set(ids) == both and len(both) < len(snap.by_topic["korea"] + snap.by_topic["russia"])


def test_a_chosen_set_leaves_out_topics_inside_another(world) -> None:
    root = etree.fromstring(world.test_client().get("/feeds.opml?topics=korea,north-korea").data)
    assert [o.get("text") for o in root.iter("outline") if o.get("xmlUrl")] == ["Korea"]


def test_the_countries_list_is_grouped_by_region_without_regions(world) -> None:
    client = world.test_client()
    root = etree.fromstring(client.get("/feeds.opml?set=countries&format=atom").data)
    regions = {f.get("text"): [o.get("text") for o in f] for f in root.find("body")}
    assert regions == {"Africa": ["Kenya"], "Americas": ["Brazil"], "Asia": ["Japan", "Korea"],
                       "Europe": ["France", "Russia"]}  # fmt: skip
    folders = outline_feeds(client, "/feeds.opml?set=countries")
    ids = [i for found in folders.values() for i in found]
    snap = world.extensions["feeds"].snapshot
    places = {"kenya", "brazil", "japan", "korea", "france", "russia"}
    wanted = sum(len(places.intersection(a.topics)) for a in snap.articles)
    assert len(set(ids)) == 8 and len(ids) == wanted, "each story once per country it is about"
    assert wanted < sum(len(a.topics) for a in snap.articles), "fewer than with every topic"


def test_opml_lists_are_checked(world) -> None:
    client = world.test_client()
    assert client.get("/feeds.opml?topics=korea,nowhere").status_code == 404
    assert client.get("/feeds.opml?set=regions").status_code == 400
    assert client.get("/feeds.opml?set=countries&topics=korea").status_code == 400
    assert client.get("/feeds.opml?topics=,").status_code == 400
