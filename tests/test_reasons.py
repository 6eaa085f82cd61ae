"""Why an article is in its topics: worked out at tagging, kept in the index, shown by its page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, write_article
from feeds import reasons
from feeds.collection import ArticleError, parse_article
from feeds.index import tagging
from feeds.models import Parsed
from feeds.taxonomy import load_taxonomy
from feeds.topics import Matcher

STORY = (
    "North Korea tests a missile",
    "Pyongyang fired a missile on Monday, officials in Seoul said.",
    "North Korea said the test was a success. Japan protested.",
    "South Korea called an emergency meeting.",
)


def story(front: str = "") -> Parsed:
    text = front + "\n".join([STORY[0], "", *STORY[1:]]) + "\n"
    return parse_article(text.encode(), "a.txt")[0]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_taxonomy())


def test_tagging_gives_the_topics_the_matcher_gives(matcher: Matcher) -> None:
    """One matching gives both, and the topics are those the matcher itself gives."""
    files = sorted((DATA / "collection").rglob("*.txt")) + sorted((DATA / "articles").glob("*.txt"))
    for path in files:
        try:
            parsed = parse_article(path.read_bytes(), path.name)[0]
        except ArticleError:  # the files of the collection's problems
            continue
        topics, why = reasons.tag(matcher, parsed)
        assert topics == matcher.topics_of(parsed), path.name
        assert tuple(r.slug for r in why) == topics
    article = story()
    topics, why = reasons.tag(matcher, article)
    assert topics == matcher.topics_of(article)
    assert tuple(r.slug for r in why) == topics
    verdicts = matcher.verdicts(article)
    north = next(r for r in why if r.slug == "north-korea")
    assert north.reason == verdicts["north-korea"].reason
    assert north.evidence == tuple(verdicts["north-korea"].evidence())


def test_reasons_survive_the_index_format(matcher: Matcher) -> None:
    article = story("---\ntopics: japan\n---\n")
    _, why = reasons.tag(matcher, article)
    assert any(r.declared for r in why)
    why += (reasons.Reason("asia", via_child="east-asia"),)
    assert reasons.loads(reasons.dumps(why)) == why
    for damaged in (None, "", "{", "[1]", '{"a": 1}', "[[1, 2]]"):
        assert reasons.loads(damaged) is None


def test_an_article_page_shows_the_reasons_kept_at_tagging(
    settings: dict[str, object], make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page matches nothing again: the reasons come from the index, and give the same
    page as matching the article again would."""
    write_article(Path(str(settings["collection"])), "korea.txt", *STORY)
    app = make_app(settings)
    snap = app.extensions["feeds"].snapshot
    article = next(a for a in snap.articles if a.path == "korea.txt")
    again = app.test_client().get(f"/articles/{article.id}").get_data()
    assert b"Pyongyang" in again and b"<summary>Why</summary>" in again

    def no_matching(*args: object) -> None:
        raise AssertionError("the page matched the article again")

    monkeypatch.setattr(Matcher, "verdicts", no_matching)
    fresh = make_app(settings)  # another process, say: nothing rendered yet
    page = fresh.test_client().get(f"/articles/{article.id}").get_data()
    assert page == again


def test_an_article_without_kept_reasons_is_explained_again(
    settings: dict[str, object], make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_article(Path(str(settings["collection"])), "korea.txt", *STORY)
    app = make_app(settings)
    snap = app.extensions["feeds"].snapshot
    article = next(a for a in snap.articles if a.path == "korea.txt")
    kept = app.test_client().get(f"/articles/{article.id}").get_data()
    fresh = make_app(settings)
    monkeypatch.setattr(type(fresh.extensions["feeds"].texts), "reasons", lambda *a: None)
    assert fresh.test_client().get(f"/articles/{article.id}").get_data() == kept


def test_kept_reasons_are_made_again_when_their_code_changes() -> None:
    """The reasons are kept with the tagging: the code that makes them is part of what a
    tagging's fingerprint is made of, so an index tagged by other code is tagged again."""
    assert Path(reasons.__file__).read_bytes() in tagging._code()
