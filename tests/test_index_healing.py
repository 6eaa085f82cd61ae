"""The index is a cache of the collection: damaged, foreign or lost files are rebuilt from it.

Every fault here is real: the database and the snapshot file are truncated, overwritten with
junk or replaced by files of another schema, between runs and while serving.
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
import sqlite3
import time
from pathlib import Path

import feedparser
import pytest

from conftest import write_article
from feeds import create_app, store
from feeds.cli import main
from feeds.store import STATE_MAGIC

ARTICLES = 4  # in tests/data/collection


def index_file(settings: dict[str, object]) -> Path:
    return Path(str(settings["index"])) / "index.sqlite3"


def snapshot_file(settings: dict[str, object]) -> Path:
    return Path(str(settings["index"])) / "snapshot.pickle"


def build_once(settings: dict[str, object]) -> None:
    """Run the app once, as a server would, leaving its database and snapshot behind."""
    app = create_app({**settings, "reload_interval": 60}, watch=True)
    app.extensions["feeds"].close()
    assert index_file(settings).stat().st_size > 0 and snapshot_file(settings).exists()


def every_item_has_its_text(app) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = client.get("/feeds/all.atom?limit=100")
    assert response.status_code == 200
    entries = feedparser.parse(response.data).entries
    assert len(entries) == ARTICLES
    for entry in entries:
        assert entry.summary.strip(), f"{entry.title} is published without its summary"
        assert entry.content[0].value.strip(), f"{entry.title} is published without its text"
    found = feedparser.parse(client.get("/feeds/all.atom?q=yen").data).entries
    assert [e.title for e in found] == ["Tokyo markets rally as yen weakens"]


@pytest.fixture
def start(make_app):  # type: ignore[no-untyped-def]
    """``start(settings)``: a server's start, resuming the last snapshot when it can; its index
    is closed at the end of the test."""
    return lambda settings: make_app({**settings, "reload_interval": 60}, watch=True)


def junk(path: Path, start: int, length: int, seed: int = 7) -> None:
    data = bytearray(path.read_bytes())
    noise = random.Random(seed).randbytes(length)
    data[start : start + length] = noise
    path.write_bytes(bytes(data[: max(len(data), start + length)]))


def warnings_about(caplog: pytest.LogCaptureFixture, path: Path) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelname == "WARNING" and str(path) in r.getMessage()]  # fmt: skip


@pytest.mark.parametrize("damage", ["truncated", "junk", "junk-header"])
def test_a_damaged_database_is_rebuilt_and_never_trusted(
    start, settings, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    build_once(settings)
    database = index_file(settings)
    if damage == "truncated":
        database.write_bytes(b"")
    elif damage == "junk":
        junk(database, 4096, database.stat().st_size - 8192)  # every page but the first
    else:
        junk(database, 0, 4096)  # the header: not a database at all
    caplog.set_level("WARNING")
    app = start(settings)
    every_item_has_its_text(app)
    if damage != "truncated":  # an empty file is a sound, empty database
        assert warnings_about(caplog, database), "the damage went unreported"
        assert list(database.parent.glob("index.sqlite3.damaged-*")), "not moved aside"
    app.extensions["feeds"].close()
    # And it stays healed: the next start resumes from the rebuilt index.
    app = start(settings)
    every_item_has_its_text(app)


def test_a_damaged_database_without_its_snapshot_still_starts(start, settings) -> None:
    build_once(settings)
    junk(index_file(settings), 0, index_file(settings).stat().st_size)
    snapshot_file(settings).unlink()
    app = start(settings)
    every_item_has_its_text(app)


@pytest.mark.parametrize("command", [["list", "--json"], ["check"]])
def test_list_and_check_heal_a_damaged_database(runner, settings, command) -> None:
    build_once(settings)
    junk(index_file(settings), 4096, index_file(settings).stat().st_size - 8192)
    args = ["--collection", str(settings["collection"]), "--index", str(settings["index"])]
    result = runner.invoke(main, [*command, *args])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    if command[0] == "list":
        assert len(result.output.splitlines()) == ARTICLES


def foreign_database(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('schema', '6'), ('generation', 'x')")
        db.execute("CREATE TABLE files (path BLOB PRIMARY KEY, text TEXT)")
        db.execute("CREATE TABLE seen (id TEXT, first_seen TEXT)")
    db.close()


def older_schema(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
        db.execute("DELETE FROM files")
    db.close()


@pytest.mark.parametrize("change", [foreign_database, older_schema], ids=["foreign", "older"])
def test_a_database_of_another_schema_is_rebuilt(start, settings, change) -> None:  # type: ignore[no-untyped-def]
    build_once(settings)
    change(index_file(settings))
    app = start(settings)
    every_item_has_its_text(app)


def test_first_seen_dates_survive_a_schema_change(start, settings, collection: Path) -> None:
    write_article(collection, "undated.txt", "Undated Tokyo story", "About Japan and Tokyo.")
    app = start(settings)
    before = app.extensions["feeds"].snapshot.by_id
    app.extensions["feeds"].close()
    older_schema(index_file(settings))
    time.sleep(1.1)  # a date made anew would differ by a second at least
    app = start(settings)
    after = app.extensions["feeds"].snapshot.by_id
    undated = next(i for i, a in after.items() if a.title == "Undated Tokyo story")
    assert after[undated].published == before[undated].published


def pickled(state: object) -> bytes:
    payload = pickle.dumps(state)
    import hashlib

    return STATE_MAGIC + hashlib.sha256(payload).digest() + payload


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: data[:40] + random.Random(1).randbytes(len(data) - 40),
        lambda data: data[:-10] + b"0123456789",
        lambda data: random.Random(2).randbytes(5000),
        lambda data: pickle.dumps(("not", "a", "snapshot")),
        lambda data: pickled((2, "generation", "fingerprint", None, [], [("x",)])),
        lambda data: b"",
    ],
    ids=["truncated", "junk", "tail", "random", "old-format", "wrong-shape", "empty"],
)
def test_a_damaged_snapshot_file_is_set_aside(start, settings, damage) -> None:  # type: ignore[no-untyped-def]
    build_once(settings)
    state = snapshot_file(settings)
    state.write_bytes(damage(state.read_bytes()))
    app = start(settings)
    every_item_has_its_text(app)


def test_a_snapshot_of_another_database_is_not_resumed(start, settings, collection: Path) -> None:
    build_once(settings)
    index_file(settings).unlink()  # the snapshot now describes texts nobody has
    app = start(settings)
    every_item_has_its_text(app)


def test_damage_found_while_serving_is_healed(settings, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level("WARNING")
    app = create_app({**settings, "reload_interval": 0.05}, watch=True)
    live = app.extensions["feeds"]
    try:
        database = index_file(settings)
        sqlite3.connect(database).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        with open(database, "r+b") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(4096)
            handle.write(random.Random(3).randbytes(max(size - 4096, 8192)))
        live.store.reopen()  # a connection without pages cached from before the damage
        every_item_has_its_text(app)  # texts come from the files meanwhile
        deadline = time.monotonic() + 60  # generous: a busy machine is slow, a hang still fails
        while not list(database.parent.glob("index.sqlite3.damaged-*")):
            assert time.monotonic() < deadline, "the damaged index was never rebuilt"
            time.sleep(0.05)
        # Refilling lasts from the move aside until every file is stored again: between
        # batches of files nothing may be pending, and the index is not yet whole.
        while live.store.damaged or live.store.refilling or live.store.pending:
            assert time.monotonic() < deadline, "the rebuilt index was never written"
            time.sleep(0.05)
        every_item_has_its_text(app)
        assert live.store.text(live.snapshot.articles[0].path), "the new index holds the text"
    finally:
        live.close()


def test_an_article_whose_text_cannot_be_read_is_not_published_without_it(
    settings, collection: Path
) -> None:
    app = create_app(settings, watch=False)
    live = app.extensions["feeds"]
    try:
        with sqlite3.connect(index_file(settings)) as db:
            db.execute("UPDATE files SET text = NULL")  # the index lost every text
        db.close()
        (collection / "002_c0ffee0000000002.txt").unlink()  # and one file went meanwhile
        response = app.test_client().get("/feeds/japan.atom")
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert app.test_client().get("/feeds/korea.atom").status_code == 200  # from the files
        live.check()
        response = app.test_client().get("/feeds/japan.atom")
        assert response.status_code == 200
        assert "Tokyo markets rally" not in response.get_data(as_text=True)
        assert live.store.text("asia/000_73bcabc292162f38.txt"), "the text read is stored again"
    finally:
        live.close()


def test_damage_a_resumed_start_did_not_check_is_found_and_rebuilt(settings, start, caplog) -> None:  # type: ignore[no-untyped-def]
    """A resumed start serves before it has checked every page of the database; damage
    there is found right after, the database set aside and rebuilt, and every answer
    meanwhile is whole."""
    build_once(settings)
    database = index_file(settings)
    damage_a_page_serving_never_reads(database)
    caplog.set_level("WARNING")
    app = start(settings)
    live = app.extensions["feeds"]
    assert live.resumed, "the snapshot file is sound: the start resumes it"
    every_item_has_its_text(app)
    deadline = time.monotonic() + 20
    while not list(database.parent.glob("index.sqlite3.damaged-*")):
        assert time.monotonic() < deadline, "the damaged index was never found"
        every_item_has_its_text(app)
        time.sleep(0.02)
    while live.reconciling or live.store.damaged or live.store.pending:
        assert time.monotonic() < deadline, "the damaged index was never rebuilt"
        every_item_has_its_text(app)
        time.sleep(0.02)
    assert warnings_about(caplog, database), "the damage went unreported"
    every_item_has_its_text(app)
    assert live.store.text(live.snapshot.articles[0].path), "the new index holds the text"


def test_without_a_snapshot_to_resume_the_database_is_checked_before_use(settings, start) -> None:  # type: ignore[no-untyped-def]
    build_once(settings)
    database = index_file(settings)
    damage_a_page_serving_never_reads(database)
    snapshot_file(settings).unlink()
    app = start(settings)
    assert list(database.parent.glob("index.sqlite3.damaged-*")), "built on a damaged index"
    every_item_has_its_text(app)


def damage_a_page_serving_never_reads(database: Path) -> None:
    """Junk over the first-seen dates' page: only a check of every page finds it."""
    with sqlite3.connect(database) as db:
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'seen'").fetchone()
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
    junk(database, (root - 1) * page_size, page_size)


def test_a_build_resuming_on_a_damaged_database_rebuilds_it(runner, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`feeds build` resumes the kept snapshot and checks the database beside its comparison
    with the collection: damage on a page the build never reads is still found, the database
    set aside and rebuilt, and the export is whole."""
    build_once(settings)
    database = index_file(settings)
    damage_a_page_serving_never_reads(database)
    out = tmp_path / "site"
    args = ["--collection", str(settings["collection"]), "--index", str(settings["index"])]
    result = runner.invoke(main, ["build", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert list(database.parent.glob("index.sqlite3.damaged-*")), "built on a damaged index"
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA quick_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM files WHERE text IS NOT NULL").fetchone() == (
            ARTICLES,
        )
    db.close()
    assert len(list((out / "articles").glob("*.html"))) == ARTICLES


def test_an_index_folder_removed_while_serving_is_made_anew(settings, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    """A cache folder cleared by hand: writes to the removed file would be lost with it, so a
    new database is made and filled, with the first-seen dates the server knows."""
    caplog.set_level("WARNING")
    monkeypatch.setattr(store, "RETRY_SECONDS", 0.2)
    app = create_app({**settings, "reload_interval": 0.05}, watch=True)
    live = app.extensions["feeds"]
    try:
        client = app.test_client()
        dates = {
            e.id: e.published for e in feedparser.parse(client.get("/feeds/all.atom").data).entries
        }
        shutil.rmtree(index_file(settings).parent)
        write_article(Path(str(settings["collection"])), "after.txt", "Written after", "Japan.")
        deadline = time.monotonic() + 60  # generous: a busy machine is slow, a hang still fails
        while not ("was removed; making it anew" in caplog.text and index_file(settings).exists()):
            assert time.monotonic() < deadline, "the removed index was never made anew"
            time.sleep(0.05)
        while live.store.damaged or live.store.refilling or live.store.pending:
            assert time.monotonic() < deadline, "the new index was never written"
            time.sleep(0.05)
        entries = feedparser.parse(client.get("/feeds/all.atom").data).entries
        assert "Written after" in [e.title for e in entries]
        assert {e.id: e.published for e in entries if e.id in dates} == dates
        seen = sqlite3.connect(index_file(settings)).execute("SELECT count(*) FROM seen").fetchone()
        assert seen == (ARTICLES + 1,)
        assert live.store.text(live.snapshot.articles[0].path), "the new index holds the text"
    finally:
        live.close()
