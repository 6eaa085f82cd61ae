"""Topics: loading the taxonomy and deciding which topics an article is about.

Pure functions over text. One pass over an article's words finds every term of
every topic (a dictionary of word sequences keyed by their first word), then
each topic is scored by where and how often its terms occur.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from .models import Article, Topic

WORD = re.compile(r"[^\W_]+")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RESERVED_SLUGS = {"all"}

# Where a mention occurs decides how much it says about the subject.
FIELD_WEIGHTS = {"title": 3.0, "summary": 2.0, "lead": 1.0, "body": 0.5}
LEAD_PARAGRAPHS = 2
DEFAULT_THRESHOLD = 3.0


class TaxonomyError(ValueError):
    """A taxonomy file cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class Taxonomy:
    """All topics by slug, with the hierarchy and scoring settings."""

    topics: Mapping[str, Topic]
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        for topic in self.topics.values():
            if topic.parent is not None and topic.parent not in self.topics:
                raise TaxonomyError(f"topic {topic.slug!r}: unknown parent {topic.parent!r}")
        for slug in self.topics:
            self.ancestors(slug)  # raises on a cycle

    def __contains__(self, slug: object) -> bool:
        return slug in self.topics

    def ancestors(self, slug: str) -> tuple[str, ...]:
        """The parents of a topic, nearest first."""
        chain: list[str] = []
        parent = self.topics[slug].parent
        while parent is not None:
            if parent in chain or parent == slug:
                raise TaxonomyError(f"topic {slug!r}: the parent chain loops")
            chain.append(parent)
            parent = self.topics[parent].parent
        return tuple(chain)

    def children(self, slug: str) -> tuple[str, ...]:
        return tuple(s for s, t in self.topics.items() if t.parent == slug)

    def threshold_of(self, slug: str) -> float:
        value = self.topics[slug].threshold
        return self.threshold if value is None else value


def load_taxonomy(*extra: Path) -> Taxonomy:
    """The shipped taxonomy, then each extra TOML file extending or overriding it."""
    base = resources.files("feeds") / "data" / "taxonomy.toml"
    raw: dict[str, dict[str, Any]] = {}
    settings: dict[str, Any] = {}
    for name, text in [("default taxonomy", base.read_text("utf-8"))] + [
        (str(path), _read(path)) for path in extra
    ]:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise TaxonomyError(f"{name}: not valid TOML: {exc}") from None
        settings.update(data.get("settings", {}))
        for slug, table in data.get("topics", {}).items():
            if not isinstance(table, dict):
                raise TaxonomyError(f"{name}: [topics.{slug}] must be a table")
            raw[slug] = {**raw.get(slug, {}), **table}
    topics = {slug: _topic(slug, table) for slug, table in raw.items() if not table.get("remove")}
    threshold = float(settings.get("threshold", DEFAULT_THRESHOLD))
    return Taxonomy(topics=topics, threshold=threshold)


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{path}: cannot read: {exc}") from None


def _topic(slug: str, table: Mapping[str, Any]) -> Topic:
    if not SLUG.match(slug) or slug in RESERVED_SLUGS:
        raise TaxonomyError(f"{slug!r} is not a usable topic slug")
    known = {"name", "parent", "terms", "exclude", "threshold", "kind", "remove"}
    unknown = set(table) - known
    if unknown:
        raise TaxonomyError(f"topic {slug!r}: unknown keys {sorted(unknown)}")
    try:
        return Topic(
            slug=slug,
            name=str(table.get("name") or slug.replace("-", " ").title()),
            parent=table.get("parent") or None,
            terms=tuple(str(t) for t in table.get("terms", ())),
            exclude=tuple(str(t) for t in table.get("exclude", ())),
            threshold=float(table["threshold"]) if "threshold" in table else None,
            kind=str(table.get("kind", "place")),
        )
    except (TypeError, ValueError) as exc:
        raise TaxonomyError(f"topic {slug!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Mention:
    """One occurrence of a topic's term in an article."""

    slug: str
    term: str
    field: str  # title, summary, lead or body


@dataclass(frozen=True)
class Verdict:
    """Why an article is or is not in a topic."""

    slug: str
    score: float
    threshold: float
    mentions: tuple[Mention, ...]
    declared: bool = False
    via_child: str | None = None

    @property
    def accepted(self) -> bool:
        return self.declared or self.via_child is not None or self.score >= self.threshold

    def terms(self) -> dict[str, dict[str, int]]:
        """Matched terms with a count per place: {"Pyongyang": {"title": 1, "body": 2}}."""
        table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for mention in self.mentions:
            table[mention.term][mention.field] += 1
        return {term: dict(places) for term, places in table.items()}


@dataclass
class _Patterns:
    """Word sequences of every term, keyed by first word, in the three case modes."""

    exact: dict[str, list[tuple[tuple[str, ...], str | None, str]]] = field(default_factory=dict)
    folded: dict[str, list[tuple[tuple[str, ...], str | None, str]]] = field(default_factory=dict)

    def add(self, words: tuple[str, ...], slug: str | None, term: str, fold: bool) -> None:
        table = self.folded if fold else self.exact
        table.setdefault(words[0], []).append((words, slug, term))

    def sort(self) -> None:
        for table in (self.exact, self.folded):
            for candidates in table.values():
                candidates.sort(key=lambda c: -len(c[0]))  # longest match wins


class Matcher:
    """Finds and scores every topic of a taxonomy in an article in one pass over its words."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._patterns = _Patterns()
        for topic in taxonomy.topics.values():
            for term in topic.terms:
                self._add(term, topic.slug)
            for term in topic.exclude:
                self._add(term, None)  # consumes the words so they count for nothing
        self._patterns.sort()
        self._ancestors = {slug: taxonomy.ancestors(slug) for slug in taxonomy.topics}

    def _add(self, term: str, slug: str | None) -> None:
        words = tuple(WORD.findall(term))
        if not words:
            return
        if term == term.lower():
            # An all-lowercase term is a common word: match it in any case.
            self._patterns.add(tuple(w.lower() for w in words), slug, term, fold=True)
        else:
            # A capitalised term matches as written, and in all-capitals headlines.
            self._patterns.add(words, slug, term, fold=False)
            upper = tuple(w.upper() for w in words)
            if upper != words:
                self._patterns.add(upper, slug, term, fold=False)

    def mentions(self, text: str, place: str) -> list[Mention]:
        """Every term occurrence in ``text``, longest match first, left to right."""
        words = WORD.findall(text)
        lowered = [w.lower() for w in words]
        found: list[Mention] = []
        i = 0
        while i < len(words):
            match = self._match_at(words, lowered, i)
            if match is None:
                i += 1
                continue
            size, slug, term = match
            if slug is not None:
                found.append(Mention(slug, term, place))
            i += size
        return found

    def _match_at(
        self, words: list[str], lowered: list[str], i: int
    ) -> tuple[int, str | None, str] | None:
        best: tuple[int, str | None, str] | None = None
        for table, seq in ((self._patterns.exact, words), (self._patterns.folded, lowered)):
            for pattern, slug, term in table.get(seq[i], ()):
                size = len(pattern)
                if best is not None and size <= best[0]:
                    break  # candidates are sorted longest first
                if size == 1 or tuple(seq[i : i + size]) == pattern:
                    best = (size, slug, term)
                    break
        return best

    def article_mentions(self, article: Article) -> list[Mention]:
        found = self.mentions(article.title, "title")
        found += self.mentions(article.summary, "summary")
        for number, paragraph in enumerate(article.body):
            found += self.mentions(paragraph, "lead" if number < LEAD_PARAGRAPHS else "body")
        return found

    def verdicts(self, article: Article) -> dict[str, Verdict]:
        """A verdict for every topic mentioned or declared, ancestors included."""
        by_topic: dict[str, list[Mention]] = defaultdict(list)
        for mention in self.article_mentions(article):
            by_topic[mention.slug].append(mention)
            for parent in self._ancestors[mention.slug]:
                by_topic[parent].append(mention)
        declared = {s for s in article.declared_topics if s in self.taxonomy}
        verdicts = {
            slug: Verdict(
                slug=slug,
                score=sum(FIELD_WEIGHTS[m.field] for m in mentions),
                threshold=self.taxonomy.threshold_of(slug),
                mentions=tuple(mentions),
                declared=slug in declared,
            )
            for slug, mentions in by_topic.items()
        }
        for slug in declared - verdicts.keys():
            verdicts[slug] = Verdict(slug, 0.0, self.taxonomy.threshold_of(slug), (), True)
        for slug, verdict in list(verdicts.items()):
            if verdict.accepted:
                for parent in self._ancestors[slug]:
                    if not verdicts[parent].accepted:
                        verdicts[parent] = replace(verdicts[parent], via_child=slug)
        return verdicts

    def topics_of(self, article: Article) -> tuple[str, ...]:
        """The slugs of every topic the article is in, sorted."""
        return tuple(sorted(s for s, v in self.verdicts(article).items() if v.accepted))

    def tag(self, articles: Iterable[Article]) -> list[Article]:
        return [replace(a, topics=self.topics_of(a)) for a in articles]
