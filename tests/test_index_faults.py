"""Degrade, don't die: an index that cannot be written keeps serving every change from memory.

The faults are real: a small tmpfs filled to the last byte, and read-only bind mounts of the
index folder or of the database file alone, while the app serves and follows the collection.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import feedparser
import pytest

from conftest import write_article
from feeds import create_app
from feeds.cli import main

DEADLINE = 30.0


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} failed (these tests need root): {done.stderr.strip()}")


def umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        umount(path)


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` (a folder or a file) read-only until the block ends, even for root."""
    mount("--bind", str(path), str(path))
    try:
        mount("-o", "remount,bind,ro", str(path))
        yield
    finally:
        umount(path)


def fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to the last byte."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (65536, 4096, 1):
            with suppress(OSError):
                while True:
                    os.write(fd, b"\0" * chunk)
    finally:
        os.close(fd)
    return filler


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("feeds.store.RETRY_SECONDS", 0.2)


def titles(app) -> set[str]:  # type: ignore[no-untyped-def]
    body = app.test_client().get("/feeds/all.atom?limit=100").data
    return {e.title for e in feedparser.parse(body).entries}


def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def add_articles(collection: Path, count: int, size: int = 0) -> set[str]:
    names = set()
    for n in range(count):
        title = f"Written on a full disk {n}"
        filler = " ".join(["Tokyo said so again."] * (size // 20))
        name = f"{n:03d}_{0xD000 + n:016x}.txt"
        when = f"2025-05-01T00:{n % 60:02d}:00Z"
        write_article(collection / "new", name, title, "Japan and Tokyo.", filler, date=when)
        names.add(title)
    return names


def stored_paths(index: Path) -> set[str]:
    with sqlite3.connect(index / "index.sqlite3") as db:
        rows = db.execute("SELECT shown FROM files WHERE text IS NOT NULL").fetchall()
    db.close()
    return {shown for (shown,) in rows}


def serving(settings: dict[str, object]):  # type: ignore[no-untyped-def]
    return create_app({**settings, "reload_interval": 0.05}, watch=True)


def test_a_full_disk_while_serving(settings, collection: Path, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level("WARNING")
    with tmpfs(tmp_path / "small", "3m") as folder:
        settings = {**settings, "index": str(folder / "index")}
        app = serving(settings)
        live = app.extensions["feeds"]
        try:
            filler = fill(folder)
            added = add_articles(collection, 60, size=20000)
            (collection / "002_c0ffee0000000002.txt").unlink()
            wait_for(lambda: added <= titles(app), "new articles were not published")
            wait_for(lambda: "Tokyo markets rally as yen weakens" not in titles(app),
                     "the deleted article is still published")  # fmt: skip
            assert live.store.unwritable, "the index was never found full"
            assert any("index.sqlite3" in r.getMessage() and "memory" in r.getMessage()
                       for r in caplog.records), "no warning names the index"  # fmt: skip
            body = app.test_client().get("/feeds/all.atom?q=said").data
            assert len(feedparser.parse(body).entries) == 20  # searched from memory too
            filler.unlink()
            wait_for(lambda: not live.store.pending, "the index was never written again")
        finally:
            live.close()
        files = {p.relative_to(collection).as_posix() for p in collection.rglob("*.txt")}
        assert stored_paths(folder / "index") == files
        app = create_app(settings, watch=False)
        try:
            assert added <= titles(app)
            assert "Tokyo markets rally as yen weakens" not in titles(app)
        finally:
            app.extensions["feeds"].close()


def test_a_read_only_index_folder_while_serving(settings, collection: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """A restart finds the index folder read-only: it serves, follows changes, and writes
    them all once the folder can be written again."""
    caplog.set_level("WARNING")
    index = Path(str(settings["index"]))
    serving(settings).extensions["feeds"].close()
    with read_only(index):
        app = serving(settings)
        live = app.extensions["feeds"]
        try:
            added = add_articles(collection, 5)
            (collection / "002_c0ffee0000000002.txt").unlink()
            wait_for(lambda: added <= titles(app), "new articles were not published")
            wait_for(lambda: "Tokyo markets rally as yen weakens" not in titles(app),
                     "the deleted article is still published")  # fmt: skip
            assert live.store.unwritable
            assert any(str(index) in r.getMessage() for r in caplog.records)
        except BaseException:
            live.close()
            raise
    try:
        wait_for(lambda: not live.store.pending, "the index was never written again")
    finally:
        live.close()
    files = {p.relative_to(collection).as_posix() for p in collection.rglob("*.txt")}
    assert stored_paths(index) == files


def test_combinations_asked_for_on_a_read_only_index_folder(settings, caplog) -> None:  # type: ignore[no-untyped-def]
    """The file that shares the combinations asked for between workers cannot be written:
    the combination is served, and the sharing lost is said once."""
    caplog.set_level("WARNING", logger="feeds.index.requested")
    index = Path(str(settings["index"]))
    serving(settings).extensions["feeds"].close()
    with read_only(index):
        app = serving(settings)
        try:
            client = app.test_client()
            for path in ("/feeds/korea+russia.rss", "/feeds/japan,russia.atom"):
                assert client.get(path).status_code == 200
            known = app.extensions["feeds"].snapshot.requested_selections()
            assert len(known) == 2
        finally:
            app.extensions["feeds"].close()
    said = [r for r in caplog.records if "combinations asked for" in r.getMessage()]
    assert len(said) == 1 and str(index) in said[0].getMessage()


def test_a_read_only_database_file_while_serving(settings, collection: Path) -> None:
    index = Path(str(settings["index"]))
    app = serving(settings)
    live = app.extensions["feeds"]
    try:
        sqlite3.connect(index / "index.sqlite3").execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        with read_only(index / "index.sqlite3"):
            (collection / "002_c0ffee0000000002.txt").unlink()
            wait_for(lambda: "Tokyo markets rally as yen weakens" not in titles(app),
                     "the deleted article is still published")  # fmt: skip
            assert app.test_client().get("/articles/c0ffee0000000002").status_code == 404
    finally:
        live.close()


def test_an_index_folder_that_cannot_be_written_from_the_start(
    settings, tmp_path: Path, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level("WARNING")
    folder = tmp_path / "locked"
    folder.mkdir()
    settings = {**settings, "index": str(folder / "index")}
    with read_only(folder):
        app = serving(settings)
        try:
            assert len(titles(app)) == 4
            assert any(str(folder / "index") in r.getMessage() for r in caplog.records)
        finally:
            app.extensions["feeds"].close()


def test_build_on_a_full_disk_is_one_line_with_the_path(runner, settings, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "tiny", "64k") as folder:
        result = runner.invoke(main, [
            "build", "--collection", str(settings["collection"]), "--index", str(settings["index"]),
            "--out", str(folder / "site"), "--jobs", "1",
        ])  # fmt: skip
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert str(folder) in lines[0] and "No space left on device" in lines[0]


def test_build_into_a_read_only_folder_is_one_line_with_the_path(
    runner, settings, tmp_path: Path
) -> None:
    folder = tmp_path / "published"
    folder.mkdir()
    with read_only(folder):
        result = runner.invoke(main, [
            "build", "--collection", str(settings["collection"]), "--index", str(settings["index"]),
            "--out", str(folder / "site"),
        ])  # fmt: skip
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert str(folder) in lines[0] and "Read-only file system" in lines[0]


@pytest.mark.parametrize("command", ["list", "check"])
def test_list_and_check_with_an_unreadable_collection_are_one_line(
    runner, settings, tmp_path: Path, command: str
) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    result = runner.invoke(main, [command, "--collection", str(not_a_folder / "sub"),
                                  "--index", str(settings["index"])])  # fmt: skip
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert str(not_a_folder / "sub") in result.output and "Traceback" not in result.output


def test_a_failed_update_is_tried_again_until_it_succeeds(settings, collection: Path) -> None:
    app = create_app(settings, watch=False)
    live = app.extensions["feeds"]
    try:
        real = live.dater.date
        failures = iter([True, True])

        def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
            if next(failures, False):
                raise OSError(28, "No space left on device")
            return real(*args, **kwargs)

        live.dater.date = flaky
        path = write_article(collection, "late.txt", "Tokyo story that waited", "About Japan.")
        live.notice(str(path), False)
        assert live.check() is False and live.last_error
        assert "Tokyo story that waited" not in titles(app)
        assert live.check() is False  # no new event: the failed one is tried again
        assert live.check() is True
        assert "Tokyo story that waited" in titles(app)
    finally:
        live.close()
