"""The file table: which file holds each article id, and what it reports."""

from __future__ import annotations

from datetime import UTC, datetime

from feeds.collection import FileEntry
from feeds.index.files import FileTable
from feeds.models import Article, Problem
from feeds.store import FileRecord

WHEN = datetime(2025, 1, 1, tzinfo=UTC)


def article(path: str, id_: str = "same") -> Article:
    return Article(id=id_, path=path, title=path, digest=path, published=WHEN, updated=WHEN)


def test_of_files_sharing_an_id_the_first_path_holds_it_and_the_others_are_reported() -> None:
    table = FileTable()
    table.set_articles({"b.txt": article("b.txt"), "a.txt": article("a.txt")})
    table.set_article("c.txt", article("c.txt"))
    assert table.owner("same") is table.articles["a.txt"]
    assert [str(p) for p in table.problems()] == [
        "b.txt: error: duplicate id 'same': a.txt has it already; skipped",
        "c.txt: error: duplicate id 'same': a.txt has it already; skipped",
    ]
    table.set_article("a.txt", None)
    assert table.owner("same") is table.articles["b.txt"]
    table.drop("c.txt")
    assert table.problems() == [] and table.owners() == {"same": table.articles["b.txt"]}


def test_an_article_found_by_identity_not_only_by_id() -> None:
    table = FileTable()
    first, second = article("a.txt"), article("b.txt")
    table.set_articles({"a.txt": first, "b.txt": second})
    assert table.path_of(second) == "b.txt"
    assert table.path_of(article("b.txt")) is None  # an equal article no file holds now


def test_problems_come_in_order_scan_then_extra_then_files() -> None:
    table = FileTable()
    table.scan_problems = [Problem("link.txt", "a symbolic link; skipped")]
    for path in ("z.txt", "m.txt"):
        table.keep(FileRecord(FileEntry(path, 1, 1), None, (Problem(path, "not text"),)))
    extra = Problem("topics.toml", "not valid TOML; previous topics kept")
    assert [p.path for p in table.problems([extra])] == [
        "link.txt",
        "topics.toml",
        "m.txt",
        "z.txt",
    ]
    table.keep(FileRecord(FileEntry("m.txt", 2, 2), None, ()))  # fixed
    assert [p.path for p in table.problems()] == ["link.txt", "z.txt"]
    assert table.entries["m.txt"] == FileEntry("m.txt", 2, 2)
