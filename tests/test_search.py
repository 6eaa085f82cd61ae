"""Search: answered from the word index built with the snapshot, never a scan of every text."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import BASE_URL, write_article
from feeds.compose import full
from feeds.search import matches, normalise_query, words
from feeds.topics import WORD

TOKYO = "Tokyo markets rally as yen weakens"


def fetch(client, url: str, **options):  # type: ignore[no-untyped-def]
    """GET, following one redirect to the canonical URL."""
    response = client.get(url, **options)
    if response.status_code == 301:
        response = client.get(response.headers["Location"].removeprefix(BASE_URL))
    return response


def titles(client, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    response = fetch(client, url)
    assert response.status_code == 200, url
    return [e.title for e in feedparser.parse(response.data).entries]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("yen", [TOKYO]),
        ("YEN", [TOKYO]),
        ("yen%20tokyo", [TOKYO]),
        ("yen%20nothing", []),
        ("%22markets%20rally%22", [TOKYO]),
        ("%22rally%20markets%22", []),
        ("ye", []),  # whole words only
        ("yen*", [TOKYO]),  # FTS5 operators are plain text
        ("yen%20OR%20nothing", []),
        ("NEAR(yen)", []),  # the word "near" too
        ("%22", None),
        ("-yen", [TOKYO]),
        ("yen:", [TOKYO]),
        ("^yen", [TOKYO]),
    ],
)
def test_search_means_every_word_or_the_phrase(client, query: str, found) -> None:  # type: ignore[no-untyped-def]
    response = fetch(client, f"/feeds/all.atom?q={query}")
    assert response.status_code == 200
    got = [e.title for e in feedparser.parse(response.data).entries]
    if found is not None:
        assert got == found


def test_search_reads_no_text_of_articles_it_does_not_return(app, client, monkeypatch) -> None:
    read: list[str] = []
    texts = app.extensions["feeds"].texts
    text = texts.text

    def counting(article):  # type: ignore[no-untyped-def]
        read.append(article.path)
        return text(article)

    monkeypatch.setattr(texts, "text", counting)
    assert titles(client, "/feeds/all.atom?q=nothing%20matches%20this") == []
    assert fetch(client, "/topics/korea?q=zzz").status_code == 200
    assert read == [], "a search read the texts of articles it did not return"
    assert titles(client, "/feeds/all.atom?q=yen") == [TOKYO]
    assert len(read) == 1


def test_the_word_index_follows_changes(app, client, collection: Path) -> None:
    live = app.extensions["feeds"]
    path = write_article(
        collection,
        "new.txt",
        "Seoul summit",
        "Pyongyang and Seoul met.",
        "The zebrafish accord was signed.",
        date="2025-04-01",
    )
    live.refresh()
    assert titles(client, "/feeds/all.atom?q=zebrafish") == ["Seoul summit"]
    path.write_text(path.read_text().replace("zebrafish", "seahorse"))
    live.refresh()
    assert titles(client, "/feeds/all.atom?q=zebrafish") == []
    assert titles(client, "/feeds/all.atom?q=seahorse") == ["Seoul summit"]
    path.unlink()
    live.refresh()
    assert titles(client, "/feeds/all.atom?q=seahorse") == []


def test_the_index_and_one_article_agree(app) -> None:
    snap = app.extensions["feeds"].snapshot
    for query in ("yen", "korea", '"north korea"', "seoul pyongyang", "the", "script alert"):
        by_index = [a.id for a in snap.search(snap.articles, query)]
        by_text = [a.id for a in snap.articles if matches(full(snap, a), query)]
        assert by_index == by_text, query


CHARACTERS = ["%00", "%01", "%1F", "%7F", "%C2%85", "%ED%A0%80", "%EF%BF%BE", "%EF%BF%BF",
              "%F0%9F%92%A3", "%FF", "%E2%80%8B", "%5C", "%27", "%22%22%22", "%25", "%2B", "+",
              "%0D%0A", "%09", "%EF%BB%BF", "%D8%A7", "%E4%B8%AD"]  # fmt: skip


@pytest.mark.parametrize("char", CHARACTERS)
@pytest.mark.parametrize("where", ["/feeds/all.rss", "/feeds/korea.atom", "/", "/topics/korea"])
def test_any_character_in_a_search(client, char: str, where: str) -> None:
    for query in (char, f"yen{char}", f"{char}yen{char}tokyo"):
        response = fetch(client, f"{where}?q={query}")
        assert response.status_code == 200, (query, response.get_data(as_text=True))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.text(max_size=40))
def test_any_text_searches_without_error(client, text: str) -> None:  # type: ignore[no-untyped-def]
    response = fetch(client, "/feeds/all.json", query_string={"q": text})
    assert response.status_code == 200
    assert normalise_query(normalise_query(text)) == normalise_query(text)


@given(st.lists(st.text(), max_size=4))
@example([" a b  c\t_d__e_ ", "F\u00a0G — h,i ", "_", " ", ""])  # lone spaces, runs, "_"
def test_the_words_of_a_text_are_its_words_lowered_one_space_apart(parts: list[str]) -> None:
    """What the word index holds for an article: each word as topics find words, lowered."""
    assert words(parts) == " ".join(WORD.findall(" ".join(parts).lower()))
