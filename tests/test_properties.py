"""Property tests: any text in, well-formed feeds out, and the text survives a real reader."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feeds.collection import parse_article
from feeds.compose import FeedRequest, render_document
from feeds.config import Config
from feeds.models import Selection
from feeds.snapshot import Snapshot
from feeds.taxonomy import load_taxonomy
from feeds.topics import Matcher

TAXONOMY = load_taxonomy()
MATCHER = Matcher(TAXONOMY)
CONFIG = Config.load(
    {"base_url": "http://feeds.test", "collection": str(Path(__file__).parent)}, environ={}
)
WHEN = datetime(2025, 1, 1, tzinfo=UTC)
ILLEGAL = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ufffe\\uffff\\ud800-\\udfff]")

# Any line of text: every Unicode category, controls and surrogates included.
line = st.text(st.characters(codec=None, exclude_characters="\n\r"), min_size=1, max_size=80)


def publish(title: str, summary: str, body: list[str]):  # type: ignore[no-untyped-def]
    data = "\n".join([title, "", summary, *body]).encode("utf-8", "surrogatepass")
    article, _ = parse_article(data, "prop_0123456789abcdef.txt")
    indexed = article.indexed(MATCHER.topics_of(article))
    story = indexed.dated(WHEN, WHEN).with_text(article.paragraphs)
    snap = Snapshot.build([story], [], TAXONOMY, CONFIG, MATCHER)
    docs = {
        ext: render_document(snap, FeedRequest(Selection(), ext, 20)).body
        for ext in ("rss", "atom", "json")
    }
    return article, docs


def usable(title: str, summary: str, body: list[str] = []) -> bool:  # noqa: B006  # never changed
    text = "\n".join([title, "", summary, *body])  # as publish() writes it
    try:
        parse_article(text.encode("utf-8", "surrogatepass"), "x.txt")
    except ValueError:
        return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(title=line, summary=line, body=st.lists(line, max_size=3))
def test_any_text_gives_well_formed_feeds_that_round_trip(
    title: str, summary: str, body: list[str]
) -> None:
    if not usable(title, summary, body):
        return  # only whitespace or control characters: reported as a problem, tested elsewhere
    article, docs = publish(title, summary, body)
    for ext in ("rss", "atom"):
        etree.fromstring(docs[ext], etree.XMLParser(recover=False))
    document = json.loads(docs["json"])

    rss = feedparser.parse(docs["rss"])
    atom = feedparser.parse(docs["atom"])
    assert rss.bozo == 0 and atom.bozo == 0
    (rss_entry,), (atom_entry,), (json_item,) = rss.entries, atom.entries, document["items"]

    assert json_item["title"] == article.title
    assert json_item["summary"] == article.summary
    assert rss_entry.title == as_feedparser_shows(article.title)
    atom_title = atom_entry.title
    if atom_entry.title_detail.type == "text/html":
        atom_title = html.unescape(atom_title)
    assert atom_title == as_feedparser_shows(article.title)
    texts = [html.unescape(p) for p in _paragraphs(json_item["content_html"])]
    assert texts[: len(article.paragraphs)] == list(article.paragraphs)


def as_feedparser_shows(text: str) -> str:
    """feedparser "repairs" text that is also valid UTF-8 read as Latin-1 (its mixin.py):
    a reader's choice, applied to the bytes we send correctly."""
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _paragraphs(content: str) -> list[str]:
    return [chunk.split("</p>")[0] for chunk in content.split("<p>")[1:]]


@given(text=line)
def test_published_text_is_the_input_less_control_characters(text: str) -> None:
    if not usable(text, "summary") or any("\ud800" <= ch <= "\udfff" for ch in text):
        return  # lone surrogates become U+FFFD when the bytes are decoded: tested elsewhere
    article, _ = parse_article(f"{text}\n\nsummary\n".encode(), "x.txt")
    expected = unicodedata.normalize("NFC", ILLEGAL.sub("", text))
    if len(expected) < 300:
        assert article.title.split() == expected.split()
    assert not ILLEGAL.search(article.title)
