"""Parsing article files: one behaviour per data file in tests/data/articles/."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.collection import ArticleError, file_id, parse_article, read_article, scan

ARTICLES = Path(__file__).parent / "data" / "articles"


def parse(name: str):  # type: ignore[no-untyped-def]
    return parse_article((ARTICLES / name).read_bytes(), name)


def test_seed_format_title_summary_body_and_source() -> None:
    article, warnings = parse("plain_0123456789abcdef.txt")
    assert warnings == []
    assert article.id == "0123456789abcdef"
    assert article.title == "A plain article"
    assert article.summary == "The summary paragraph."
    assert article.body == ("First body paragraph.", "Second body paragraph.")
    assert article.source == "www.example.com"
    assert article.published is None


def test_front_matter_sets_fields() -> None:
    article, warnings = parse("front_matter.txt")
    assert warnings == []
    assert article.id == "my-story-1"
    assert article.title == "Title from front matter"
    assert article.author == "Jane Reporter"
    assert article.link == "https://news.example.org/story/1"
    assert article.source == "Example News"
    assert article.declared_topics == ("japan", "missiles")
    assert article.published == datetime(2025, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert article.updated == datetime(2025, 1, 3, tzinfo=UTC)


def test_without_source_line() -> None:
    article, _ = parse("no_source.txt")
    assert article.source is None
    assert article.body == ("Only body paragraph.",)


def test_crlf_and_cr_line_endings() -> None:
    crlf, _ = parse_article(b"Title\r\n\r\nSummary.\r\nBody.\r\n", "crlf.txt")
    cr, _ = parse_article(b"Title\r\rSummary.\rBody.\r", "cr.txt")
    assert (crlf.title, crlf.summary, crlf.body) == ("Title", "Summary.", ("Body.",))
    assert (cr.title, cr.summary, cr.body) == ("Title", "Summary.", ("Body.",))


def test_control_characters_are_removed() -> None:
    article, _ = parse_article(b"A ti\x01tle\x1b\n\nSum\x0bmary of it \xef\xbf\xbe.\n", "ctl.txt")
    assert article.title == "A title"
    assert article.summary == "Summary of it ."


def test_invalid_utf8_becomes_replacement_character_with_a_warning() -> None:
    data = "Café\n\nNaïve ".encode() + b"\xff text.\n"
    article, warnings = parse_article(data, "bad.txt")
    assert article.title == "Café"
    assert article.summary == "Naïve \ufffd text."
    assert [w.severity for w in warnings] == ["warning"]


def test_latin1_file_is_read_as_windows_1252() -> None:
    article, warnings = parse_article("Café\n\nSummary – naïve.\n".encode("cp1252"), "latin.txt")
    assert article.title == "Café"
    assert article.summary == "Summary – naïve."
    assert "Windows-1252" in warnings[0].reason


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.txt", "empty file"),
        ("title_only.txt", "no summary"),
        ("front_matter_unclosed.txt", "no closing"),
        ("front_matter_list.txt", "must be a mapping"),
    ],
    ids=lambda v: v.removesuffix(".txt") if v.endswith(".txt") else "",
)
def test_unpublishable_files_raise_a_clear_error(name: str, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        parse(name)


def test_python_tags_in_front_matter_never_execute(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    data = f"---\ntitle: !!python/object/apply:os.system ['touch {marker}']\n---\nT\n\nS\n"
    article, warnings = parse_article(data.encode(), "evil.txt")
    assert not marker.exists()
    assert article.title == "T"
    assert [w.reason for w in warnings] == ["front matter 'title' ignored: not valid YAML"]


@pytest.mark.parametrize(
    ("field", "kept"),
    [
        ('title: "Bad \\ud800 escape"', {"author": "Jane Reporter"}),  # a lone surrogate
        ('author: "\\udc80"', {"title": "From front matter"}),
        ("title: [unclosed", {"author": "Jane Reporter"}),
        ("title: !!python/object/apply:os.system ['true']", {"author": "Jane Reporter"}),
        ("date: 2025-02-30", {"title": "From front matter", "author": "Jane Reporter"}),
    ],
    ids=["surrogate-title", "surrogate-author", "unclosed", "python-tag", "impossible-date"],
)
def test_a_bad_front_matter_field_is_dropped_alone(field: str, kept: dict[str, str]) -> None:
    name = field.split(":", 1)[0]
    others = {"title": 'title: "From front matter"', "author": "author: Jane Reporter",
              "date": "date: 2025-01-02"}  # fmt: skip
    lines = [field, *(line for key, line in others.items() if key != name), "topics:", "  - korea"]
    data = ("---\n" + "\n".join(lines) + "\n---\nLine title\n\nSummary.\n").encode()
    article, warnings = parse_article(data, "one-bad-field.txt")
    assert [w.reason for w in warnings] == [f"front matter {name!r} ignored: not valid YAML"]
    for key, value in kept.items():
        assert getattr(article, key) == value
    assert article.declared_topics == ("korea",)
    assert article.paragraphs[-1] == "Summary."


def test_wrong_front_matter_types_are_ignored_with_warnings() -> None:
    article, warnings = parse("front_matter_wrong_types.txt")
    assert article.title == "The title line"
    assert article.published is None
    assert article.id == file_id("front_matter_wrong_types.txt")
    reasons = " ".join(w.reason for w in warnings)
    for key in ("'date'", "'id'", "'topics'", "'link'", "'colour'"):
        assert key in reasons


def test_id_from_file_name_suffix_or_path_hash() -> None:
    assert file_id("sub/001_73bcabc292162f38.txt") == "73bcabc292162f38"
    assert file_id("story.txt") == file_id("story.txt")
    assert file_id("story.txt") != file_id("other/story.txt")


def test_id_does_not_change_when_text_is_edited() -> None:
    before, _ = parse_article(b"Title\n\nSummary.\n", "a_0000000000000001.txt")
    after, _ = parse_article(b"New title\n\nNew summary.\nMore.\n", "a_0000000000000001.txt")
    assert before.id == after.id
    assert before.digest != after.digest


def test_long_titles_are_shortened_with_a_warning() -> None:
    article, warnings = parse_article(("T" * 1000 + "\n\nSummary.\n").encode(), "long.txt")
    assert len(article.title) == 300 and article.title.endswith("…")
    assert warnings


def test_scan_finds_txt_files_recursively_skipping_hidden_and_other_files(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in (
        "one.txt",
        "a/two.txt",
        "a/b/three.txt",
        ".hidden.txt",
        "notes.md",
        "a/.git/x.txt",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("T\n\nS\n")
    entries, problems = scan(tmp_path)
    assert [e.path for e in entries] == ["a/b/three.txt", "a/two.txt", "one.txt"]
    assert problems == []


def test_symlink_out_of_the_collection_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret\n\nDo not publish.\n")
    root = tmp_path / "collection"
    root.mkdir()
    (root / "link.txt").symlink_to(secret)
    (root / "loop").symlink_to(root)
    entries, problems = scan(root)
    assert entries == []
    assert any("outside the collection" in p.reason for p in problems)


def test_unreadable_file_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    (tmp_path / "gone.txt").write_text("T\n\nS\n")
    entries, _ = scan(tmp_path)
    (tmp_path / "gone.txt").unlink()
    article, problems = read_article(tmp_path, entries[0])
    assert article is None
    assert "cannot read" in problems[0].reason
