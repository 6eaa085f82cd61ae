"""URL paths and permanent ids: how selections are spelled, parsed and named."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.models import Selection
from feeds.urls import (
    SelectionError,
    archive_path,
    article_path,
    article_urn,
    feed_path,
    feed_urn,
    parse_selection,
    selection_key,
    topic_path,
)

KOREA = Selection(all_of=("korea",))


@pytest.mark.parametrize(
    ("text", "selection", "canonical"),
    [
        ("all", Selection(), "all"),
        ("korea", KOREA, "korea"),
        ("russia+korea", Selection(all_of=("korea", "russia")), "korea+russia"),
        ("russia,korea", Selection(any_of=("korea", "russia")), "korea,russia"),
        ("korea,korea", KOREA, "korea"),
        ("korea+korea+japan", Selection(all_of=("japan", "korea")), "japan+korea"),
        ("korea~north-korea", Selection(all_of=("korea",), none_of=("north-korea",)),
         "korea~north-korea"),
        ("korea,japan~russia~china~russia",
         Selection(any_of=("japan", "korea"), none_of=("china", "russia")),
         "japan,korea~china~russia"),
        ("g7", Selection(all_of=("g7",)), "g7"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)  # fmt: skip
def test_a_selection_is_parsed_and_spelled_canonically(
    text: str, selection: Selection, canonical: str
) -> None:
    assert parse_selection(text) == selection
    assert selection_key(selection) == canonical
    assert parse_selection(canonical) == selection


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("korea+japan,russia", "either '+'"),
        ("Korea", "not a topic slug"),
        ("", "at least one topic"),
        ("korea+", "not a topic slug"),
        ("-korea", "not a topic slug"),
        ("north--korea", "not a topic slug"),
        ("north_korea", "not a topic slug"),
        ("korea~", "not a topic slug"),
        ("~korea", "at least one topic before '~'"),
        ("korée", "not a topic slug"),
    ],
    ids=["both-joiners", "capitals", "empty", "trailing-plus", "leading-hyphen", "double-hyphen",
         "underscore", "empty-exclusion", "only-exclusion", "accent"],
)  # fmt: skip
def test_a_path_that_spells_no_selection_is_refused(text: str, reason: str) -> None:
    with pytest.raises(SelectionError, match=re.escape(reason)):
        parse_selection(text)


slugs = st.from_regex(r"\A[a-z0-9]{1,6}(-[a-z0-9]{1,4}){0,2}\Z")


@given(st.lists(slugs, min_size=1, max_size=4), st.lists(slugs, max_size=3), st.booleans())
def test_every_spelling_of_a_selection_comes_back_to_its_canonical_one(
    included: list[str], excluded: list[str], any_of: bool
) -> None:
    text = ("," if any_of else "+").join(reversed(included)) + "".join("~" + s for s in excluded)
    selection = parse_selection(text)
    assert set(selection.all_of + selection.any_of) == set(included)
    assert set(selection.none_of) == set(excluded)
    key = selection_key(selection)
    assert parse_selection(key) == selection and selection_key(parse_selection(key)) == key


def test_ids_are_permanent_and_one_per_selection_whatever_the_spelling() -> None:
    # Readers know articles and feeds by these ids: they must never change between versions.
    assert article_urn("73bcabc292162f38") == "urn:uuid:318275cc-8d00-5add-ba67-2566a13bb8a5"
    assert feed_urn(KOREA) == "urn:uuid:8e9d2a64-3a24-5038-835b-43ee7fd08c64"
    spellings = ("korea+russia", "russia+korea", "russia+korea+russia")
    assert len({feed_urn(parse_selection(text)) for text in spellings}) == 1
    assert feed_urn(parse_selection("korea+russia")) != feed_urn(parse_selection("korea,russia"))
    assert feed_urn(Selection()) != feed_urn(KOREA)


def test_paths_of_feeds_archives_topics_and_articles() -> None:
    both = parse_selection("russia+korea")
    assert feed_path(both, "atom") == "/feeds/korea+russia.atom"
    assert feed_path(Selection(), "json") == "/feeds/all.json"
    assert archive_path(KOREA, 3, "rss") == "/feeds/korea/archive/3.rss"
    assert topic_path("north-korea") == "/topics/north-korea"
    assert article_path("73bcabc292162f38") == "/articles/73bcabc292162f38"
