"""The static export served by nginx: the same bytes as `feeds serve`, plain and gzipped."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import (
    NGINX,
    NGINX_MISSING,
    Reply,
    collection_with_archives,
    feeds_env,
    feeds_serve,
    free_port,
    get,
    nginx,
)

from conftest import adapted, app_settings, readme_code
from feeds import create_app
from feeds.static import file_for, site_urls

if NGINX is None:
    pytest.skip(NGINX_MISSING, allow_module_level=True)

BUILD_SECONDS = 300
# The configuration the README shows, with the test's paths and ports.
STATIC = adapted(
    readme_code("### As static files", "nginx"),
    {"listen 80;": "listen 127.0.0.1:{port};", "root /srv/feeds;": "root {site};"},
)
ENCODINGS = {"identity": {"Accept-Encoding": "identity"}, "gzip": {"Accept-Encoding": "gzip"}}


@dataclass(frozen=True)
class Sites:
    """The exported site behind nginx and `feeds serve`, both with the same base URL."""

    urls: list[str]
    static: str
    app: str
    folder: Path
    collection: Path
    build: list[str]  # the command that wrote the site


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    root = tmp_path_factory.mktemp("static")
    collection = collection_with_archives(root / "collection")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    out = root / "site"
    command = [
        sys.executable, "-m", "feeds", "build", "--collection", str(collection),
        "--index", str(root / "index"), "--out", str(out), "--base-url", base_url,
    ]  # fmt: skip
    done = subprocess.run(
        command, env=feeds_env(), capture_output=True, text=True, timeout=BUILD_SECONDS
    )
    assert done.returncode == 0, done.stdout + done.stderr
    app = create_app(app_settings(collection, root / "index", base_url=base_url), watch=False)
    urls = site_urls(app.extensions["feeds"].snapshot)
    app.extensions["feeds"].close()
    with (
        nginx(root / "nginx", STATIC.replace("{site}", str(out)), port=port) as static,
        feeds_serve(collection, root / "serve", base_url) as served,
    ):
        yield Sites(urls, static, served, out, collection, command)


def test_the_export_has_compressed_copies_of_what_readers_poll(sites: Sites) -> None:
    assert (sites.folder / "feeds" / "all.rss.gz").is_file()
    assert (sites.folder / "index.html.gz").is_file()
    assert (sites.folder / "feeds" / "korea" / "archive" / "2.atom").is_file()
    assert not (sites.folder / "feeds" / "korea" / "archive" / "2.atom.gz").exists()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_nginx_sends_the_bytes_feeds_serve_sends(sites: Sites, encoding: str) -> None:
    differences = []
    for url in sites.urls:
        static = get(sites.static + url, ENCODINGS[encoding])
        served = get(sites.app + url, ENCODINGS[encoding])
        got = (static.status, static.header("Content-Type"), static.header("Content-Encoding"))
        wanted = (200, served.header("Content-Type"), served.header("Content-Encoding"))
        if got != wanted:
            differences.append(f"{url}: {got} != {wanted}")
        elif decoded(static) != decoded(served):
            differences.append(f"{url}: the bodies differ")
        elif precompressed(sites, url) and static.body != served.body:
            differences.append(f"{url}: the gzip bytes differ from the .gz file's")
        elif static.header("ETag") is None:
            differences.append(f"{url}: no ETag from nginx")
    assert differences == [], f"{len(differences)} of {len(sites.urls)} URLs differ"


def decoded(reply: Reply) -> bytes:
    return gzip.decompress(reply.body) if reply.header("Content-Encoding") else reply.body


def precompressed(sites: Sites, url: str) -> bool:
    return (sites.folder / (file_for(url) + ".gz")).is_file()


@pytest.mark.parametrize("old", ["/feeds/korea/archive/1.rss", "/feeds/all/archive/2.json"])
def test_nginx_moves_archive_pages_of_old_formats_to_atom_as_feeds_serve_does(
    sites: Sites, old: str
) -> None:
    static, served = get(sites.static + old), get(sites.app + old)
    wanted = old.rsplit(".", 1)[0] + ".atom"
    # Both under the base URL, which is that of nginx.
    assert (static.status, static.header("Location")) == (301, sites.static + wanted)
    assert (served.status, served.header("Location")) == (301, sites.static + wanted)
    assert static.header("Cache-Control") == served.header("Cache-Control")
    assert get(sites.static + wanted).body == get(sites.app + wanted).body


def test_nginx_answers_its_own_validator_with_304(sites: Sites) -> None:
    first = get(sites.static + "/feeds/korea.rss", ENCODINGS["gzip"])
    etag = first.header("ETag")
    assert etag is not None and first.header("Vary") == "Accept-Encoding"
    again = get(sites.static + "/feeds/korea.rss", {**ENCODINGS["gzip"], "If-None-Match": etag})
    assert (again.status, again.body) == (304, b"")


def test_a_rebuild_keeps_the_validators_of_what_did_not_change(sites: Sites) -> None:
    korea, japan = "/feeds/korea.rss", "/feeds/japan.rss"
    before = {url: get(sites.static + url).header("ETag") for url in (korea, japan)}
    (sites.collection / "rebuild_00000000000000f1.txt").write_text(
        "Tokyo shares close higher\n\nJapanese shares rose in Tokyo.\nOriginal Source: x.example\n"
    )
    done = subprocess.run(
        sites.build, env=feeds_env(), capture_output=True, text=True, timeout=BUILD_SECONDS
    )
    assert done.returncode == 0, done.stdout + done.stderr
    unchanged = get(sites.static + korea, {"If-None-Match": before[korea]})
    assert (unchanged.status, unchanged.body) == (304, b"")  # readers keep their copy
    changed = get(sites.static + japan, {"If-None-Match": before[japan]})
    assert changed.status == 200 and b"Tokyo shares close higher" in changed.body
