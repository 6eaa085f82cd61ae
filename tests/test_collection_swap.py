"""The collection folder itself changing: gone for a while, unreadable, swapped for a new
release by a link or a rename. Feeds never go empty because the folder is away, and follow
the folder the configured path names now."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_dates import git

from conftest import app_settings, wait_for, write_article
from conftest import feed_titles as titles
from feeds.collection import scan
from feeds.config import Config


def status(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return json.loads(client.get("/status.json").data)


def switch_link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` in one step, as `ln -sfn` and deploy tools do."""
    new = link.with_name(link.name + ".new")
    new.symlink_to(target)
    os.replace(new, link)


def test_a_collection_folder_that_goes_keeps_its_articles_until_it_is_back(
    app, client, collection: Path
) -> None:
    live = app.extensions["feeds"]
    before = client.get("/feeds/all.atom")
    published = titles(client)
    assert published and status(client)["errors"] == 0
    away = collection.with_name("away")
    collection.rename(away)  # an unmounted share, or the first half of a swap
    # A whole scan and a named file alike find nothing, and take nothing away.
    assert live.refresh([next(iter(live.files.entries))]) is True
    assert live.refresh() is False
    assert titles(client) == published
    problems = [str(p) for p in live.snapshot.problems]
    assert any(p.startswith(".: error: cannot read folder") for p in problems), problems
    assert status(client)["errors"] == 1
    away.rename(collection)
    assert live.refresh() is True
    assert status(client)["errors"] == 0
    after = client.get("/feeds/all.atom")
    assert after.data == before.data and after.headers["ETag"] == before.headers["ETag"]


def test_a_folder_that_cannot_be_read_keeps_its_articles(
    app, client, collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = app.extensions["feeds"]
    write_article(collection / "2025", "kept.txt", "Kept in its folder", "About Japan.")
    write_article(collection, "other.txt", "Elsewhere", "About Japan.")
    assert live.refresh() is True
    assert {"Kept in its folder", "Elsewhere"} <= set(titles(client))
    # Permission denied on one folder (as an unprivileged user would get after a chmod).
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if Path(path) == collection / "2025":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    (collection / "other.txt").unlink()
    assert live.refresh() is True
    assert "Kept in its folder" in titles(client)  # unknown, not gone
    assert "Elsewhere" not in titles(client)  # really gone: the rest is still followed
    assert "2025: error: cannot read folder: Permission denied" in map(str, live.snapshot.problems)


def test_scan_names_the_folders_it_could_not_read(tmp_path: Path) -> None:
    unread: set[str] = set()
    entries, problems = scan(tmp_path / "missing", unread=unread)
    assert (entries, unread) == ([], {""})
    assert [p.path for p in problems] == ["."]
    unread.clear()
    write_article(tmp_path / "here", "a.txt", "A", "Text.")
    assert [e.path for e in scan(tmp_path / "here", unread=unread)[0]] == ["a.txt"]
    assert unread == set()


def test_the_collection_path_keeps_its_link(tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "seeds").symlink_to(tmp_path / "v1")
    config = Config.load({"collection": str(tmp_path / "seeds")}, environ={})
    assert config.collection_path == tmp_path / "seeds"
    relative = Config.load({"collection": "seeds/../seeds"}, environ={})
    assert relative.collection_path == Path.cwd() / "seeds"


@pytest.fixture
def releases(tmp_path: Path, collection: Path) -> tuple[Path, Path, Path]:
    """Two releases of the collection and a link naming the first, as a deploy leaves them."""
    first, second = tmp_path / "releases" / "1", tmp_path / "releases" / "2"
    first.parent.mkdir()
    collection.rename(first)
    shutil.copytree(first, second)
    link = tmp_path / "current"
    link.symlink_to(first)
    return link, first, second


def test_a_link_switched_to_a_new_release_is_followed(
    releases: tuple[Path, Path, Path], tmp_path: Path, make_app: Callable[..., Any]
) -> None:
    link, first, second = releases
    settings = app_settings(link, tmp_path / "index", reload_interval=0.05)
    client = make_app(settings, watch=True).test_client()
    published = titles(client)
    write_article(second, "new_00000000000000a1.txt", "In the new release", "About Japan.",
                  date="2025-06-01T00:00:00Z")  # fmt: skip
    switch_link(link, second)
    wait_for(lambda: "In the new release" in titles(client), "the new release published")
    assert set(published) < set(titles(client))
    # Events now come from the new release; the old one is no longer the collection.
    write_article(first, "old_00000000000000a2.txt", "In the old release", "About Japan.")
    write_article(second, "later_00000000000000a3.txt", "Later in the new", "About Japan.")
    wait_for(lambda: "Later in the new" in titles(client), "a change in the new release")
    assert "In the old release" not in titles(client)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_link_switched_to_a_git_checkout_dates_its_new_articles_by_its_history(
    releases: tuple[Path, Path, Path], tmp_path: Path, make_app: Callable[..., Any]
) -> None:
    link, _, second = releases
    write_article(second, "new_00000000000000c1.txt", "Committed in the release", "About Japan.")
    git(second, "init", "-q", "-b", "main")
    git(second, "add", ".")
    git(second, "commit", "-qm", "release", when="2024-05-06T07:08:09Z")
    settings = app_settings(link, tmp_path / "index", reload_interval=0.05, git_dates=True)
    client = make_app(settings, watch=True).test_client()  # the first release: no checkout
    switch_link(link, second)
    wait_for(lambda: "Committed in the release" in titles(client), "the checkout published")
    items = client.get("/feeds/all.json").get_json(force=True)["items"]
    (item,) = [i for i in items if i["title"] == "Committed in the release"]
    assert item["date_published"] == "2024-05-06T07:08:09+00:00"


def test_a_folder_renamed_into_place_is_followed(
    collection: Path, tmp_path: Path, make_app: Callable[..., Any]
) -> None:
    settings = app_settings(collection, tmp_path / "index", reload_interval=0.05)
    client = make_app(settings, watch=True).test_client()
    published = titles(client)
    staged = tmp_path / "staged"  # a new copy of the collection, one article more
    shutil.copytree(collection, staged)
    write_article(staged, "new_00000000000000b1.txt", "Renamed into place", "About Japan.",
                  date="2025-06-01T00:00:00Z")  # fmt: skip
    collection.rename(tmp_path / "old")
    staged.rename(collection)
    wait_for(lambda: "Renamed into place" in titles(client), "the renamed folder published")
    assert set(published) < set(titles(client))
    write_article(collection, "later_00000000000000b2.txt", "Later in place", "About Japan.")
    wait_for(lambda: "Later in place" in titles(client), "a change in the renamed folder")
