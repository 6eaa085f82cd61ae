"""The site's name and face: an icon and a logo in every feed format and on every page."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from lxml import etree, html
from PIL import Image

from conftest import BASE_URL
from feeds.images import IMAGE_PATHS, RSS_IMAGE_BOX

ATOM = {"a": "http://www.w3.org/2005/Atom"}
STRICT = etree.XMLParser(recover=False)


def image_of(client, path: str) -> Image.Image:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, path
    image = Image.open(io.BytesIO(response.data))
    image.load()
    return image


def test_every_image_is_served_with_its_type_and_validators(client) -> None:
    types = {"png": "image/png", "ico": "image/vnd.microsoft.icon"}
    for path in IMAGE_PATHS:
        response = client.get(path)
        assert response.status_code == 200
        assert response.content_type == types[path.rsplit(".", 1)[1]]
        assert response.headers["ETag"] and "max-age=86400" in response.headers["Cache-Control"]
        again = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
    assert image_of(client, "/icon.png").size == (512, 512)
    assert image_of(client, "/favicon.png").size == (64, 64)
    assert image_of(client, "/favicon.ico").format == "ICO"


def test_rss_image_follows_the_channel_and_the_size_limits(client) -> None:
    channel = etree.fromstring(client.get("/feeds/korea.rss").data, STRICT).find("channel")
    image = channel.find("image")
    assert image is not None
    assert image.findtext("title") == channel.findtext("title") == "feeds: Korea"
    assert image.findtext("link") == channel.findtext("link") == f"{BASE_URL}/topics/korea"
    assert image.findtext("url") == f"{BASE_URL}/logo.png"
    width, height = int(image.findtext("width")), int(image.findtext("height"))
    assert width <= RSS_IMAGE_BOX[0] and height <= RSS_IMAGE_BOX[1]
    assert image_of(client, "/logo.png").size == (width, height), "the size given is the true one"


def test_atom_has_an_icon_and_a_logo(client) -> None:
    feed = etree.fromstring(client.get("/feeds/all.atom").data, STRICT)
    assert feed.xpath("a:icon/text()", namespaces=ATOM) == [f"{BASE_URL}/icon.png"]
    assert feed.xpath("a:logo/text()", namespaces=ATOM) == [f"{BASE_URL}/logo.png"]


def test_json_feed_has_an_icon_and_a_favicon(client) -> None:
    document = json.loads(client.get("/feeds/all.json").data)
    assert document["icon"] == f"{BASE_URL}/icon.png"
    assert document["favicon"] == f"{BASE_URL}/favicon.png"


@pytest.mark.parametrize("path", ["/", "/topics/korea", "/articles/73bcabc292162f38"])
def test_pages_carry_the_favicon(client, path: str) -> None:
    page = html.fromstring(client.get(path).data)
    icons = {link.get("href") for link in page.xpath("//link[@rel='icon']")}
    assert icons == {"/favicon.ico", "/favicon.png"}  # from the site root, on any host
    assert page.xpath("//link[@rel='apple-touch-icon']/@href") == ["/icon.png"]


def test_the_editor_sets_a_name_an_icon_and_a_logo(settings, make_app, tmp_path: Path) -> None:
    icon, logo = tmp_path / "icon.jpg", tmp_path / "logo.gif"
    Image.new("RGB", (300, 200), "red").save(icon)
    Image.new("RGB", (1000, 500), "green").save(logo)
    app = make_app({**settings, "title": "World Desk", "icon": str(icon), "logo": str(logo)})
    client = app.test_client()
    square = image_of(client, "/icon.png")
    assert square.size == (300, 300), "a wide icon is centred on a square"
    assert square.convert("RGBA").getpixel((150, 150))[0] > 240  # JPEG: nearly pure red
    assert square.convert("RGBA").getpixel((150, 10))[3] == 0
    assert image_of(client, "/logo.png").size == (144, 72)
    channel = etree.fromstring(client.get("/feeds/korea.rss").data, STRICT).find("channel")
    assert channel.findtext("title") == "World Desk: Korea"
    assert channel.find("image").findtext("width") == "144"
    assert b"<title>World Desk</title>" in client.get("/").data


def test_an_unusable_image_falls_back_to_the_shipped_one(
    settings, make_app, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with caplog.at_level(logging.WARNING, logger="feeds.images"):
        app = make_app({**settings, "icon": str(broken), "logo": str(tmp_path / "missing.png")})
        client = app.test_client()
        assert image_of(client, "/icon.png").size == (512, 512)
        assert image_of(client, "/logo.png").size == (144, 72)
    assert "broken.png unusable" in caplog.text and "missing.png unusable" in caplog.text
