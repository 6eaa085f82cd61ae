"""A static export with hubs: nginx, configured as the README says, sends the Link headers."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from servers import free_port, get, nginx
from test_static_nginx import STATIC

from conftest import DATA, readme_code
from feeds.cli import main

HUB = "https://pubsubhubbub.appspot.com/"
# The location block the README adds to the static server block for WebSub.
LOCATION = readme_code("### Real time: WebSub push and a purged cache", "nginx")


def test_nginx_sends_the_hub_and_self_links_of_each_feed(tmp_path: Path) -> None:
    collection, site = tmp_path / "collection", tmp_path / "site"
    shutil.copytree(DATA / "collection", collection)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    result = CliRunner().invoke(main, [
        "build", "--collection", str(collection), "--index", str(tmp_path / "index"),
        "--out", str(site), "--base-url", base, "--jobs", "1",
    ], env={"FEEDS_WEBSUB_HUBS": HUB, "FEEDS_GIT_DATES": "0"})  # fmt: skip
    assert result.exit_code == 0, result.output
    location = LOCATION.replace("https://feeds.example.org", base)
    server = STATIC.replace("{site}", str(site)).rstrip().removesuffix("}") + location + "}\n"
    with nginx(tmp_path / "nginx", server, port=port) as url:
        for path in ("/feeds/korea.rss", "/feeds/all.json", "/feeds/japan.atom"):
            reply = get(url + path)
            assert reply.status == 200
            assert reply.header("Link") == f'<{HUB}>; rel="hub", <{base}{path}>; rel="self"'
        assert get(url + "/topics/korea").header("Link") is None  # pages are not feeds
