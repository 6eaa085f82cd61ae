"""The persistent index: what it stores comes back as it went in, across a reopening, and
the fast-start state resumes the file table it was saved from."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.collection import FileEntry
from feeds.index.files import FileTable
from feeds.index.state import FastStart
from feeds.models import Article, Indexed, Problem, field_values, restorer
from feeds.search import parse_query
from feeds.store import _AT, _FIELDS, _FILES, STATE_MAGIC, FileRecord, IndexStore, _row

WHEN = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
NOT_UTF8 = b"caf\xe9.txt".decode("utf-8", "surrogateescape")  # a Latin-1 file name


def tagged(path: str, **fields: object) -> Indexed:
    values: dict[str, object] = {
        "id": "abc", "path": path, "title": "Tokyo markets rally", "digest": "f" * 64,
        "source": "example.org", "author": "A. Writer", "link": "https://example.org/a",
        "published": WHEN, "updated": None, "declared_topics": ("japan",),
        "topics": ("japan", "asia"),
    }  # fmt: skip
    return Indexed(**{**values, **fields})  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = IndexStore(tmp_path / "index")
    yield opened
    opened.close()


@pytest.mark.parametrize("path", ["news/a.txt", "news/" + NOT_UTF8], ids=["utf-8", "not utf-8"])
def test_a_file_record_comes_back_as_stored_after_reopening(store, path: str) -> None:  # type: ignore[no-untyped-def]
    shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    article = tagged(shown)
    record = FileRecord(FileEntry(path, 120, 1_700_000_000_123_456_789), article,
                        (Problem(shown, "odd date", "warning"),), "tagging-1")  # fmt: skip
    text = ("The yen weakened.", "Shares rose in Tokyo.")
    store.save([(record, text)])
    store.close()
    again = IndexStore(store.folder)
    try:
        assert list(again.files()) == [record]
        assert again.text(shown) == text
        assert again.search(parse_query("yen")) == {shown}
    finally:
        again.close()


def test_a_file_without_an_article_keeps_its_problems(store) -> None:  # type: ignore[no-untyped-def]
    record = FileRecord(FileEntry("bad.txt", 3, 1), None, (Problem("bad.txt", "not text"),))
    store.save([(record, None)])
    assert list(store.files()) == [record]
    store.forget(["bad.txt"])
    assert list(store.files()) == []


def test_the_fast_start_state_resumes_the_table_it_was_saved_from(store) -> None:  # type: ignore[no-untyped-def]
    first = tagged("a.txt").dated(WHEN, WHEN)
    second = tagged("b.txt", id="def", link=None).dated(
        datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 4, 2, tzinfo=UTC)
    )
    table = FileTable()
    for path, size in (("a.txt", 1), ("b.txt", 2), ("c.txt", 3)):
        problems = (Problem(path, "not text"),) if path == "c.txt" else ()
        table.keep(FileRecord(FileEntry(path, size, size), None, problems))
    table.set_articles({"a.txt": first, "b.txt": second})
    table.scan_problems = [Problem("link.txt", "a symbolic link; skipped")]
    FastStart(store).save(table, (second, first), "fingerprint", "git")

    resumed = FastStart(store).load("fingerprint")
    assert resumed is not None
    again, git_key = resumed
    assert git_key == "git"
    assert again.entries == table.entries and again.problems_of == table.problems_of
    assert again.articles == table.articles
    assert again.scan_problems == table.scan_problems
    assert again.problems() == table.problems()
    assert list(again.articles) == ["b.txt", "a.txt"]  # newest first, as saved
    assert FastStart(store).load("other topics") is None


def test_a_damaged_state_file_is_set_aside(store) -> None:  # type: ignore[no-untyped-def]
    FastStart(store).save(FileTable(), (), "fingerprint", None)
    data = store.snapshot_file.path.read_bytes()
    assert data.startswith(STATE_MAGIC)
    store.snapshot_file.path.write_bytes(data[:-10])
    assert FastStart(store).load("fingerprint") is None
    assert not store.snapshot_file.path.exists()
    assert store.snapshot_file.path.with_name("snapshot.pickle.damaged").exists()


def test_a_record_remade_from_its_field_values_equals_it() -> None:
    article = tagged("a.txt").dated(WHEN, datetime(2025, 4, 2, tzinfo=UTC))
    for record in (article, FileEntry("a.txt", 3, 7), Problem("a.txt", "odd", "warning")):
        kind = type(record)
        again = restorer(kind)(field_values(kind)(record))
        assert type(again) is kind and again == record and hash(again) == hash(record)
    with pytest.raises(ValueError):  # a value short: never a record with a field unset
        restorer(Article)(field_values(Article)(article)[:-1])


def test_a_row_has_a_value_for_each_column_of_the_files_table_in_order() -> None:
    db = sqlite3.connect(":memory:")
    db.execute(_FILES)
    columns = tuple(name for _, name, *_ in db.execute("PRAGMA table_info(files)"))
    db.close()
    assert columns == _FIELDS
    record = FileRecord(FileEntry("a.txt", 10, 1), tagged("a.txt"), (), "tagging", "[]")
    row = _row(record, ("Summary.", "Body."))
    assert len(row) == len(columns)
    assert row[_AT["title"]] == "Tokyo markets rally" and row[_AT["reasons"]] == "[]"


class _LookThenWait:
    """A connection that, once it has looked for the rows it is about to replace, lets
    another worker store the same file before it writes: the race of two workers noticing
    one new file at the same moment, made certain."""

    def __init__(self, db: sqlite3.Connection, other_worker: threading.Thread) -> None:
        self._db, self._other = db, other_worker

    def execute(self, sql: str, *args: object) -> object:
        rows = self._db.execute(sql, *args).fetchall()
        if sql.startswith("SELECT path, rowid") and self._other.ident is None:  # not started
            self._other.start()
            # The other worker writes at once unless this one already holds the write lock;
            # then it waits for this one's commit, and this bound is all this one waits.
            self._other.join(2.0)
        return iter(rows)

    def executemany(self, sql: str, rows: object) -> object:
        return self._db.executemany(sql, rows)  # type: ignore[arg-type]


def test_two_workers_storing_one_new_file_at_once_leave_a_sound_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = IndexStore(tmp_path / "index"), IndexStore(tmp_path / "index")
    record = FileRecord(FileEntry("news/a.txt", 120, 1), tagged("news/a.txt"), (), "tagging-1")
    text = ("The yen weakened.", "Shares rose in Tokyo.")
    other = threading.Thread(target=first.save, args=([(record, text)],))
    write_files = IndexStore._write_files

    def racing(self: IndexStore, db: sqlite3.Connection) -> None:
        write_files(self, _LookThenWait(db, other) if self is second else db)  # type: ignore[arg-type]

    monkeypatch.setattr(IndexStore, "_write_files", racing)
    try:
        second.save([(record, text)])
        other.join(60)
        assert not other.is_alive()
        assert first.damaged is None and second.damaged is None
        assert not first.pending and not second.pending
    finally:
        first.close()
        second.close()
    monkeypatch.undo()
    assert not list((tmp_path / "index").glob("*.damaged-*"))
    again = IndexStore(tmp_path / "index")
    try:
        assert list(again.files()) == [record]
        assert again.search(parse_query("yen")) == {"news/a.txt"}
    finally:
        again.close()


def test_workers_that_find_the_same_damage_rebuild_one_database(tmp_path: Path) -> None:
    """Two workers serving one index find it damaged: the first sets it aside and makes a
    new one; the second opens that one rather than setting it aside in turn."""
    folder = tmp_path / "index"
    first, second = IndexStore(folder), IndexStore(folder)
    old = FileRecord(FileEntry("news/a.txt", 120, 1), tagged("news/a.txt"), (), "tagging-1")
    new = FileRecord(FileEntry("news/b.txt", 130, 2), tagged("news/b.txt", id="bcd"), (),
                     "tagging-1")  # fmt: skip
    try:
        first.save([(old, ("The yen weakened.",))])
        with (folder / "index.sqlite3").open("r+b") as handle:  # junk over every page but the first
            handle.seek(4096)
            handle.write(b"\xff" * 4096 * 4)
        damage = sqlite3.DatabaseError("database disk image is malformed")
        for store in (first, second):
            store._damage(damage)  # as a read that met the junk would
        first.heal({})
        first.save([(new, ("Shares rose in Tokyo.",))])
        second.heal({})
        second.save([(old, ("The yen weakened.",))])
    finally:
        first.close()
        second.close()
    assert len(list(folder.glob("index.sqlite3.damaged-*"))) == 1
    again = IndexStore(folder)
    try:
        assert sorted(r.entry.path for r in again.files()) == ["news/a.txt", "news/b.txt"]
        assert again.search(parse_query("shares")) == {"news/b.txt"}
    finally:
        again.close()
