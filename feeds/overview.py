"""What the home and topic pages show beyond lists of articles: the topics as a tree, the most
covered and the most recently active, a topic's coverage over time, the countries by region.

Pure functions of a snapshot; the templates draw them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from .models import Article, Topic

if TYPE_CHECKING:
    from .snapshot import Snapshot

HIGHLIGHTS = 10  # topics in each of "most covered" and "recently active"
MAX_BARS = 36
OTHER_GROUPS = ("Organisations", "Elsewhere")


@dataclass(frozen=True)
class TopicNode:
    """A topic with articles and the sub-topics of it that have some."""

    topic: Topic
    count: int
    children: tuple[TopicNode, ...]


def _node(snap: Snapshot, slug: str) -> TopicNode | None:
    count = len(snap.by_topic[slug])
    if not count:
        return None
    children = [_node(snap, child) for child in snap.taxonomy.children(slug)]
    kept = sorted((c for c in children if c), key=lambda c: c.topic.name)
    return TopicNode(snap.taxonomy.topics[slug], count, tuple(kept))


def topic_groups(snap: Snapshot) -> list[tuple[str, list[TopicNode]]]:
    """The topics with articles by the hierarchy: each region with its sub-regions and
    countries, then organisations, then places outside any region."""
    regions: list[TopicNode] = []
    groups: dict[str, list[TopicNode]] = {name: [] for name in OTHER_GROUPS}
    for topic in snap.taxonomy.topics.values():
        if topic.parent is not None or (node := _node(snap, topic.slug)) is None:
            continue
        if topic.kind == "region":
            regions.append(node)
        else:
            groups["Organisations" if topic.kind == "organisation" else "Elsewhere"].append(node)
    named = [(r.topic.name, [r]) for r in sorted(regions, key=lambda r: r.topic.name)]
    others = [(name, sorted(nodes, key=lambda n: n.topic.name)) for name, nodes in groups.items()]
    return named + [(name, nodes) for name, nodes in others if nodes]


def _highlighted(snap: Snapshot) -> list[Topic]:
    """Places and organisations with articles: regions hold their countries' stories and
    would always lead."""
    topics = snap.taxonomy.topics.values()
    return [t for t in topics if t.kind != "region" and snap.by_topic[t.slug]]


def most_covered(snap: Snapshot, count: int = HIGHLIGHTS) -> list[tuple[Topic, int]]:
    topics = sorted(_highlighted(snap), key=lambda t: (-len(snap.by_topic[t.slug]), t.name))
    return [(t, len(snap.by_topic[t.slug])) for t in topics[:count]]


def recently_active(snap: Snapshot, count: int = HIGHLIGHTS) -> list[tuple[Topic, datetime]]:
    """Topics by their newest article, newest first."""
    newest = {t.slug: snap.by_topic[t.slug][0].published for t in _highlighted(snap)}
    topics = sorted(_highlighted(snap), key=lambda t: (-newest[t.slug].timestamp(), t.name))  # type: ignore[union-attr]
    return [(t, newest[t.slug]) for t in topics[:count]]  # type: ignore[misc]


def countries(snap: Snapshot, slugs: list[str] | None = None) -> list[tuple[str, list[Topic]]]:
    """Topics with articles by region (the top of their hierarchy): countries, or ``slugs``."""
    taxonomy = snap.taxonomy
    if slugs is None:
        wanted = [t for t in taxonomy.topics.values() if _is_country(snap, t)]
    else:
        wanted = [taxonomy.topics[s] for s in slugs]
    by_region: dict[str, list[Topic]] = {}
    for topic in wanted:
        chain = [topic.slug, *taxonomy.ancestors(topic.slug)]
        top = taxonomy.topics[chain[-1]]
        region = top.name if top.kind == "region" else "Elsewhere"
        by_region.setdefault(region, []).append(topic)
    ordered = sorted(by_region, key=lambda name: (name == "Elsewhere", name))
    return [(name, sorted(by_region[name], key=lambda t: t.name)) for name in ordered]


def _is_country(snap: Snapshot, topic: Topic) -> bool:
    """A place with articles that is not part of another place (Korea, not North Korea)."""
    parent = snap.taxonomy.topics.get(topic.parent) if topic.parent else None
    is_part = parent is not None and parent.kind == "place"
    return topic.kind == "place" and not is_part and bool(snap.by_topic[topic.slug])


@dataclass(frozen=True)
class Bar:
    """One period of a coverage chart."""

    start: date
    label: str  # as people read it: "March 2025", "week of 3 March 2025", "3 March 2025"
    count: int


def coverage(articles: tuple[Article, ...], max_bars: int = MAX_BARS) -> list[Bar]:
    """Articles per day, week, month or year, whichever keeps the bars at most ``max_bars``,
    from the first period with an article to the last, empty periods included."""
    days = sorted(a.published.date() for a in articles)
    if not days:
        return []
    first, last = days[0], days[-1]
    for unit in ("day", "week", "month", "year"):
        starts = _periods(first, last, unit, None if unit == "year" else max_bars)
        if len(starts) <= max_bars:
            break
    counts = Counter(_period_start(day, unit) for day in days)
    return [Bar(start, _label(start, unit), counts.get(start, 0)) for start in starts]


def _period_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    return day


def _periods(first: date, last: date, unit: str, limit: int | None) -> list[date]:
    """The starts of the periods from ``first`` to ``last``; past ``limit`` the count is
    all that matters, so it stops there."""
    starts: list[date] = []
    current = _period_start(first, unit)
    while current <= last and (limit is None or len(starts) <= limit):
        starts.append(current)
        if unit == "day":
            current += timedelta(days=1)
        elif unit == "week":
            current += timedelta(weeks=1)
        elif unit == "month":
            current = (current + timedelta(days=32)).replace(day=1)
        else:
            current = current.replace(year=current.year + 1)
    return starts


def _label(start: date, unit: str) -> str:
    day = f"{start.day} {start:%B %Y}"
    return {"day": day, "week": f"week of {day}", "month": f"{start:%B %Y}"}.get(
        unit, str(start.year)
    )
