"""The OPML subscription list and /topics.json: every listed feed can be fetched and read."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import jsonschema
import pytest
from lxml import etree

from conftest import BASE_URL

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
