"""A hostile collection: every kind of broken or malicious file is published safely or reported.

The collection is built by the test itself. In every case all the good
articles are still published and every feed stays well-formed.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import feedparser
import pytest
from lxml import etree, html

from conftest import app_settings
from feeds import create_app
from feeds.collection import MAX_FILE_BYTES
from feeds.compose import full

GOOD = "Good article {n}\n\nA normal summary about Japan and Tokyo.\nBody.\nOriginal Source: example.com\n"

# name -> (bytes, expected: "published" with the title it gets, or "problem" with a reason)
CASES: dict[str, tuple[bytes, str, str]] = {
    "invalid_utf8.txt": (
        b"Bad \xff\xfe bytes\n\nCaf\xc3\xa9 summary \xc3\x28 here.\n",
        "published",
        "Bad \ufffd\ufffd bytes",
    ),
    "utf8_bom.txt": ("\ufeffBOM title\n\nSummary.\n".encode(), "published", "BOM title"),
    "utf16_bom.txt": (
        "UTF-16 title ✓\n\nSummary.\n".encode("utf-16"),
        "published",
        "UTF-16 title ✓",
    ),
    "latin1.txt": ("Café crème\n\nRésumé.\n".encode("latin-1"), "published", "Café crème"),
    "controls.txt": (
        b"Con\x00trol\x07 \x1b[31mred\x85\xc2\x9f\n\nS\x0c.\n",
        "problem",
        "not text: it holds NUL bytes",
    ),
    "nonchars.txt": ("Non\ufffechar\uffff\n\nSummary.\n".encode(), "published", "Nonchar"),
    "surrogate_escape.txt": (  # the one bad field is dropped, with a warning
        b'---\ntitle: "Lone \\ud800 surrogate"\n---\nT\n\nS.\n',
        "published",
        "T",
    ),
    "crlf.txt": (b"CRLF title\r\n\r\nSummary.\r\nBody.\r\n", "published", "CRLF title"),
    "cr.txt": (b"CR title\r\rSummary.\rBody.\r", "published", "CR title"),
    "rtl_emoji.txt": (
        "مرحبا بالعالم 🌍👩‍👩‍👧\n\nשלום עולם.\n".encode(),
        "published",
        "مرحبا بالعالم 🌍👩‍👩‍👧",
    ),
    "empty.txt": (b"", "problem", "empty file"),
    "whitespace.txt": (b"  \n\t\n \r\n", "problem", "empty file"),
    "title_only.txt": (b"Only a title\n", "problem", "no summary"),
    "summary_only.txt": (b"Title\n\nJust a summary.\n", "published", "Title"),
    "long_title.txt": (b"L" * 5000 + b"\n\nSummary.\n", "published", "L" * 299 + "…"),
    "long_line.txt": (b"Long line\n\n" + b"word " * 50000 + b"\n", "published", "Long line"),
    "too_large.txt": (b"Huge\n\n" + b"x" * (MAX_FILE_BYTES + 10), "problem", "larger than"),
    "dup_title_a.txt": (b"Same title\n\nFirst body.\n", "published", "Same title"),
    "dup_title_b.txt": (b"Same title\n\nSecond body.\n", "published", "Same title"),
    "dup_id_a.txt": (b"---\nid: twin\n---\nTwin A\n\nS.\n", "published", "Twin A"),
    "dup_id_b.txt": (b"---\nid: twin\n---\nTwin B\n\nS.\n", "problem", "duplicate id 'twin'"),
    "script.txt": (
        b'<script>alert(1)</script>\n\n<img src=x onerror=alert(1)> <a href="javascript:alert(1)">x</a>\n',
        "published",
        "<script>alert(1)</script>",
    ),
    "cdata.txt": (
        b"]]> and <![CDATA[ & &amp; &#x27; &bogus;\n\nStray & ampersand.\n",
        "published",
        "]]> and <![CDATA[ & &amp; &#x27; &bogus;",
    ),
    "yaml_bad.txt": (b"---\ntitle: [oops\n---\nT\n\nS.\n", "published", "T"),
    "yaml_object.txt": (
        b"---\ntitle: !!python/object/apply:os.system ['touch /tmp/feeds-pwned']\n---\nT\n\nS.\n",
        "published",
        "T",
    ),
    "yaml_not_a_mapping.txt": (b"---\n- [oops\n---\nT\n\nS.\n", "problem", "not valid YAML"),
    "yaml_nested.txt": (
        b"---\na: " + b"[" * 5000 + b"]" * 5000 + b"\n---\nT\n\nS.\n",
        "problem",
        "nests too deeply",
    ),
    "date_impossible.txt": (
        b"---\ndate: 2025-02-30\n---\nImpossible date\n\nS.\n",
        "published",  # without the date, with a warning: a bad field costs only itself
        "Impossible date",
    ),
    "date_odd.txt": (
        b"---\ndate: 'Tue, 4 Mar 2025 10:00:00 +0100'\n---\nOdd date\n\nS.\n",
        "published",
        "Odd date",
    ),
    "date_future.txt": (
        b"---\ndate: 2999-01-01\n---\nFuture date\n\nS.\n",
        "published",
        "Future date",
    ),
    "date_year1.txt": (b"---\ndate: 0001-01-01\n---\nYear one\n\nS.\n", "published", "Year one"),
    "date_text.txt": (b"---\ndate: last tuesday\n---\nText date\n\nS.\n", "published", "Text date"),
    "types.txt": (
        b"---\ntitle: [1, 2]\ntopics: 7\nid: {a: b}\nauthor: [x]\nlink: 42\nupdated: true\n---\nWrong types\n\nS.\n",
        "published",
        "Wrong types",
    ),
    "-leading-dash.txt": (b"Leading dash\n\nS.\n", "published", "Leading dash"),
    "with space ü.txt": (b"Space and unicode\n\nS.\n", "published", "Space and unicode"),
    "a..b.txt": (b"Dots\n\nS.\n", "published", "Dots"),
    "..dots.txt": (b"Dots, hidden\n\nS.\n", "ignored", ""),
    "notes.md": (b"Not an article\n\nS.\n", "ignored", ""),
    # Binary data named like an article: random bytes without NUL, a line of them first.
    "random.txt": (
        bytes(b for b in random.Random(13).randbytes(3000) if b) + b"\n\nS.\n",
        "problem",
        "not text",
    ),
    "controls_mostly.txt": (
        b"\x1b\x07\x1b\x01 x \x02\x03\x04\x05\n\nS\x06\x10.\n",
        "problem",
        "not text",
    ),
    ".hidden.txt": (b"Hidden\n\nS.\n", "ignored", ""),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "collection"
    folder.mkdir()
    for n in range(3):
        (folder / f"good_{n:016x}.txt").write_text(GOOD.format(n=n))
    for name, (data, _, _) in CASES.items():
        (folder / name).write_bytes(data)
    (folder / os.fsdecode(b"bad-name-\xff.txt")).write_bytes(b"Undecodable name\n\nS.\n")
    outside = root / "secret.txt"
    outside.write_text("Secret\n\nNever publish this.\n")
    (folder / "escape.txt").symlink_to(outside)
    (folder / "escape_dir").symlink_to(root)
    (folder / "loop").symlink_to(folder)
    (folder / "dangling.txt").symlink_to(root / "missing.txt")
    os.mkfifo(folder / "fifo.txt")
    (folder / "dir.txt").mkdir()
    return folder


@pytest.fixture(scope="module")
def hostile_app(hostile: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    index = tmp_path_factory.mktemp("index")
    app = create_app(app_settings(hostile, index), watch=False)
    yield app
    app.extensions["feeds"].close()


def snapshot(app):  # type: ignore[no-untyped-def]
    return app.extensions["feeds"].snapshot


@pytest.mark.parametrize("name", sorted(CASES), ids=str)
def test_each_file_is_published_or_reported(hostile_app, name: str) -> None:
    _, expected, detail = CASES[name]
    snap = snapshot(hostile_app)
    published = {a.path: a for a in snap.articles}
    problems = {p.path: p for p in snap.problems if p.severity == "error"}
    if expected == "published":
        assert name in published, problems.get(name)
        assert published[name].title == detail
    elif expected == "problem":
        assert name not in published
        assert detail in problems[name].reason
    else:
        assert name not in published and name not in problems


def test_good_articles_are_all_published(hostile_app) -> None:
    titles = [a.title for a in snapshot(hostile_app).articles]
    assert {"Good article 0", "Good article 1", "Good article 2"} <= set(titles)


def test_file_system_traps_are_reported_not_followed(hostile_app) -> None:
    snap = snapshot(hostile_app)
    text = "\n".join(str(p) for p in snap.problems)
    assert "escape.txt: error: symbolic link to outside the collection" in text
    assert "fifo.txt: error: not a regular file" in text
    assert "dangling.txt" in text
    assert all(
        "Never publish this" not in " ".join(full(snap, a).paragraphs) for a in snap.articles
    )
    assert any(a.title == "Undecodable name" and "\ufffd" in a.path for a in snap.articles)


def test_dates_that_cannot_be_used_are_reported_and_replaced(hostile_app) -> None:
    snap = snapshot(hostile_app)
    warnings = {p.path: p.reason for p in snap.problems if p.severity == "warning"}
    assert "in the future" in warnings["date_future.txt"]
    assert "implausible year" in warnings["date_year1.txt"]
    assert "not an ISO 8601 or RFC 2822 date" in warnings["date_text.txt"]
    odd = next(a for a in snap.articles if a.path == "date_odd.txt")
    assert odd.published.isoformat() == "2025-03-04T09:00:00+00:00"


def test_the_object_tag_never_ran() -> None:
    assert not Path("/tmp/feeds-pwned").exists()


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_every_feed_stays_well_formed(hostile_app, fmt: str) -> None:
    client = hostile_app.test_client()
    for path in [f"/feeds/all.{fmt}?limit=100", f"/feeds/japan.{fmt}"]:
        response = client.get(path)
        assert response.status_code == 200
        if fmt == "json":
            json.loads(response.data)
            continue
        etree.fromstring(response.data, etree.XMLParser(recover=False))
        assert feedparser.parse(response.data).bozo == 0


def test_markup_is_text_in_feeds_and_pages(hostile_app) -> None:
    client = hostile_app.test_client()
    snap = snapshot(hostile_app)
    script = next(a for a in snap.articles if a.path == "script.txt")
    entry = next(
        e for e in feedparser.parse(client.get("/feeds/all.rss?limit=100").data).entries
        if e.link.endswith(script.id)
    )  # fmt: skip
    assert entry.title == "<script>alert(1)</script>"
    content = html.fragment_fromstring(entry.content[0].value, create_parent="div")
    assert content.xpath("//script|//img|//*[@onerror]") == []
    assert all(href.startswith("https://") for href in content.xpath("//a/@href"))
    assert "<img src=x onerror=alert(1)>" in content.text_content()
    page = client.get(f"/articles/{script.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_every_page_answers(hostile_app) -> None:
    client = hostile_app.test_client()
    for article in snapshot(hostile_app).articles:
        assert client.get(f"/articles/{article.id}").status_code == 200
    assert client.get("/").status_code == 200
