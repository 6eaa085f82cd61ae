"""Live update: the collection changes, a new snapshot replaces the old one without a restart."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import UTC
from pathlib import Path

import feedparser
import pytest

from conftest import feed_titles as titles
from conftest import wait_for, write_article
from feeds import create_app
from feeds.collection import FileEntry
from feeds.config import Config
from feeds.index import watch
from feeds.index.compare import difference, named
from feeds.index.live import LiveIndex


def test_added_file_appears_and_removed_file_disappears(app, client, collection: Path) -> None:
    live = app.extensions["feeds"]
    assert "Seoul hosts summit" not in titles(client)
    path = write_article(collection, "new.txt", "Seoul hosts summit", "South Korea hosted it.",
                         date="2025-04-01T00:00:00Z")  # fmt: skip
    assert live.refresh() is True
    assert titles(client)[0] == "Seoul hosts summit"
    assert "Seoul hosts summit" in titles(client, "/feeds/south-korea.rss")
    path.unlink()
    assert live.refresh() is True
    assert "Seoul hosts summit" not in titles(client)


def test_unchanged_collection_keeps_the_same_snapshot(app) -> None:
    live = app.extensions["feeds"]
    before = live.snapshot
    assert live.refresh() is False
    assert live.snapshot is before


def test_an_edit_changes_only_the_feeds_that_hold_the_article(
    app, client, collection: Path
) -> None:
    live = app.extensions["feeds"]
    japan, korea = client.get("/feeds/japan.rss"), client.get("/feeds/korea.rss")
    path = collection / "002_c0ffee0000000002.txt"
    path.write_text(path.read_text().replace("Tokyo markets rally", "Tokyo markets soar"))
    assert live.refresh() is True
    assert client.get("/feeds/japan.rss").headers["ETag"] != japan.headers["ETag"]
    assert client.get("/feeds/korea.rss").headers["ETag"] == korea.headers["ETag"]
    assert "Tokyo markets soar as yen weakens" in titles(client, "/feeds/japan.atom")


def test_a_bad_file_does_not_take_the_feed_down(app, client, collection: Path) -> None:
    (collection / "bad.txt").write_bytes(b"---\n!!python/object:os.system\n")
    (collection / "worse.txt").write_bytes(b"\xff\xfe\x00\x00garbage")
    app.extensions["feeds"].refresh()
    assert client.get("/feeds/all.rss").status_code == 200
    assert len(titles(client)) == 4


def test_each_new_problem_is_logged_once(
    app, collection: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live = app.extensions["feeds"]
    caplog.set_level("WARNING", logger="feeds.index")
    (collection / "bad.txt").write_text("---\n[\n---\nT\n\nS\n")
    assert live.refresh() is True
    assert [r.getMessage() for r in caplog.records] == [
        "bad.txt: error: front matter is not valid YAML (line 3)"
    ]
    caplog.clear()
    write_article(collection, "fine.txt", "Tokyo news", "Japan said so.")
    assert live.refresh() is True
    assert caplog.records == []  # the same problem is not logged again


def test_the_background_watcher_picks_up_changes(settings, collection: Path) -> None:
    app = create_app({**settings, "reload_interval": 0.05}, watch=True)
    client = app.test_client()
    try:
        write_article(collection, "w.txt", "Watched article", "About Japan and Tokyo.")
        deadline = time.monotonic() + 15
        while "Watched article" not in titles(client):
            assert time.monotonic() < deadline, "the watcher never picked up the new file"
            time.sleep(0.05)
    finally:
        app.extensions["feeds"].close()


def test_a_broken_taxonomy_keeps_the_previous_topics(app, client, collection: Path) -> None:
    live = app.extensions["feeds"]
    (collection / "topics.toml").write_text(
        '[topics.missiles]\nname = "Missiles"\nterms = ["missile"]\n'
    )
    assert live.refresh()
    assert client.get("/feeds/missiles.rss").status_code == 200
    (collection / "topics.toml").write_text("[topics.missiles\nname = broken")
    assert live.refresh()
    assert client.get("/feeds/missiles.rss").status_code == 200, (
        "the previous topics stay in service"
    )
    assert any(
        "topics.toml" in p.path and "not valid TOML" in p.reason for p in live.snapshot.problems
    )


def test_a_failing_rebuild_keeps_the_previous_snapshot(app, client, monkeypatch) -> None:
    live = app.extensions["feeds"]
    before = live.snapshot

    def explode(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(live, "_full_scan", explode)
    assert live.check() is False
    assert live.snapshot is before
    assert live.last_error == "RuntimeError: disk on fire"
    assert client.get("/feeds/all.rss").status_code == 200


def test_a_restart_resumes_the_last_snapshot_then_catches_up(settings, collection: Path) -> None:
    first = create_app(settings, watch=False)
    before = first.test_client().get("/feeds/all.atom").data
    first.extensions["feeds"].close()  # keeps the snapshot for a fast start
    write_article(collection, "while_down.txt", "Written while the server was down",
                  "About Tokyo and Japan.", date="2025-06-01T00:00:00Z")  # fmt: skip

    app = create_app({**settings, "reload_interval": 0.05}, watch=True)
    client = app.test_client()
    try:
        live = app.extensions["feeds"]
        assert live.snapshot.texts is not None
        deadline = time.monotonic() + 15
        while "Written while the server was down" not in titles(client):
            assert time.monotonic() < deadline, "the resumed snapshot never caught up"
            time.sleep(0.05)
        assert titles(client)[1:] == [e for e in titles_of(before)]
    finally:
        app.extensions["feeds"].close()


def test_a_change_while_reconciling_is_published_before_reconciliation_ends(
    settings, collection: Path, monkeypatch
) -> None:
    create_app(settings, watch=False).extensions["feeds"].close()  # keeps a snapshot
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    reconcile = LiveIndex.reconcile

    def held(self: LiveIndex) -> None:
        started.set()
        release.wait(30)  # until the change below is published (bounded, should that fail)
        reconcile(self)
        finished.set()

    monkeypatch.setattr(LiveIndex, "reconcile", held)
    app = create_app({**settings, "reload_interval": 0.05}, watch=True)
    client = app.test_client()
    try:
        live = app.extensions["feeds"]
        assert live.resumed and started.wait(10)
        write_article(collection, "meanwhile.txt", "Written while reconciling",
                      "About Tokyo and Japan.", date="2025-06-01T00:00:00Z")  # fmt: skip
        deadline = time.monotonic() + 15
        while "Written while reconciling" not in titles(client):
            assert time.monotonic() < deadline, "the change waited for the reconciliation"
            time.sleep(0.05)
        assert live.reconciling and not finished.is_set()
        release.set()
        assert finished.wait(15) and not live.reconciling
        assert titles(client)[0] == "Written while reconciling"
    finally:
        release.set()
        app.extensions["feeds"].close()


def titles_of(body: bytes) -> list[str]:
    return [e.title for e in feedparser.parse(body).entries]


def test_a_snapshot_from_other_topics_is_not_resumed(settings, collection: Path) -> None:
    first = create_app(settings, watch=False)
    first.extensions["feeds"].close()
    (collection / "topics.toml").write_text('[topics.markets]\nname = "Markets"\nterms = ["yen"]\n')
    app = create_app({**settings, "reload_interval": 0.05}, watch=True)
    try:
        assert "markets" in app.extensions["feeds"].snapshot.taxonomy.topics
        assert app.test_client().get("/feeds/markets.rss").status_code == 200
        assert "Tokyo markets rally as yen weakens" in titles(
            app.test_client(), "/feeds/markets.atom"
        )
    finally:
        app.extensions["feeds"].close()


def test_a_duplicate_id_passes_to_the_next_file_when_the_first_goes(
    app, client, collection: Path
) -> None:
    live = app.extensions["feeds"]
    first = write_article(collection, "a_twin.txt", "First twin", "About Japan.", id="twin")
    write_article(collection, "b_twin.txt", "Second twin", "About Japan.", id="twin")
    live.refresh()
    assert "First twin" in titles(client) and "Second twin" not in titles(client)
    assert any(
        "duplicate id 'twin'" in p.reason and p.path == "b_twin.txt" for p in live.snapshot.problems
    )
    first.unlink()
    live.refresh(["a_twin.txt"])
    assert "Second twin" in titles(client) and "First twin" not in titles(client)
    assert not any("duplicate id" in p.reason for p in live.snapshot.problems)


def test_events_name_what_to_read_again(app, client, collection: Path, monkeypatch) -> None:
    """File and folder events re-read just what they name: never the whole collection."""
    live = app.extensions["feeds"]
    monkeypatch.setattr(live, "_full_scan", lambda: pytest.fail("scanned everything"))
    staging = collection.parent / "staging"
    write_article(staging / "2025", "moved_00000000000000cd.txt", "Moved in whole", "About Japan.")
    staging.rename(collection / "batch")  # a whole folder arrives at once
    assert live.refresh(["batch/"])
    assert "Moved in whole" in titles(client)
    single = write_article(collection, "batch/2025/one_00000000000000ce.txt", "One file", "Japan.")
    assert live.refresh(["batch/2025/one_00000000000000ce.txt"])
    assert "One file" in titles(client)
    single.unlink()
    shutil.rmtree(collection / "batch")
    assert live.refresh(["batch/"])
    assert "Moved in whole" not in titles(client) and "One file" not in titles(client)


@pytest.mark.parametrize("twins", [False, True], ids=["unique ids", "a duplicate id"])
def test_a_resumed_snapshot_equals_one_built_anew(settings, collection: Path, twins: bool) -> None:
    if twins:
        write_article(collection, "a_twin.txt", "First twin", "About Japan.", id="twin")
        write_article(collection, "b_twin.txt", "Second twin", "About Japan.", id="twin")
    (collection / "notes.txt").write_bytes(b"\xff\xfe not text")  # a file with a problem
    config = Config.load(settings)
    fresh = LiveIndex(config)
    fresh.close()  # keeps the snapshot for a fast start
    resumed = LiveIndex(config, fast_start=True)
    try:
        assert resumed.resumed
        built, again = fresh.snapshot, resumed.snapshot
        assert again.articles == built.articles
        assert [a.published.tzinfo for a in again.articles] == [UTC] * len(built.articles)
        assert again.by_id == built.by_id and again.by_topic == built.by_topic
        assert built.problems and again.problems == built.problems
        assert again.newest_change == built.newest_change
        assert resumed.files.entries == fresh.files.entries
        assert resumed.files.articles == fresh.files.articles
        assert resumed.files.problems() == fresh.files.problems()
    finally:
        resumed.close()


def feed_text(client) -> str:  # type: ignore[no-untyped-def]
    return client.get("/feeds/all.json").get_data(as_text=True)


def test_a_file_being_written_is_published_once_it_is_closed(
    settings, collection: Path, make_app
) -> None:
    """A file copied in slowly (scp, a network share) is never published half-written, nor
    pushed to subscribers as such: it is read when its writer closes it."""
    client = make_app({**settings, "reload_interval": 0.05}, watch=True).test_client()
    with (collection / "slow.txt").open("w", encoding="utf-8") as slow:
        slow.write("Slowly copied story\n\nTokyo and Japan's government, the first half.\n")
        slow.flush()
        # Written after the first half: once it is published, the first half's events
        # have been seen too.
        write_article(collection, "marker.txt", "Marker story", "About Japan.")
        wait_for(lambda: "Marker story" in titles(client), "the marker published")
        assert "Slowly copied story" not in titles(client)
        slow.write("The second half names Osaka.\n")
    wait_for(lambda: "Slowly copied story" in titles(client), "the closed file published")
    assert "The second half names Osaka." in feed_text(client)


def test_a_file_left_open_is_read_as_it_is_in_the_end(
    settings, collection: Path, make_app, monkeypatch
) -> None:
    monkeypatch.setattr(watch, "WRITING_SECONDS", 0.5)
    client = make_app({**settings, "reload_interval": 0.05}, watch=True).test_client()
    with (collection / "open.txt").open("w", encoding="utf-8") as kept_open:
        kept_open.write("Left open\n\nA story about Japan, whole but never closed.\n")
        kept_open.flush()
        wait_for(lambda: "Left open" in titles(client), "the file left open published")


def test_a_whole_scan_leaves_files_being_written_to_their_close() -> None:
    known = {"a.txt": FileEntry("a.txt", 10, 1)}
    now = {"a.txt": FileEntry("a.txt", 20, 2), "b.txt": FileEntry("b.txt", 5, 2)}
    assert difference(now, known).changed == [now["a.txt"], now["b.txt"]]
    assert difference(now, known, writing={"a.txt"}).changed == [now["b.txt"]]
    assert difference({}, known, unread={""}).gone == set()
    assert difference({}, known, unread={"2025/"}).gone == {"a.txt"}


MOUNTS = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 27 0:50 / /srv/news rw,relatime shared:20 - nfs4 files:/export/news rw,vers=4.2
41 40 0:51 / /srv/news/local rw,relatime - ext4 /dev/sdb1 rw
42 27 0:52 / /mnt/my\\040share rw - fuse.sshfs me@host:/news rw,user_id=0
43 27 0:53 / /var/lib/containers rw - fuse.fuse-overlayfs fuse-overlayfs rw
"""


@pytest.mark.parametrize(
    ("path", "kind", "is_shared"),
    [
        ("/srv/news/2025/a.txt", "nfs4", True),
        ("/srv/news", "nfs4", True),
        ("/srv/news/local/a.txt", "ext4", False),  # a local disk mounted inside the share
        ("/srv/newsroom", "ext4", False),  # a prefix of the name is not a folder above
        ("/mnt/my share/seeds", "fuse.sshfs", True),
        ("/var/lib/containers/seeds", "fuse.fuse-overlayfs", False),
    ],
)
def test_the_file_system_of_the_collection(path: str, kind: str, is_shared: bool) -> None:
    assert watch.file_system(Path(path), MOUNTS) == kind
    assert watch.shared(kind) is is_shared


def test_a_collection_on_a_shared_file_system_is_scanned(
    settings, collection: Path, make_app, monkeypatch, caplog
) -> None:
    """Events on NFS, SMB or sshfs tell only of this machine's changes: the collection is
    scanned every interval instead, and a change made elsewhere is seen all the same."""
    caplog.set_level("INFO", logger="feeds.index.watch")
    monkeypatch.setattr(watch, "file_system", lambda path: "nfs4")
    app = make_app({**settings, "reload_interval": 0.05}, watch=True)
    client = app.test_client()
    assert "file system (nfs4) tells of no change made on another machine" in caplog.text
    write_article(collection, "remote.txt", "Written on another machine", "About Japan.")
    wait_for(lambda: "Written on another machine" in titles(client), "the scan found it")


def test_a_file_named_by_its_own_event_and_its_folders_is_read_once(tmp_path: Path) -> None:
    """A folder copied in file by file raises an event for each file and for the folder: at
    30,000 files each was read three times."""
    write_article(tmp_path / "bulk", "a.txt", "A", "About Japan.")
    found = named(tmp_path, {"bulk/", "bulk/a.txt"}, {}, set())
    assert found is not None and [e.path for e in found.changed] == ["bulk/a.txt"]
