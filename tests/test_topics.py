"""Matching: which topics an article is about, and why."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from feeds.cli import main
from feeds.collection import parse_article
from feeds.models import Parsed
from feeds.taxonomy import load_taxonomy
from feeds.topics import Matcher, sentences, words_of

DATA = Path(__file__).parent / "data" / "topics"
ARTICLES = DATA / "articles"
COLLECTION = DATA / "collection"
SEED = Path(__file__).parent.parent / "seeds" / "000_73bcabc292162f38.txt"
MATCHER = Matcher(load_taxonomy())


def read(path: Path) -> Parsed:
    article, problems = parse_article(path.read_bytes(), path.name)
    assert not problems
    return article


def topics_of(name: str) -> tuple[str, ...]:
    return MATCHER.topics_of(read(ARTICLES / name))


# --- Ambiguous words -----------------------------------------------------------------------

SENSES = [
    # file, topics it must be in, topics it must not be in
    ("georgia_the_us_state.txt", (), ("georgia", "caucasus")),
    ("georgia_the_country.txt", ("georgia", "caucasus", "europe"), ()),
    ("georgia_with_russia.txt", ("georgia",), ()),
    ("jordan_the_player.txt", (), ("jordan", "middle-east")),
    ("jordan_the_country.txt", ("jordan", "middle-east"), ()),
    ("turkey_the_bird.txt", (), ("turkey",)),
    ("turkey_the_country.txt", ("turkey", "greece"), ()),
    ("china_the_porcelain.txt", (), ("china",)),
    ("chad_the_name.txt", (), ("chad",)),
    ("chad_the_country.txt", ("chad", "central-africa"), ()),
    ("guinea_pigs.txt", (), ("guinea",)),
    ("new_mexico_and_new_jersey.txt", ("united-states",), ("mexico", "jersey")),
    ("niger_delta_oil.txt", ("nigeria",), ("niger",)),
    ("congo_kinshasa.txt", ("dr-congo",), ("congo",)),
    ("sterling_the_company.txt", (), ("united-kingdom",)),
    ("sterling_the_currency.txt", ("united-kingdom",), ()),
    ("paris_the_meeting_place.txt", ("oecd",), ("france",)),
    ("paris_the_capital.txt", ("france",), ()),
    ("marks_the_word.txt", (), ("germany",)),
    ("marks_the_currency.txt", ("germany",), ()),
    ("marks_an_amount.txt", ("germany",), ()),
    ("perth_in_scotland.txt", (), ("australia",)),
    ("diet_the_food.txt", (), ("japan",)),
    ("diet_of_japan.txt", ("japan",), ()),
    ("da_vinci_the_painter.txt", (), ("france",)),
    ("club_named_with_a_demonym.txt", ("england", "united-kingdom"), ("ireland",)),
    ("joint_venture_of_two_countries.txt", (), ("sweden",)),
    ("company_name_as_a_surname.txt", (), ("italy",)),
    ("surname_of_a_player.txt", (), ("france",)),
    ("halifax_the_bank.txt", ("united-kingdom",), ("canada",)),
    ("guantanamo_the_camp.txt", ("united-states",), ("cuba",)),
    ("festival_town.txt", ("england", "united-kingdom"), ()),
    ("award_as_a_description.txt", ("united-kingdom",), ("united-states",)),
    ("saint_as_st.txt", ("saint-kitts-and-nevis",), ()),
    ("regional_bank_of_the_americas.txt", ("latin-america",), ("united-states",)),
]


@pytest.mark.parametrize(
    ("name", "inside", "outside"), SENSES, ids=[s[0].removesuffix(".txt") for s in SENSES]
)
def test_ambiguous_words_count_in_the_right_sense(
    name: str, inside: tuple[str, ...], outside: tuple[str, ...]
) -> None:
    found = topics_of(name)
    assert set(inside) <= set(found), found
    assert not set(outside) & set(found), found


def test_a_weak_term_without_context_is_kept_for_the_explanation() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "georgia_the_us_state.txt"))["georgia"]
    assert not verdict.accepted
    assert verdict.score == 0
    assert verdict.unconfirmed_terms() == {"Georgia": {"title": 1, "summary": 1, "lead": 1}}


def test_a_weak_organisation_term_needs_its_organisation() -> None:
    verdicts = MATCHER.verdicts(read(ARTICLES / "weak_term_without_context.txt"))
    assert not verdicts["united-nations"].accepted
    assert verdicts["united-nations"].unconfirmed


# --- Matching words --------------------------------------------------------------------


def test_the_longest_term_wins() -> None:
    found = MATCHER.mentions("North Korea and South Korea met in the Korean Peninsula", "body")
    assert [(m.slug, m.term) for m in found] == [
        ("north-korea", "North Korea"), ("south-korea", "South Korea"),
        ("korea", "Korean Peninsula"),
    ]  # fmt: skip


def test_capitalised_terms_match_as_written_and_in_capitals() -> None:
    assert [m.slug for m in MATCHER.mentions("CHINA AND JAPAN", "title")] == ["china", "japan"]
    assert MATCHER.mentions("a piece of china from japan", "body") == []


def test_lowercase_terms_match_in_any_case() -> None:
    found = MATCHER.mentions("Sterling fell; STERLING rose; sterling held", "body")
    assert [m.slug for m in found] == ["united-kingdom"] * 3


def test_accents_do_not_matter() -> None:
    assert "france" in topics_of("accents_and_capitals.txt")


def test_words_are_runs_of_letters_and_digits_with_accents_folded() -> None:
    assert words_of("Café-owner Ünal paid £1,5m_x to Ōsaka's 3rd") == [
        "Cafe", "owner", "Unal", "paid", "1", "5m", "x", "to", "Osaka", "s", "3rd",
    ]  # fmt: skip
    ascii_words = ["A", "US", "dollar", "3rd", "quarter", "gain"]
    assert words_of("A US_dollar 3rd-quarter <b>gain</b>") == ascii_words


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Talks began. Moscow agreed.", ["Talks began.", "Moscow agreed."]),
        ("Trade with the U.S. And Canada rose.", ["Trade with the U.S. And Canada rose."]),
        ("The U.S.S.R. Envoy left. Talks ended.", ["The U.S.S.R. Envoy left.", "Talks ended."]),
        ("He met Mrs. Thatcher. She spoke.", ["He met Mrs. Thatcher.", "She spoke."]),
        ("Shares rose 5%. 'Good,' he said.", ["Shares rose 5%.", "'Good,' he said."]),
        ("No end here", ["No end here"]),
    ],
)
def test_sentences_end_at_full_stops_not_at_abbreviations(text: str, parts: list[str]) -> None:
    assert sentences(text) == parts


def test_markup_and_ticker_codes_are_not_prose() -> None:
    found = topics_of("ticker_codes_and_markup.txt")
    assert "united-kingdom" not in found


def test_exclude_phrases_consume_their_words() -> None:
    found = MATCHER.mentions("the Paris Agreement and the Kyoto Protocol", "body")
    assert found == []


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("the Soviet Union", "russia"),
        ("the USSR", "russia"),
        ("Burma", "myanmar"),
        ("West Germany", "germany"),
        ("the Kremlin", "russia"),
        ("the Bundesbank", "germany"),
        ("the Elysee", "france"),
        ("Downing Street", "united-kingdom"),
        ("the Bank of Japan", "japan"),
        ("KCNA", "north-korea"),
        ("Zaire", "dr-congo"),
        ("the Deutsche mark", "germany"),
        ("200 mln D-marks", "germany"),
        ("the French franc", "france"),
        ("Threadneedle Street", "united-kingdom"),
        ("the Toronto Stock Exchange", "canada"),
        ("the cruzado", "brazil"),
        ("5 billion reais", "brazil"),
        ("MITI", "japan"),
        ("the Korean won", "south-korea"),
        ("an EastEnders actor", "united-kingdom"),
        ("MSPs voted", "scotland"),
        ("Leyton Orient", "england"),
        ("the Culture Secretary", "united-kingdom"),
        ("Freeview boxes", "united-kingdom"),
    ],
)
def test_former_names_and_institutions(text: str, slug: str) -> None:
    assert [m.slug for m in MATCHER.mentions(text, "body")] == [slug]


# --- Relevance -------------------------------------------------------------------------


def test_a_passing_mention_is_not_the_subject() -> None:
    found = topics_of("japan_with_trading_partners.txt")
    assert "japan" in found
    assert "china" not in found and "south-korea" not in found


def test_a_place_in_the_title_is_not_a_passing_mention() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "place_in_the_title.txt"))["canada"]
    assert verdict.score < verdict.share_floor  # little beside Japan, yet in the headline
    assert verdict.accepted and verdict.outweighed_by is None


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("London, Ontario", "canada"),
        ("Sydney, Nova Scotia", "canada"),
        ("Birmingham, Alabama", "united-states"),
        ("New Brunswick, N.J.", "united-states"),
        ("Paris, Texas", "united-states"),
    ],
)
def test_towns_named_after_places_abroad_are_where_they_are(text: str, slug: str) -> None:
    assert [m.slug for m in MATCHER.mentions(text, "body")] == [slug]


def test_the_only_place_of_an_article_needs_only_its_summary() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "only_place_in_summary.txt"))["canada"]
    assert verdict.accepted and verdict.leading
    assert verdict.score == 3.0 + 2.0  # the summary, and the leading place's bonus


def test_one_mention_late_in_the_body_is_not_enough() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "passing_mention_in_body.txt"))["brazil"]
    assert not verdict.accepted
    assert verdict.reason == "score 1 is below the threshold 3.5"


def test_one_aside_does_not_make_the_only_place_the_subject() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "one_aside_in_the_lead.txt"))["japan"]
    assert not verdict.leading and not verdict.accepted
    assert verdict.reason == "score 1.5 is below the threshold 3.5"  # no bonus for one aside


def test_a_currency_alone_does_not_place_a_story() -> None:
    verdicts = MATCHER.verdicts(read(ARTICLES / "currency_abroad.txt"))
    australia = verdicts["australia"]
    assert not australia.accepted and not australia.mentions
    assert australia.unconfirmed_terms() == {"Australian": {"title": 1, "summary": 1, "lead": 1}}
    assert australia.describe("Australia")[1:] == [
        "  Australian: title 1, summary 1, lead 1 (a currency, not the place: not counted)"
    ]
    assert "canada" not in verdicts or not verdicts["canada"].accepted
    assert verdicts["germany"].accepted  # the story is the German bank's


def test_a_currency_counts_where_the_story_names_its_country() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "currency_at_home.txt"))["australia"]
    assert verdict.accepted
    assert verdict.terms() == {
        "Australian": {"title": 1, "summary": 1},
        "Reserve Bank of Australia": {"summary": 1},
        "Sydney": {"lead": 1},
    }


def test_a_paragraph_counts_once() -> None:
    article = read(ARTICLES / "only_place_in_summary.txt")
    again = " It names Canadian banks, Canadian savers."
    repeated = replace(article, summary=article.summary + again)
    assert MATCHER.verdicts(repeated)["canada"].score == MATCHER.verdicts(article)["canada"].score


def test_a_topic_threshold_overrides_the_default() -> None:
    taxonomy = load_taxonomy(COLLECTION / "topics.toml")
    article = read(ARTICLES / "japan_with_trading_partners.txt")
    assert "japan" in MATCHER.topics_of(article)
    assert "japan" not in Matcher(taxonomy).topics_of(article)  # its threshold is 20 there


def test_declared_topics_always_count() -> None:
    article = replace(read(ARTICLES / "guinea_pigs.txt"), declared_topics=("north-korea",))
    verdicts = MATCHER.verdicts(article)
    assert verdicts["north-korea"].declared and verdicts["north-korea"].accepted
    assert verdicts["korea"].via_child == "north-korea"


# --- Hierarchy -------------------------------------------------------------------------


def test_an_article_is_in_the_parents_of_its_topics() -> None:
    (tagged,) = MATCHER.tag([read(ARTICLES / "chad_the_country.txt")])
    assert {"chad", "central-africa", "africa"} <= set(tagged.topics)
    assert list(tagged.topics) == sorted(tagged.topics)


def test_parent_feeds_hold_their_childrens_articles(client) -> None:  # type: ignore[no-untyped-def]
    seed_title = b"North Korea Conducts Anti-Aircraft Missile Test"
    for slug in ("north-korea", "korea", "east-asia", "asia"):
        assert seed_title in client.get(f"/feeds/{slug}.rss").data, slug


# --- The seed article ------------------------------------------------------------------


def test_the_seed_is_about_north_korea_and_russia() -> None:
    found = set(MATCHER.topics_of(read(SEED)))
    assert {"korea", "north-korea", "russia"} <= found
    assert not {"ukraine", "south-korea", "united-states"} & found


def test_a_collection_subject_topic_matches_keywords() -> None:
    matcher = Matcher(load_taxonomy(COLLECTION / "topics.toml"))
    found = matcher.topics_of(read(SEED))
    assert {"missiles", "air-defence", "north-korea"} <= set(found)
    assert "korea" not in found


# --- Explanations ----------------------------------------------------------------------


def explain(*args: str, collection: Path = ARTICLES) -> str:
    """Run `feeds explain` with a collection that has no topics.toml unless told otherwise."""
    result = CliRunner().invoke(main, ["explain", *args, "--collection", str(collection)])
    assert result.exit_code == 0, result.output
    return result.output


def test_explain_shows_terms_places_score_threshold_and_verdict() -> None:
    output = explain(str(SEED))
    assert output.startswith("North Korea Conducts Anti-Aircraft Missile Test")
    assert "topics: asia, east-asia, eastern-europe, europe, korea, north-korea, russia\n" in output
    assert "north-korea (North Korea): IN, score 23.46 reaches the threshold 3.5" in output
    assert "  named in the title, the summary and 14 sentences of the story\n" in output
    assert "  the subject of the summary and 4 sentences\n" in output
    assert "  71% of the story's words are about it\n" in output
    assert "  KCNA: lead 2, body 1\n" in output
    assert "  North Korea: title 1, summary 2, lead 1, body 4\n" in output
    assert (
        "ukraine (Ukraine): out, a passing mention: score 3.77 is under 17.34, "
        "the share needed beside korea, the headline's subject\n"
    ) in output
    assert output.index("north-korea (North Korea)") < output.index("ukraine (Ukraine)")


def test_explain_one_topic() -> None:
    output = explain(str(ARTICLES / "georgia_the_us_state.txt"), "--topic", "georgia")
    assert "georgia (Georgia): out, score 0 is below the threshold 3.5" in output
    assert (
        "  Georgia: title 1, summary 1, lead 1 "
        "(ambiguous, and nothing else in the story confirms it: not counted)"
    ) in output
    assert "united-states" not in output.split("\n", 2)[2]


def test_explain_a_topic_the_article_never_mentions() -> None:
    output = explain(str(SEED), "--topic", "brazil")
    assert "brazil (Brazil): out, score 0 is below the threshold 3.5" in output


def test_explain_as_json() -> None:
    record = json.loads(explain(str(SEED), "--json", "--topic", "russia"))
    assert record["topics"][:2] == ["asia", "east-asia"]
    (verdict,) = record["verdicts"]
    assert verdict["topic"] == "russia" and verdict["accepted"] is True
    assert verdict["terms"]["Russia"] == {"title": 1, "summary": 2, "lead": 1, "body": 4}
    assert verdict["score"] >= verdict["threshold"]
    assert verdict["counted"]["title"] == 1 and verdict["counted"]["body"] >= 4  # sentences
    assert 0 < verdict["coverage"] <= 1


def test_explain_reads_the_collection_topics(tmp_path: Path) -> None:
    shutil.copytree(COLLECTION, tmp_path / "news")
    article = tmp_path / "news" / "missile_test.txt"
    output = explain(str(article), "--topic", "missiles", collection=tmp_path / "news")
    assert "missiles (Missiles): IN" in output
    assert "  missile: title 1, summary 1\n" in output


def test_explain_rejects_an_unknown_topic() -> None:
    result = CliRunner().invoke(main, ["explain", str(SEED), "--topic", "atlantis"])
    assert result.exit_code == 1
    assert "unknown topic 'atlantis'; `feeds topics --all` lists them" in result.output


def test_explain_reports_a_broken_topics_file(tmp_path: Path) -> None:
    shutil.copy(DATA / "invalid" / "not_toml.toml", tmp_path / "topics.toml")
    result = CliRunner().invoke(main, ["explain", str(SEED), "--collection", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'topics.toml'}: not valid TOML" in result.output


# --- Aboutness: about the place, not only naming it ------------------------------------------

ABOUTNESS = [
    # file, topics it must be in, topics it must not be in
    ("dedicated_paragraph.txt", ("russia",), ()),
    ("list_of_countries.txt", ("japan",), ("germany", "france", "italy", "united-kingdom")),
    ("opponent_named_once.txt", ("wales", "united-kingdom"), ("italy", "scotland")),
    ("surname.txt", (), ("ireland", "england", "united-kingdom")),
    ("swiss_army_knife.txt", (), ("switzerland",)),
    ("swiss_army_knife_in_a_list.txt", (), ("switzerland",)),
    ("party_and_minister.txt", ("united-kingdom",), ()),
    ("club.txt", ("england", "united-kingdom"), ()),
    ("city_in_two_countries.txt", ("spain",), ("venezuela",)),
    ("city_without_its_country.txt", (), ("spain", "venezuela")),
    ("company_named_after_place.txt", ("united-states",), ("chile",)),
    ("fund_in_a_capitals_headline.txt", ("united-states",), ("thailand",)),
    ("national_arm_in_a_capitals_headline.txt", ("canada",), ()),
    ("one_long_aside.txt", ("united-states",), ("germany",)),
    ("demonym_of_a_person.txt", ("northern-ireland", "united-kingdom"), ("ireland",)),
    ("mark_the_record_beside_a_german.txt", ("england",), ("germany",)),
    ("two_asides_lead_nothing.txt", (), ("united-states",)),
    ("subject_of_the_summary.txt", ("spain", "thailand"), ()),
    ("national_bodies_without_the_country.txt", ("united-kingdom",), ()),
    ("national_media_without_the_country.txt", ("united-kingdom",), ()),
    ("box_office_without_the_country.txt", ("united-states",), ()),
    ("defence_ministry_abroad.txt", ("india",), ("united-kingdom",)),
    ("clubs_by_their_towns.txt", ("england", "united-kingdom"), ()),
    ("town_name_as_a_surname.txt", ("united-states",), ("england", "united-kingdom")),
    ("subject_of_two_sentences.txt", ("wales", "united-kingdom"), ("germany",)),
    ("company_by_its_short_name.txt", ("indonesia", "united-kingdom"), ()),
    ("opponent_in_a_match.txt", ("france", "ireland"), ("wales", "scotland", "united-kingdom")),
    ("one_paragraph_turns_to_a_place.txt", ("united-states", "canada"), ()),
    ("one_paragraph_shared_with_another_place.txt", ("united-states",), ("canada", "australia")),
    ("comes_back_to_a_place.txt", ("sweden", "germany"), ()),
    ("fixture_list.txt", ("ireland",), ("cyprus", "israel", "france", "switzerland")),
    ("building_society_and_parliament.txt", ("united-kingdom",), ()),
    ("building_society_alone.txt", (), ("united-kingdom",)),
    ("result_line.txt", ("england", "united-kingdom"), ()),
    ("town_beside_a_number.txt", (), ("england", "united-kingdom")),
    ("team_by_its_nickname.txt", ("south-africa",), ()),
    ("opponent_club_named_after_its_city.txt", ("england", "united-kingdom"), ("serbia",)),
    ("government_without_its_country.txt", ("norway",), ()),
    ("region_without_its_country.txt", ("china",), ()),
    ("region_naming_a_firm.txt", (), ("germany",)),
    ("brand_without_its_country.txt", (), ("japan",)),
    ("brand_with_its_country.txt", ("japan",), ()),
]


@pytest.mark.parametrize(
    ("name", "inside", "outside"), ABOUTNESS, ids=[s[0].removesuffix(".txt") for s in ABOUTNESS]
)
def test_a_story_is_in_the_places_it_is_about(
    name: str, inside: tuple[str, ...], outside: tuple[str, ...]
) -> None:
    found = topics_of(name)
    assert set(inside) <= set(found), found
    assert not set(outside) & set(found), found


def test_a_name_beside_a_score_is_a_team_and_the_explanation_says_so() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "result_line.txt"))["england"]
    assert [m.term for m in verdict.mentions] == ["Grimsby"] and not verdict.unconfirmed
    assert "  named beside a match's score: a team of the place" in verdict.evidence()


def test_a_club_named_after_its_city_is_an_opponent_too() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "opponent_club_named_after_its_city.txt"))["serbia"]
    assert not verdict.mentions and [m.opponent for m in verdict.unconfirmed] == [True]
    assert "  Belgrade: summary 1 (the opponent in a match: not counted)" in verdict.evidence()


def test_a_dedicated_paragraph_counts_by_the_share_of_the_story_it_fills() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "dedicated_paragraph.txt"))["russia"]
    assert verdict.accepted and verdict.coverage >= verdict.coverage_floor
    assert "of the story's words are about it" in "\n".join(verdict.evidence())


def test_a_paragraph_wholly_about_a_place_makes_the_story_about_it() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "one_paragraph_turns_to_a_place.txt"))["canada"]
    assert verdict.score < verdict.threshold and verdict.coverage < verdict.coverage_floor
    assert verdict.accepted and verdict.dedicated == 3
    assert verdict.reason == "a paragraph of 3 sentences is wholly about it"
    assert "  a paragraph of 3 sentences is wholly about it" in verdict.evidence()


def test_a_paragraph_shared_with_another_place_is_about_neither() -> None:
    name = "one_paragraph_shared_with_another_place.txt"
    verdicts = MATCHER.verdicts(read(ARTICLES / name))
    assert verdicts["canada"].dedicated == 0 and verdicts["australia"].dedicated == 0


def test_a_place_the_story_comes_back_to_is_not_a_passing_mention() -> None:
    verdicts = MATCHER.verdicts(read(ARTICLES / "comes_back_to_a_place.txt"))
    germany = verdicts["germany"]
    assert germany.score < germany.share_floor and not germany.dedicated  # by score, outweighed
    assert germany.accepted and germany.outweighed_by is None and germany.recurring == 5
    assert "  the story comes back to it in 5 sentences: more than a passing mention" in (
        germany.evidence()
    )


def test_a_list_of_fixtures_does_not_bring_a_team_back() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "fixture_list.txt"))["cyprus"]
    assert verdict.recurring == 0 and verdict.outweighed_by == "ireland"


def test_the_paragraph_and_recurring_rules_can_be_turned_off(tmp_path: Path) -> None:
    settings = tmp_path / "topics.toml"
    settings.write_text("[settings]\ndedicated = 0\nrecurring = 0\n", encoding="utf-8")
    matcher = Matcher(load_taxonomy(settings))
    canada = matcher.verdicts(read(ARTICLES / "one_paragraph_turns_to_a_place.txt"))["canada"]
    germany = matcher.verdicts(read(ARTICLES / "comes_back_to_a_place.txt"))["germany"]
    assert not canada.accepted and canada.dedicated == 0
    assert not germany.accepted and germany.outweighed_by == "sweden"


def test_a_headline_that_opens_with_a_place_raises_the_share_the_others_need(
    tmp_path: Path,
) -> None:
    article = read(ARTICLES / "headline_opens_with_a_place.txt")
    verdict = MATCHER.verdicts(article)["united-states"]
    assert verdict.headed and verdict.outweighed_by == "japan" and not verdict.accepted
    assert verdict.reason.endswith("the share needed beside japan, the headline's subject")
    settings = tmp_path / "topics.toml"
    settings.write_text("[settings]\nheadline_share = 0\n", encoding="utf-8")
    assert Matcher(load_taxonomy(settings)).verdicts(article)["united-states"].accepted
    unheaded = replace(article, title="Trade surplus widens as Japan exports rise")
    assert MATCHER.verdicts(unheaded)["united-states"].accepted


def test_a_country_in_a_list_counts_for_a_part_of_its_sentence() -> None:
    verdicts = MATCHER.verdicts(read(ARTICLES / "list_of_countries.txt"))
    assert verdicts["germany"].score < 1.5 / 2  # a lead sentence shared among six countries
    assert verdicts["japan"].score >= 4 + 3


def test_a_company_named_after_a_place_is_explained() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "company_named_after_place.txt"))["chile"]
    assert not verdict.accepted
    assert verdict.describe("Chile")[1:] == [
        "  Chile: title 1, summary 1 (a company named after the place: not counted)"
    ]


def test_a_place_named_in_one_sentence_covers_nothing() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "one_long_aside.txt"))["germany"]
    assert verdict.coverage == 0 and not verdict.accepted


def test_a_surname_after_a_title_is_not_the_place() -> None:
    verdicts = MATCHER.verdicts(read(ARTICLES / "surname.txt"))
    assert "ireland" not in verdicts and "england" not in verdicts


def test_two_different_ambiguous_names_confirm_each_other() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "party_and_minister.txt"))["united-kingdom"]
    assert {"Labour MPs", "Home Secretary", "Lib Dems"} <= set(verdict.terms())
    assert {"Commons", "Conservatives"} <= set(verdict.terms())  # weak, confirmed


def test_the_subject_of_the_summary_weighs_like_the_headline() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "subject_of_the_summary.txt"))["spain"]
    assert verdict.score == 4.0  # not shared with Bangkok, named later in the sentence
    assert "  the subject of the summary" in verdict.evidence()


def test_an_opponent_in_a_match_is_named_not_counted() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "opponent_in_a_match.txt"))["wales"]
    assert verdict.score == 0 and not verdict.accepted
    assert verdict.evidence() == ["  Wales: lead 2 (the opponent in a match: not counted)"]


def test_the_seed_story_is_in_korea_north_korea_and_russia() -> None:
    assert {"korea", "north-korea", "russia"} <= set(MATCHER.topics_of(read(SEED)))


# --- World knowledge ---------------------------------------------------------------------


def test_leaders_ministers_and_companies_stand_for_their_country() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "government_without_its_country.txt"))["norway"]
    names = {"Jonas Gahr Store", "Erna Solberg", "Equinor", "Government Pension Fund Global"}
    assert names <= set(verdict.terms())


def test_a_global_brand_counts_for_its_country_only_with_confirming_context() -> None:
    alone = MATCHER.verdicts(read(ARTICLES / "brand_without_its_country.txt"))["japan"]
    assert not alone.accepted
    assert alone.unconfirmed_terms() == {"Honda": {"summary": 1}}
    confirmed = MATCHER.verdicts(read(ARTICLES / "brand_with_its_country.txt"))["japan"]
    assert "Honda" in confirmed.terms()


def test_a_region_that_also_names_a_firm_needs_confirming_context() -> None:
    verdict = MATCHER.verdicts(read(ARTICLES / "region_naming_a_firm.txt"))["germany"]
    assert not verdict.accepted
    assert verdict.unconfirmed_terms() == {"Hanover": {"summary": 1, "lead": 1}}
