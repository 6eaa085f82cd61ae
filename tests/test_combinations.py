"""Topic combinations and search: one canonical URL each, its own feed id, every format."""

from __future__ import annotations

import feedparser
import pytest

from conftest import BASE_URL


def titles(client, path: str) -> set[str]:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return {e.title for e in feedparser.parse(response.data).entries}


SEED = "North Korea Conducts Anti-Aircraft Missile Test Amidst Heightened Russia Relations"
GRAIN = "Moscow and Kyiv trade accusations over grain corridor"
TOKYO = "Tokyo markets rally as yen weakens"


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ("korea+russia", {SEED}),
        ("japan+russia", {GRAIN}),
        ("japan,korea", {SEED, GRAIN, TOKYO}),
        ("korea,ukraine", {SEED, GRAIN}),
        ("russia~korea", {GRAIN}),
        ("japan~russia", {TOKYO}),
        ("japan,russia~korea", {GRAIN, TOKYO}),
    ],
)
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_combinations_hold_the_right_articles(
    client, selection: str, expected: set, fmt: str
) -> None:
    assert titles(client, f"/feeds/{selection}.{fmt}") == expected


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("russia+korea", "korea+russia"),
        ("korea+korea+russia", "korea+russia"),
        ("korea,japan", "japan,korea"),
        ("korea,korea", "korea"),
        ("korea~ukraine~japan", "korea~japan~ukraine"),
        ("russia,japan~korea", "japan,russia~korea"),
    ],
)
@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_other_spellings_redirect_to_the_canonical_url(client, spelling, canonical, fmt) -> None:
    response = client.get(f"/feeds/{spelling}.{fmt}?limit=5")
    assert response.status_code == 301
    assert response.headers["Location"] == f"{BASE_URL}/feeds/{canonical}.{fmt}?limit=5"
    page = client.get(f"/topics/{spelling}")
    assert page.status_code == 301 and page.headers["Location"] == f"{BASE_URL}/topics/{canonical}"


def test_each_combination_has_its_own_stable_id_and_self_link(client) -> None:
    ids = {}
    for selection in ("korea+russia", "japan,korea", "russia~korea", "korea", "all"):
        atom = feedparser.parse(client.get(f"/feeds/{selection}.atom").data)
        rss = feedparser.parse(client.get(f"/feeds/{selection}.rss").data)
        self_links = [link.href for link in atom.feed.links if link.rel == "self"]
        assert self_links == [f"{BASE_URL}/feeds/{selection}.atom"]
        assert [link.href for link in rss.feed.links if link.rel == "self"] == [
            f"{BASE_URL}/feeds/{selection}.rss"
        ]
        ids[selection] = atom.feed.id
        assert client.get(f"/feeds/{selection}.json").get_json(force=True)["feed_url"] == (
            f"{BASE_URL}/feeds/{selection}.json"
        )
    assert len(set(ids.values())) == len(ids)


def test_combination_pages_list_their_articles(client) -> None:
    page = client.get("/topics/korea+russia").get_data(as_text=True)
    assert "Korea and Russia" in page and SEED in page and GRAIN not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("missile", {SEED}),
        ("MISSILE", {SEED}),
        ("grain corridor", {GRAIN}),
        ('"corridor grain"', set()),
        ('"grain corridor"', {GRAIN}),
        ("(zz+)+$", set()),
        ("yen", {TOKYO}),
        ("ye", set()),
    ],
)
def test_search_is_plain_text_on_whole_words(client, query: str, expected: set) -> None:
    response = client.get("/feeds/all.rss", query_string={"q": query})
    if response.status_code == 301:
        response = client.get(response.headers["Location"].removeprefix(BASE_URL))
    assert {e.title for e in feedparser.parse(response.data).entries} == expected


def test_search_combines_with_topics_and_has_its_own_self_link(client) -> None:
    assert titles(client, "/feeds/russia.atom?q=grain") == {GRAIN}
    assert titles(client, "/feeds/korea.atom?q=grain") == set()
    atom = feedparser.parse(client.get("/feeds/russia.atom?q=grain").data)
    assert [link.href for link in atom.feed.links if link.rel == "self"] == [
        f"{BASE_URL}/feeds/russia.atom?q=grain"
    ]
    assert "grain" in atom.feed.title
