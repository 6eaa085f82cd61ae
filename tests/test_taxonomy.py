"""The taxonomy: the default world of countries, regions and organisations, and overrides."""

from __future__ import annotations

from pathlib import Path

import pycountry
import pytest

from feeds.taxonomy import KINDS, TaxonomyError, TaxonomyTopic, load_taxonomy

DATA = Path(__file__).parent / "data" / "topics"
COLLECTION = DATA / "collection"
DEFAULT = load_taxonomy()


@pytest.mark.parametrize(
    ("code", "slug", "name"),
    [
        ("US", "united-states", "United States"),
        ("GB", "united-kingdom", "United Kingdom"),
        ("DE", "germany", "Germany"),
        ("KR", "south-korea", "South Korea"),
        ("KP", "north-korea", "North Korea"),
        ("RU", "russia", "Russia"),
        ("IR", "iran", "Iran"),
        ("SY", "syria", "Syria"),
        ("VN", "vietnam", "Vietnam"),
        ("TW", "taiwan", "Taiwan"),
        ("BO", "bolivia", "Bolivia"),
        ("VE", "venezuela", "Venezuela"),
        ("TZ", "tanzania", "Tanzania"),
        ("LA", "laos", "Laos"),
        ("MD", "moldova", "Moldova"),
        ("CZ", "czechia", "Czechia"),
        ("TR", "turkey", "Turkey"),
        ("CI", "ivory-coast", "Ivory Coast"),
        ("CD", "dr-congo", "DR Congo"),
        ("CG", "congo", "Republic of the Congo"),
        ("VA", "vatican-city", "Vatican City"),
        ("FK", "falkland-islands", "Falkland Islands"),
    ],
    ids=lambda value: str(value),
)
def test_countries_have_common_short_names_as_slugs(code: str, slug: str, name: str) -> None:
    topic = DEFAULT.topics[slug]
    assert isinstance(topic, TaxonomyTopic)
    assert (topic.iso, topic.name, topic.kind) == (code, name, "place")


def test_every_iso_country_is_exactly_one_topic() -> None:
    codes = [t.iso for t in DEFAULT.topics.values() if isinstance(t, TaxonomyTopic) and t.iso]
    assert sorted(codes) == sorted(c.alpha_2 for c in pycountry.countries)


def test_every_country_sits_in_a_region() -> None:
    places = [t for t in DEFAULT.topics.values() if t.kind == "place"]
    orphans = [t.slug for t in places if t.parent is None]
    assert orphans == ["antarctica"]
    for topic in places:
        top = DEFAULT.ancestors(topic.slug)[-1:] or (topic.slug,)
        assert DEFAULT.topics[top[0]].kind in {"region", "place"}, topic.slug


@pytest.mark.parametrize(
    ("slug", "ancestors"),
    [
        ("north-korea", ("korea", "east-asia", "asia")),
        ("south-korea", ("korea", "east-asia", "asia")),
        ("japan", ("east-asia", "asia")),
        ("russia", ("eastern-europe", "europe")),
        ("brazil", ("south-america", "latin-america", "americas")),
        ("egypt", ("middle-east",)),
        ("iaea", ("united-nations",)),
        ("european-central-bank", ("european-union",)),
    ],
)
def test_hierarchy(slug: str, ancestors: tuple[str, ...]) -> None:
    assert DEFAULT.ancestors(slug) == ancestors


def test_children_and_descendants() -> None:
    assert set(DEFAULT.children("korea")) == {"north-korea", "south-korea"}
    assert {"korea", "north-korea", "japan", "china"} <= set(DEFAULT.descendants("east-asia"))
    assert "korea" in DEFAULT.children("east-asia")


@pytest.mark.parametrize(
    "slug",
    [
        "united-nations", "nato", "european-union", "iaea", "opec", "wto", "imf", "world-bank",
        "g7", "g20", "asean", "african-union", "arab-league", "oecd", "who",
    ],
)  # fmt: skip
def test_major_organisations_are_topics(slug: str) -> None:
    assert DEFAULT.topics[slug].kind == "organisation"


@pytest.mark.parametrize(
    "slug",
    ["east-asia", "europe", "middle-east", "africa", "latin-america", "southeast-asia", "caucasus"],
)
def test_world_regions_are_topics(slug: str) -> None:
    assert DEFAULT.topics[slug].kind == "region"


def test_every_topic_has_a_known_kind_and_a_name() -> None:
    for topic in DEFAULT.topics.values():
        assert topic.kind in KINDS
        assert topic.name.strip()


def test_a_collection_overrides_only_the_keys_it_names() -> None:
    taxonomy = load_taxonomy(COLLECTION / "topics.toml")
    japan = taxonomy.topics["japan"]
    assert japan.name == "Japan (all news)"
    assert taxonomy.threshold_of("japan") == 20.0
    assert japan.terms == DEFAULT.topics["japan"].terms
    assert japan.parent == "east-asia"
    assert taxonomy.threshold == 3.0  # the collection's [settings]
    assert taxonomy.threshold_of("china") == 3.0


def test_a_collection_adds_subject_topics() -> None:
    taxonomy = load_taxonomy(COLLECTION / "topics.toml")
    missiles = taxonomy.topics["missiles"]
    assert (missiles.kind, missiles.name, missiles.parent) == ("subject", "Missiles", None)
    assert "ballistic missile" in missiles.terms
    assert taxonomy.ancestors("air-defence") == ("missiles",)
    assert "missiles" not in DEFAULT


def test_a_removed_topic_hands_its_children_to_its_parent() -> None:
    taxonomy = load_taxonomy(COLLECTION / "topics.toml")
    assert "korea" not in taxonomy
    assert taxonomy.topics["north-korea"].parent == "east-asia"
    assert taxonomy.topics["south-korea"].parent == "east-asia"


def test_a_collection_region_takes_its_members_by_slug_and_by_iso_code() -> None:
    taxonomy = load_taxonomy(COLLECTION / "topics.toml")
    assert taxonomy.ancestors("denmark") == ("nordic-baltic", "europe")
    assert taxonomy.ancestors("sweden") == ("nordic-baltic", "europe")
    assert "sweden" not in taxonomy.children("northern-europe")


def test_a_later_file_wins(tmp_path: Path) -> None:
    first = tmp_path / "first.toml"
    first.write_text('[topics.japan]\nthreshold = 9.0\n[topics.lions]\nterms = ["lion"]\n')
    second = tmp_path / "second.toml"
    second.write_text("[topics.japan]\nthreshold = 4.0\n[topics.lions]\nremove = true\n")
    taxonomy = load_taxonomy(first, second)
    assert taxonomy.threshold_of("japan") == 4.0
    assert "lions" not in taxonomy


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not_toml.toml", "not valid TOML"),
        ("unknown_key.toml", "topic 'japan': unknown keys ['colour']"),
        ("bad_slug.toml", "topic 'Big Cats': not a usable slug"),
        ("unknown_parent.toml", "topic 'lions': unknown parent 'big-cats'"),
        ("parent_loop.toml", "the chain of parents loops"),
        ("unknown_member.toml", "topic 'savanna': unknown member 'lions'"),
        ("unknown_context.toml", "topic 'lions': unknown context topics ['savanna']"),
        ("unknown_kind.toml", "kind must be one of place, region, organisation, subject"),
        ("unknown_setting.toml", "[settings]: unknown keys ['threshhold']"),
        ("terms_not_a_list.toml", "are lists of strings"),
        ("currencies_not_a_list.toml", "[settings]: currencies is a list of words"),
        ("unknown_iso_code.toml", "'XX' is not an ISO 3166 alpha-2 country code"),
    ],
    ids=lambda value: str(value).removesuffix(".toml"),
)
def test_an_unusable_file_is_reported_with_its_name_and_the_reason(name: str, message: str) -> None:
    path = DATA / "invalid" / name
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_an_unreadable_file_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy(missing)


def test_the_united_kingdoms_nations_are_topics_under_it() -> None:
    taxonomy = load_taxonomy()
    for slug in ("england", "scotland", "wales", "northern-ireland"):
        assert taxonomy.topics[slug].parent == "united-kingdom"
        assert taxonomy.topics[slug].kind == "place"
    assert "Cardiff" in taxonomy.topics["wales"].terms
    assert "Cardiff" not in taxonomy.topics["united-kingdom"].terms


def test_world_knowledge_adds_names_to_their_places() -> None:
    taxonomy = load_taxonomy()
    assert "Labour MPs" in taxonomy.topics["united-kingdom"].terms
    assert "Labour" in taxonomy.weak_terms_of("united-kingdom")
    assert "Aston Villa" in taxonomy.topics["england"].terms
    assert "Samsung" in taxonomy.topics["south-korea"].terms


def test_big_cities_come_from_geonames_and_a_shared_name_is_ambiguous() -> None:
    taxonomy = load_taxonomy()
    assert "Ho Chi Minh City" in taxonomy.topics["vietnam"].terms  # curated, kept
    assert "Chicago" in taxonomy.topics["united-states"].terms  # from GeoNames
    for slug in ("spain", "venezuela"):  # Valencia, a big city in both
        assert "Valencia" in taxonomy.weak_terms_of(slug)
        assert "Valencia" not in taxonomy.topics[slug].terms


def test_an_unknown_kind_of_knowledge_is_an_error() -> None:
    from feeds.taxonomy import _Loader

    loader = _Loader()
    loader.add_iso_countries()
    with pytest.raises(TaxonomyError, match=r"\[places.japan\]: unknown kinds \['snacks'\]"):
        loader.add_knowledge("k.toml", '[places.japan]\nsnacks = ["Pocky"]\n')


def test_unknown_city_rules_are_an_error() -> None:
    from feeds.taxonomy import _Loader

    loader = _Loader()
    loader.add_iso_countries()
    with pytest.raises(TaxonomyError, match=r"\[cities\]: unknown keys \['biggest'\]"):
        loader.add_knowledge("k.toml", "[cities]\nbiggest = 3\n")
