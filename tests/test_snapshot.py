"""Snapshot.apply: a change applied to a snapshot gives the snapshot built from scratch."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.compose import cached, with_validators
from feeds.config import Config
from feeds.models import Article, Problem, Selection
from feeds.snapshot import EVERYTHING, Snapshot, merged, newest_first
from feeds.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()
CONFIG = Config.load({"collection": str(Path(__file__).parent)}, environ={})
AT = datetime(2025, 6, 1, tzinfo=UTC)


def article(number: int, *topics: str, day: int, digest: str = "d") -> Article:
    when = datetime(2025, 1, day, tzinfo=UTC)
    return Article(
        id=f"a{number}", path=f"{number}.txt", title=f"Article {number}", digest=digest,
        published=when, updated=when, topics=topics,
    )  # fmt: skip


TOKYO = article(1, "japan", "asia", day=1)
SEOUL = article(2, "south-korea", "asia", day=2)
OSAKA = article(3, "japan", "asia", day=3)
OSLO = article(4, "norway", "europe", day=4)
BEFORE = [TOKYO, SEOUL, OSAKA]


def build(articles: list[Article], problems: list[Problem] | None = None) -> Snapshot:
    return Snapshot.build(articles, problems or [], TAXONOMY, CONFIG)


def facts(snap: Snapshot) -> tuple[object, ...]:
    return (snap.articles, snap.by_id, snap.by_topic, snap.newest_change, snap.problems)


CHANGES = [
    ([], [OSLO]),
    ([SEOUL], [replace(SEOUL, title="Seoul, edited", digest="e")]),
    ([SEOUL], [replace(SEOUL, topics=("japan", "asia"), digest="e")]),
    ([TOKYO], []),
    ([OSAKA], []),
    ([TOKYO, SEOUL], [OSLO, article(1, "norway", day=5)]),
]
IDS = ["adding", "editing", "moving to another topic", "removing", "removing the newest",
       "several at once"]  # fmt: skip


@pytest.mark.parametrize(("removed", "added"), CHANGES, ids=IDS)
def test_applying_a_change_equals_building_anew(
    removed: list[Article], added: list[Article]
) -> None:
    problems = [Problem("bad.txt", "not text")]
    gone = {a.id for a in removed}
    after = [a for a in BEFORE if a.id not in gone] + added
    applied = build(BEFORE).apply(removed, added, problems)
    assert facts(applied) == facts(build(after, problems))
    assert applied.select(Selection(any_of=("japan", "norway"))) == build(after).select(
        Selection(any_of=("japan", "norway"))
    )


def test_a_dated_change_stamps_the_feeds_it_touches_and_keeps_departures() -> None:
    moved = replace(SEOUL, topics=("japan", "asia"), digest="e")
    applied = build(BEFORE).apply([SEOUL], [moved], [], at=AT)
    assert applied.stamped == {s: AT for s in ("south-korea", "japan", "asia", EVERYTHING)}
    assert [(g.id, g.topics) for g in applied.departed] == [("a2", ("south-korea", "asia"))]
    assert applied.gone["a2"].at == AT
    assert applied.changed_at(Selection(all_of=("south-korea",))) == AT
    # It left South Korea, yet keeps its place in that feed's archive.
    assert [a.id for a in applied.slots(Selection(all_of=("south-korea",)))] == ["a2"]
    assert applied.touched == frozenset({"south-korea", "japan", "asia", "@a2"})


def test_documents_of_untouched_topics_follow_into_the_next_snapshot() -> None:
    before = build(BEFORE)
    made: list[str] = []

    def render(name: str):  # type: ignore[no-untyped-def]
        def make():  # type: ignore[no-untyped-def]
            made.append(name)
            return with_validators(name.encode(), "text/plain", None)

        return make

    norway = cached(before, ("norway",), render("norway"), frozenset({"norway"}))
    cached(before, ("japan",), render("japan"), frozenset({"japan"}))
    cached(before, ("all",), render("all"), None)
    after = before.apply([TOKYO], [replace(TOKYO, digest="e")], [])
    assert cached(after, ("norway",), render("norway"), frozenset({"norway"})) is norway
    cached(after, ("japan",), render("japan"), frozenset({"japan"}))
    cached(after, ("all",), render("all"), None)
    assert made == ["norway", "japan", "all", "japan", "all"]


def test_departed_articles_are_merged_into_their_places_as_a_sort_would() -> None:
    made = [article(n, day=1 + n % 9) for n in range(300)]  # many share a day: ids order those
    chosen = random.Random(5)
    for _ in range(50):
        more = chosen.sample(made, chosen.randrange(0, 12))
        ordered = tuple(sorted((a for a in made if a not in more), key=newest_first))
        assert merged(ordered, more) == tuple(sorted(made, key=newest_first))
