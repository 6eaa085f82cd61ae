"""JSON Feed 1.1: the schema, the media type, and the same content as RSS and Atom."""

from __future__ import annotations

import html
import json
from pathlib import Path

import feedparser
import jsonschema
import pytest

from conftest import BASE_URL

SCHEMA = json.loads((Path(__file__).parent / "data" / "schemas" / "jsonfeed-1.1.json").read_text())


@pytest.mark.parametrize(
    "path", ["/feeds/all.json", "/feeds/korea.json", "/feeds/japan,korea.json"]
)
def test_json_feed_follows_the_schema(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.content_type == "application/feed+json; charset=utf-8"
    document = response.get_json(force=True)
    jsonschema.validate(document, SCHEMA)
    assert document["feed_url"] == BASE_URL + path
    assert document["items"]


def test_json_feed_has_the_same_items_as_atom(client) -> None:
    document = client.get("/feeds/all.json").get_json(force=True)
    atom = feedparser.parse(client.get("/feeds/all.atom").data)
    assert [i["id"] for i in document["items"]] == [e.id for e in atom.entries]
    assert [i["title"] for i in document["items"]] == [html.unescape(e.title) for e in atom.entries]
    assert [i["date_published"] for i in document["items"]] == [e.published for e in atom.entries]
    assert [i["date_modified"] for i in document["items"]] == [e.updated for e in atom.entries]
    assert [i["summary"] for i in document["items"]] == [
        html.unescape(e.summary) for e in atom.entries
    ]
    assert [i["content_html"] for i in document["items"]] == [
        e.content[0].value for e in atom.entries
    ]
    assert [i["url"] for i in document["items"]] == [e.link for e in atom.entries]


def test_json_feed_tags_and_authors(client) -> None:
    items = client.get("/feeds/russia.json").get_json(force=True)["items"]
    grain = next(i for i in items if "grain" in i["title"])
    assert {"Russia", "Ukraine", "Japan"} <= set(grain["tags"])
    assert grain["authors"] == [{"name": "Jane Reporter"}]
    rss = feedparser.parse(client.get("/feeds/russia.rss").data)
    rss_grain = next(e for e in rss.entries if "grain" in e.title)
    assert sorted(grain["tags"]) == sorted(t.term for t in rss_grain.tags)
