"""Topics: deciding which topics an article is about.

Pure functions over text. One pass over an article's words finds every term of
every topic (a dictionary of word sequences keyed by their first word), then
each topic is scored by where and how often its terms occur. The taxonomy
itself is loaded by :mod:`feeds.taxonomy`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import cast

from .models import Parsed, Readable
from .taxonomy import Scoring, Taxonomy

WORD = re.compile(r"[^\W_]+")
ASCII_WORD = re.compile(r"[A-Za-z0-9]+")  # the same in ASCII text, and faster to find
# Markup is not prose: HTML tags and the <TICKER> codes of market news name no place.
MARKUP = re.compile(r"</?[a-z][a-z0-9]*(?:\s[^<>]*)?>|<[A-Z0-9.]{1,12}>")
PLACES = ("title", "summary", "lead", "body")
# A place among the first words of a sentence is its subject ("China is seen as the main
# culprit", "Spanish movie The Sea Inside has won"), not an aside or an object of it.
SUBJECT_WORDS = 2
# A sentence of fewer words is a line of a table or a list of results ("4 Marat Safin (Russia)",
# "Cyprus v Israel."), not a sentence that tells of the place.
FULL_SENTENCE = 6
# A club named after its city has at most this many words before the city ("Red Star Belgrade").
CLUB_WORDS = 2
# Where a sentence may end: after . ! or ? (and a closing quote), before a capital or a digit.
SENTENCE_END = re.compile(r"(?<=[.!?])([\"'”’)]?)\s+(?=[\"'“‘(]?[A-Z0-9])")
# ...unless the full stop ends an abbreviation: "U.S. And Canada", "Mr. Smith".
ABBREVIATION = re.compile(r"(?:\b[A-Z]\.)+$|\b(?:Mr|Mrs|Ms|Dr|St|Sen|Rep|Gov|Gen|No|Co|Inc|Jr)\.$")
ABBREVIATION_SIZE = 5  # the longest "Mrs." with the word boundary before it; "U.S." ends in "S."
# A match's score as results give it: "Hereford 1-1 Doncaster", not "2.50" or "1987-88".
SCORE = re.compile(r"(?<![\d.,])\d{1,2}-\d{1,2}(?![\d.,-])")


def fold(word: str) -> str:
    """The word without accents, so "Élysée" and "Elysee" are one word."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def words_of(text: str) -> list[str]:
    prose = MARKUP.sub(" ", text) if "<" in text else text
    if prose.isascii():  # most text: nothing to fold
        return ASCII_WORD.findall(prose)
    return [fold(w) for w in WORD.findall(prose)]


@dataclass(frozen=True, slots=True)
class Hit:
    """What a matched term is evidence for."""

    slug: str
    term: str
    weak: bool


@dataclass(frozen=True, slots=True)
class Mention:
    """One occurrence of a topic's term in an article."""

    slug: str
    term: str
    field: str  # title, summary, lead or body
    weak: bool = False
    paragraph: int = 0  # 0 the title, 1 the summary, 2... the body paragraphs
    currency: bool = False  # names a currency ("Australian dollar"), so it counts as weak
    company: bool = False  # names a company after the place ("Korea Fund"): weak too
    sentence: int = 0  # the sentence's number in the article, the title being 0
    subject: bool = False  # opens its sentence ("China is seen as...", "Spanish movie X won")
    opponent: bool = False  # the other side in a match ("lost to Wales"): never counted
    result: bool = False  # an ambiguous name beside a score ("Hereford 1-1 Doncaster"): a team

    @property
    def unit(self) -> int:
        """What the score counts once: the title, the summary, or a sentence of the body.
        Sentences, not paragraphs, so that a source writing its story as one long paragraph
        is weighed like one that breaks it up."""
        return self.paragraph - 2 if self.paragraph < 2 else self.sentence


@dataclass(frozen=True)
class Verdict:
    """Why an article is or is not in a topic."""

    slug: str
    score: float
    threshold: float
    mentions: tuple[Mention, ...]
    declared: bool = False
    via_child: str | None = None
    # Weak terms found without the evidence that would confirm them.
    unconfirmed: tuple[Mention, ...] = ()
    # The article's leading place, when this place or region scores too little beside it,
    # and the score it would have needed (the `share` of the leading place's).
    outweighed_by: str | None = None
    share_floor: float = 0.0
    headed: bool = False  # the headline opens with the leading place, so the floor is higher
    leading: bool = False  # the place the article mentions most: its score has the bonus
    # The share of the story's words about the place, and the share that makes it about it.
    coverage: float = 0.0
    coverage_floor: float = 0.0
    # The sentences of the longest paragraph that is wholly about the place (0 for none).
    dedicated: int = 0
    # The full sentences that name the place, when so many that it is no passing mention.
    recurring: int = 0

    @property
    def covered(self) -> bool:
        return 0 < self.coverage_floor <= self.coverage or self.dedicated > 0

    @property
    def accepted(self) -> bool:
        if self.declared or self.via_child is not None or self.covered:
            return True
        return self.score >= self.threshold and self.outweighed_by is None

    @property
    def reason(self) -> str:
        """One line saying why the verdict is what it is."""
        if self.declared:
            return "declared in the article's front matter"
        if self.via_child is not None:
            return f"in it through {self.via_child}"
        if self.dedicated and (self.score < self.threshold or self.outweighed_by is not None):
            return f"a paragraph of {self.dedicated} sentences is wholly about it"
        if self.covered and (self.score < self.threshold or self.outweighed_by is not None):
            return (
                f"{self.coverage:.0%} of the story is about it, "
                f"at least the {self.coverage_floor:.0%} that makes a story about a place"
            )
        if self.score < self.threshold:
            return f"score {self.score:g} is below the threshold {self.threshold:g}"
        if self.outweighed_by is not None:
            about = "the headline's subject" if self.headed else "what the story is about"
            return (
                f"a passing mention: score {self.score:g} is under {self.share_floor:g}, "
                f"the share needed beside {self.outweighed_by}, {about}"
            )
        return f"score {self.score:g} reaches the threshold {self.threshold:g}"

    def terms(self) -> dict[str, dict[str, int]]:
        """Matched terms with a count per place: {"Pyongyang": {"title": 1, "body": 2}}."""
        return _count_terms(self.mentions)

    def unconfirmed_terms(self) -> dict[str, dict[str, int]]:
        return _count_terms(self.unconfirmed)

    def as_record(self) -> dict[str, object]:
        """The verdict as JSON-ready data."""
        return {
            "topic": self.slug,
            "accepted": self.accepted,
            "score": self.score,
            "threshold": self.threshold,
            "reason": self.reason,
            "terms": self.terms(),
            "unconfirmed": self.unconfirmed_terms(),
            "declared": self.declared,
            "via_child": self.via_child,
            "leading": self.leading,
            "outweighed_by": self.outweighed_by,
            "headed": self.headed,
            "coverage": round(self.coverage, 3),
            "dedicated": self.dedicated,
            "recurring": self.recurring,
            "paragraphs": self.paragraphs(),
            "counted": self.counted(),
        }

    def paragraphs(self) -> dict[str, int]:
        """How many paragraphs of each place mention the topic."""
        fields = {m.paragraph: m.field for m in self.mentions}
        return {place: n for place in PLACES if (n := list(fields.values()).count(place))}

    def counted(self) -> dict[str, int]:
        """What the score counts, by place: the title, the summary, sentences of the rest."""
        units = {m.unit: m.field for m in self.mentions}
        return {place: n for place in PLACES if (n := list(units.values()).count(place))}

    def describe(self, name: str) -> list[str]:
        """The verdict as text lines: a heading, then the evidence in plain words."""
        verdict = "IN" if self.accepted else "out"
        return [f"{self.slug} ({name}): {verdict}, {self.reason}", *self.evidence()]

    def evidence(self) -> list[str]:
        """What the verdict rests on, one indented line each, in words a reader understands."""
        lines = []
        if self.mentions:
            lines.append(f"  named in {_named_in(self.counted())}")
        subjects = {m.unit: m.field for m in self.mentions if m.subject and m.field != "title"}
        if subjects:
            lines.append(f"  the subject of {_subject_of(list(subjects.values()))}")
        if any(m.result for m in self.mentions):
            lines.append("  named beside a match's score: a team of the place")
        if self.coverage:
            lines.append(f"  {self.coverage:.0%} of the story's words are about it")
        if self.dedicated:
            lines.append(f"  a paragraph of {self.dedicated} sentences is wholly about it")
        if self.recurring and not self.leading:
            lines.append(
                f"  the story comes back to it in {self.recurring} sentences: "
                "more than a passing mention"
            )
        if self.leading:
            lines.append("  the place the story is most about: its score includes the bonus")
        lines += [f"  {term}: {_places(places)}" for term, places in self.terms().items()]
        kinds = (
            ("currency", "a currency, not the place"),
            ("company", "a company named after the place"),
            ("opponent", "the opponent in a match"),
            ("", "ambiguous, and nothing else in the story confirms it"),
        )
        for flag, kind in kinds:
            mentions = [m for m in self.unconfirmed if _kind(m) == flag]
            lines += [
                f"  {term}: {_places(places)} ({kind}: not counted)"
                for term, places in _count_terms(mentions).items()
            ]
        return lines


def _kind(mention: Mention) -> str:
    if mention.opponent:
        return "opponent"
    return "currency" if mention.currency else "company" if mention.company else ""


def _named_in(counts: dict[str, int]) -> str:
    """ "the title, the summary and 3 sentences of the story" from counts by place."""
    parts = [f"the {place}" for place in ("title", "summary") if place in counts]
    others = counts.get("lead", 0) + counts.get("body", 0)
    if others:
        parts.append(f"{others} sentence{'s' if others > 1 else ''} of the story")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _subject_of(fields: list[str]) -> str:
    """ "the summary and 2 sentences" from where the sentences a place opens are."""
    others = len(fields) - fields.count("summary")
    parts = ["the summary"] if "summary" in fields else []
    if others:
        parts.append(f"{others} sentence{'s' if others > 1 else ''}")
    return " and ".join(parts)


def _in_title(mentions: Iterable[Mention]) -> bool:
    """Whether the title names the topic: a place in the headline is never a passing mention."""
    return any(m.field == "title" for m in mentions)


def _heads(mentions: Iterable[Mention]) -> bool:
    """Whether the headline opens with the place ("Japan trade surplus widens"): its subject."""
    return any(m.field == "title" and m.subject for m in mentions)


def _substantial(mentions: list[Mention]) -> bool:
    """Named in the title or the summary, in three paragraphs or more, or the subject of two
    sentences: what a story is mostly about is in its headline or opening, runs through it,
    or is what it tells of ("The Welsh runner set a record"), not two asides."""
    return (
        any(m.field in ("title", "summary") for m in mentions)
        or len({m.paragraph for m in mentions}) > 2
        or len({m.unit for m in mentions if m.subject}) > 1
    )


def _goals(words: list[str]) -> bool:
    """Whether two words are the numbers of a score."""
    return len(words) == 2 and all(w.isdigit() and len(w) <= 2 for w in words)


def _in_result(words: list[str], i: int, size: int) -> bool:
    """Whether the words at ``i`` are a side in a result line ("Hereford 1-1 Doncaster"):
    a name beside a score is a team, whatever else the word may be."""
    return _goals(words[max(0, i - 2) : i]) or _goals(words[i + size : i + size + 2])


def sentences(text: str) -> list[str]:
    """The sentences of a paragraph, near enough to weigh what each is about."""
    parts: list[str] = []
    start = 0
    for end in SENTENCE_END.finditer(text):
        stop = end.start()  # just after the full stop
        if not ABBREVIATION.search(text, max(start, stop - ABBREVIATION_SIZE), stop):
            parts.append(text[start : end.end(1)])  # with its closing quote, if any
            start = end.end()
    parts.append(text[start:])
    return parts


def _places(counts: dict[str, int]) -> str:
    return ", ".join(f"{place} {counts[place]}" for place in PLACES if place in counts)


def _count_terms(mentions: Iterable[Mention]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for mention in mentions:
        table[mention.term][mention.field] += 1
    return {term: dict(places) for term, places in table.items()}


Pattern = tuple[tuple[str, ...], tuple[Hit, ...]]
Table = dict[str, dict[str, list[Pattern]]]


def _with_capitals(words: Iterable[str]) -> frozenset[str]:
    """The words as written and in capitals."""
    return frozenset(w for word in words for w in (word, word.upper()))


class _Patterns:
    """Word sequences of every term, keyed by first word: as written, and case-folded."""

    def __init__(self) -> None:
        self._hits: dict[tuple[bool, tuple[str, ...]], list[Hit]] = defaultdict(list)

    def add(self, term: str, hit: Hit | None) -> None:
        words = tuple(words_of(term))
        if not words:
            return
        if term == term.lower():
            # An all-lowercase term is a common word: match it in any case.
            self._put(True, tuple(w.lower() for w in words), hit)
        else:
            # A capitalised term matches as written, and in all-capitals headlines.
            self._put(False, words, hit)
            self._put(False, tuple(w.upper() for w in words), hit)

    def _put(self, folded: bool, words: tuple[str, ...], hit: Hit | None) -> None:
        hits = self._hits[(folded, words)]
        if hit is not None and hit not in hits:
            hits.append(hit)

    def tables(self) -> tuple[Table, Table]:
        """(exact, folded): first word -> second word -> the patterns that may match there,
        longest first; under "" the one-word pattern alone. Most words that begin a longer
        term ("the", "New") are followed by no second word of one, and are done with in one
        look-up."""
        exact: dict[str, list[Pattern]] = defaultdict(list)
        folded: dict[str, list[Pattern]] = defaultdict(list)
        for (is_folded, words), hits in self._hits.items():
            (folded if is_folded else exact)[words[0]].append((words, tuple(hits)))
        return _by_second_word(exact), _by_second_word(folded)


def _by_second_word(table: dict[str, list[Pattern]]) -> Table:
    result: Table = {}
    for first, patterns in table.items():
        single = [p for p in patterns if len(p[0]) == 1]
        longer: dict[str, list[Pattern]] = defaultdict(list)
        for pattern in patterns:
            if len(pattern[0]) > 1:
                longer[pattern[0][1]].append(pattern)
        result[first] = {
            "": single,
            **{
                second: sorted(found, key=lambda p: -len(p[0])) + single
                for second, found in longer.items()
            },
        }
    return result


class Matcher:
    """Finds and scores every topic of a taxonomy in an article in one pass over its words."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.scoring: Scoring = taxonomy.scoring
        patterns = _Patterns()
        for topic in taxonomy.topics.values():
            for term in topic.terms:
                patterns.add(term, Hit(topic.slug, term, weak=False))
            for term in taxonomy.weak_terms_of(topic.slug):
                patterns.add(term, Hit(topic.slug, term, weak=True))
            for term in topic.exclude:
                patterns.add(term, None)  # consumes the words so they count for nothing
        self._exact, self._folded = patterns.tables()
        self._ancestors = {slug: taxonomy.ancestors(slug) for slug in taxonomy.topics}
        self._confirmers = {slug: self._confirmers_of(slug) for slug in taxonomy.topics}
        self._currencies = frozenset(w.lower() for w in self.scoring.currencies)
        # Headlines in capitals ("THE JAPAN FUND", "MR IRISH") name companies and people too.
        self._companies = _with_capitals(self.scoring.companies)
        self._honorifics = _with_capitals(self.scoring.honorifics)
        self._opponents = frozenset(tuple(words_of(p.lower())) for p in self.scoring.opponents)
        self._places = {s for s, t in taxonomy.topics.items() if t.kind == "place"}
        # Regions add up their places' mentions, so they are held to the same share.
        self._shared = self._places | {s for s, t in taxonomy.topics.items() if t.kind == "region"}
        self._country = {slug: self._country_of(slug) for slug in taxonomy.topics}
        # The countries a place or region stands for: its own, and those of every topic below.
        self._own = {
            slug: frozenset(
                c
                for c in (self._country[slug], *map(self._country.get, taxonomy.descendants(slug)))
                if c is not None
            )
            for slug in self._shared
        }

    def _country_of(self, slug: str) -> str | None:
        """The outermost place above or at a topic: England's is the United Kingdom."""
        chain = [s for s in (slug, *self.taxonomy.ancestors(slug)) if s in self._places]
        return chain[-1] if chain else None

    def _confirmers_of(self, slug: str) -> frozenset[str]:
        """The topics whose strong terms confirm a topic's weak ones."""
        found = {slug, *self.taxonomy.descendants(slug)}
        for other in self.taxonomy.context_of(slug):
            found |= {other, *self.taxonomy.descendants(other)}
        return frozenset(found)

    def mentions(
        self, text: str, place: str, paragraph: int = 0, sentence: int = 0
    ) -> list[Mention]:
        """Every term occurrence in ``text``, longest match first, left to right."""
        words = words_of(text)
        lowered = [w.lower() for w in words]
        exact, folded = self._exact, self._folded
        found: list[Mention] = []
        i, count = 0, len(words)
        scored = "-" in text and SCORE.search(text) is not None
        while i < count:
            if words[i] not in exact and lowered[i] not in folded:
                i += 1  # the common case, decided without a call
                continue
            size, hits = self._match_at(words, lowered, i)
            if not size:
                i += 1
                continue
            if size == 1 and i and words[i - 1] in self._honorifics:
                i += 1  # "Mr Irish" is a person
                continue
            after = words[i + size] if i + size < count else ""
            money = after.lower() in self._currencies
            company = after in self._companies
            opponent = self._opponent(words, lowered, i)
            weak = money or company or opponent
            subject = i < SUBJECT_WORDS
            result = scored and _in_result(words, i, size)
            found += [
                Mention(
                    h.slug,
                    h.term,
                    place,
                    (h.weak and not result) or weak,
                    paragraph,
                    money,
                    company,
                    sentence,
                    subject,
                    opponent,
                    h.weak and result,
                )
                for h in hits
            ]
            i += size
        return found

    def _opponent(self, words: list[str], lowered: list[str], i: int) -> bool:
        """Whether the words before ``i`` make the place the opponent in a match: "beat
        Italy", "lost to Wales", "draw with the Irish", and a club named after its city
        ("beating Partizan Belgrade", "lost to Red Star Belgrade")."""
        start = i
        while start > max(0, i - CLUB_WORDS) and words[start - 1][:1].isupper():
            if self._beaten(lowered, start):
                return True
            start -= 1
        return self._beaten(lowered, start)

    def _beaten(self, lowered: list[str], start: int) -> bool:
        """Whether the words before ``start`` are those of an opponent: "beat", "lost to"."""
        if start and lowered[start - 1] == "the":
            start -= 1
        return any(
            tuple(lowered[start - n : start]) in self._opponents for n in (1, 2) if start >= n
        )

    def _match_at(
        self, words: list[str], lowered: list[str], i: int
    ) -> tuple[int, tuple[Hit, ...]]:
        best_size, best_hits = 0, cast(tuple[Hit, ...], ())
        for table, seq in ((self._exact, words), (self._folded, lowered)):
            by_second = table.get(seq[i])
            if by_second is None:
                continue
            following = seq[i + 1] if i + 1 < len(seq) else ""
            for pattern, hits in by_second.get(following) or by_second[""]:
                size = len(pattern)
                if size < best_size:
                    break  # patterns are sorted longest first
                if size == 1 or tuple(seq[i : i + size]) == pattern:
                    best_hits = hits if size > best_size else best_hits + hits
                    best_size = size
                    break
        return best_size, best_hits

    def article_mentions(self, article: Readable) -> list[Mention]:
        return self._read(article)[0]

    def _read(self, article: Readable) -> tuple[list[Mention], list[int], list[int]]:
        """Every mention, numbered by paragraph and sentence, each sentence's length, and the
        paragraph each sentence is in."""
        lead = self.scoring.lead_paragraphs
        texts = [(article.title, "title"), (article.summary, "summary")]
        texts += [(p, "lead" if n < lead else "body") for n, p in enumerate(article.body)]
        found: list[Mention] = []
        sizes: list[int] = []
        within: list[int] = []
        for paragraph, (text, place) in enumerate(texts):
            for sentence in sentences(text) if paragraph else [text]:
                found += self.mentions(sentence, place, paragraph, len(sizes))
                sizes.append(len(sentence.split()))
                within.append(paragraph)
        return found, sizes, within

    def verdicts(self, article: Readable) -> dict[str, Verdict]:
        """A verdict for every topic mentioned or declared, ancestors included."""
        found, sizes, within = self._read(article)
        counted, unconfirmed = self._confirm(found)
        by_topic: dict[str, list[Mention]] = defaultdict(list)
        for mention in counted:
            for slug in (mention.slug, *self._ancestors[mention.slug]):
                by_topic[slug].append(mention)
        places = self._countries_by(counted, "unit")
        in_sentences = self._countries_by(counted, "sentence")
        matches = {m.sentence for found in unconfirmed.values() for m in found if m.opponent}
        scores, coverage, dedicated, recurring = {}, {}, {}, {}
        for slug, mentions in by_topic.items():
            scores[slug] = self._score(slug, mentions, places)
            coverage[slug] = self._coverage(slug, mentions, in_sentences, sizes)
            dedicated[slug] = self._dedicated(slug, mentions, in_sentences, within)
            recurring[slug] = self._recurring(slug, mentions, sizes, matches)
        leading = self._leading(scores, by_topic)
        headed = bool(leading) and _heads(by_topic[leading[0]])
        declared = {s for s in article.declared_topics if s in self.taxonomy}
        verdicts: dict[str, Verdict] = {}
        for slug in by_topic.keys() | unconfirmed.keys() | declared:
            score = scores.get(slug, 0.0)
            verdicts[slug] = Verdict(
                slug=slug,
                score=round(score + (self.scoring.leading if slug in leading else 0.0), 2),
                threshold=self.taxonomy.threshold_of(slug),
                mentions=tuple(by_topic.get(slug, ())),
                declared=slug in declared,
                unconfirmed=tuple(unconfirmed.get(slug, ())),
                outweighed_by=self._outweighed(
                    slug,
                    score,
                    leading,
                    scores,
                    by_topic.get(slug, []),
                    recurring.get(slug, 0),
                    headed,
                ),
                share_floor=round(self._share_floor(leading, scores, headed), 2),
                headed=headed,
                leading=slug in leading,
                coverage=coverage.get(slug, 0.0),
                coverage_floor=self._coverage_floor(slug),
                dedicated=dedicated.get(slug, 0),
                recurring=recurring.get(slug, 0),
            )
        return self._lift_parents(verdicts)

    def _coverage_floor(self, slug: str) -> float:
        """The share of words that makes a story about a place; a topic that raises its own
        threshold raises it in proportion."""
        if slug not in self._shared:
            return 0.0
        raised = max(1.0, self.taxonomy.threshold_of(slug) / self.scoring.threshold)
        return self.scoring.coverage * raised

    def _countries_by(self, mentions: list[Mention], unit: str) -> dict[int, set[str]]:
        """The countries each unit the score counts, or each sentence, names (a nation as its
        country)."""
        found: dict[int, set[str]] = defaultdict(set)
        for mention in mentions:
            country = self._country[mention.slug]
            if country is not None:
                found[getattr(mention, unit)].add(country)
        return found

    def _confirm(self, mentions: list[Mention]) -> tuple[list[Mention], dict[str, list[Mention]]]:
        """Split off weak mentions that nothing else in the article confirms: a strong term
        of a confirming topic, or a second, different weak term of one ("Labour" and "MPs");
        and the opponents in a match, which nothing confirms."""
        strong = {m.slug for m in mentions if not m.weak}
        weak_terms: dict[str, set[str]] = defaultdict(set)
        for m in mentions:
            if m.weak and not (m.currency or m.company or m.opponent):
                weak_terms[m.slug].add(m.term.casefold())  # "PLC" and "Plc" are one word
        counted: list[Mention] = []
        unconfirmed: dict[str, list[Mention]] = defaultdict(list)
        for mention in mentions:
            confirmers = self._confirmers[mention.slug]
            terms = set().union(*(weak_terms.get(s, set()) for s in confirmers))
            if mention.opponent:
                unconfirmed[mention.slug].append(mention)
            elif not mention.weak or confirmers & strong or len(terms) > 1:
                counted.append(mention)
            else:
                unconfirmed[mention.slug].append(mention)
        return counted, unconfirmed

    def _score(self, slug: str, mentions: list[Mention], places: dict[int, set[str]]) -> float:
        """The weights of the title, the summary and the sentences that mention the topic, each
        shared among the places it names unless the topic is its subject."""
        counts: dict[int, int] = defaultdict(int)
        fields = {}
        subjects = set()
        for mention in mentions:
            counts[mention.unit] += 1
            fields[mention.unit] = mention.field
            if mention.subject:
                subjects.add(mention.unit)
        return sum(
            self._unit_weight(fields[n], n in subjects)
            * (1.0 if fields[n] == "title" or n in subjects else self._share(slug, c, places[n]))
            for n, c in counts.items()
        )

    def _unit_weight(self, field: str, subject: bool) -> float:
        """What the title, the summary or a sentence is worth. The headline, and a sentence's
        subject, are never shared out: they say what the story, or the sentence, is about.
        The summary's subject says it as plainly as the headline, and weighs as much."""
        return self.scoring.weight("title" if field == "summary" and subject else field)

    def _coverage(
        self, slug: str, mentions: list[Mention], places: dict[int, set[str]], sizes: list[int]
    ) -> float:
        """The share of the story's words in sentences about the topic, each sentence weighed
        by the topic's share of the places it names. A place named in one sentence only is
        an aside however long the sentence: a passage about a place names it again."""
        counts: dict[int, int] = defaultdict(int)
        for mention in mentions:
            counts[mention.sentence] += 1
        if len(counts) < 2:
            return 0.0
        covered = sum(
            sizes[n] * self._share(slug, count, places.get(n, set())) for n, count in counts.items()
        )
        return covered / (sum(sizes) or 1)

    def _dedicated(
        self, slug: str, mentions: list[Mention], places: dict[int, set[str]], within: list[int]
    ) -> int:
        """The sentences of the longest paragraph of the body that is wholly about the place:
        it has the `dedicated` number of sentences at least, and each names the place and
        gives it the whole sentence. A story may turn to a place for one paragraph only, and
        that paragraph is about it ("Palermo believes the Canadian stock market has greater
        potential... Although the Canadian dollar has moved up... Canadian exports look cheap")."""
        least = self.scoring.dedicated
        if not least or slug not in self._shared:
            return 0
        counts: dict[int, int] = defaultdict(int)
        for mention in mentions:
            if mention.paragraph > 1:
                counts[mention.sentence] += 1
        if len(counts) < least:
            return 0  # the common case, decided without weighing a sentence
        named: dict[int, list[int]] = defaultdict(list)
        for n in counts:
            named[within[n]].append(n)
        return max(
            (
                len(found)
                for paragraph, found in named.items()
                if len(found) >= least
                and len(found) == within.count(paragraph)
                and all(self._share(slug, counts[n], places.get(n, set())) >= 1 for n in found)
            ),
            default=0,
        )

    def _recurring(
        self, slug: str, mentions: list[Mention], sizes: list[int], matches: set[int]
    ) -> int:
        """The title, the summary and the full sentences of the rest that name the place, when
        there are `recurring` of them at least, else 0. A story that comes back to a place
        that often is about it too, however much more it says of the leading place (General
        Motors' Swedish plant, and its German workers in five sentences). A line of a table
        and a match in a list of fixtures are not sentences about the place."""
        least = self.scoring.recurring
        if not least or len(mentions) < least or slug not in self._shared:
            return 0
        units = {
            m.unit
            for m in mentions
            if m.paragraph < 2 or (sizes[m.sentence] >= FULL_SENTENCE and m.sentence not in matches)
        }
        return len(units) if len(units) >= least else 0

    def _share(self, slug: str, count: int, countries: set[str]) -> float:
        """A place's part of a paragraph or sentence: its mentions, three quarters as much
        again, beside one for each other country it names, at most the whole. One of a pair
        (the two parties to talks) counts seven eighths, one of seven in a list a quarter, one
        named twice beside another whole."""
        if slug not in self._shared:
            return 1.0
        others = len(countries - self._own[slug])
        return min(1.0, 1.75 * count / (count + others))

    def _leading(
        self, scores: dict[str, float], mentions: dict[str, list[Mention]]
    ) -> tuple[str, ...]:
        """The places with the highest score (ties share the lead), unless that is one aside:
        a story that names a single place once, in passing, is not thereby about it."""
        top = max((v for s, v in scores.items() if s in self._places), default=0.0)
        return tuple(
            s
            for s, v in scores.items()
            if s in self._places and v == top and v > 0 and _substantial(mentions[s])
        )

    def _outweighed(
        self,
        slug: str,
        score: float,
        leading: tuple[str, ...],
        scores: dict[str, float],
        mentions: list[Mention],
        recurring: int = 0,
        headed: bool = False,
    ) -> str | None:
        """The leading place, when this place scores too little beside it, unless the title
        names it or the story keeps coming back to it."""
        if slug not in self._shared or not leading or slug in leading or _in_title(mentions):
            return None
        if recurring:
            return None
        return leading[0] if score < self._share_floor(leading, scores, headed) else None

    def _share_floor(
        self, leading: tuple[str, ...], scores: dict[str, float], headed: bool = False
    ) -> float:
        """The score a place needs beside the leading place: more when the headline opens
        with the leading place."""
        share = self.scoring.headline_share if headed else 0.0
        return max(share, self.scoring.share) * scores[leading[0]] if leading else 0.0

    def _lift_parents(self, verdicts: dict[str, Verdict]) -> dict[str, Verdict]:
        """A parent holds every article of its accepted children."""
        for slug, verdict in list(verdicts.items()):
            if verdict.accepted:
                for parent in self._ancestors[slug]:
                    known = verdicts.get(parent) or Verdict(
                        parent, 0.0, self.taxonomy.threshold_of(parent), ()
                    )
                    if not known.accepted:
                        verdicts[parent] = replace(known, via_child=slug)
        return verdicts

    def explain(self, article: Readable, slug: str | None = None) -> list[Verdict]:
        """The verdicts on every topic considered (or on ``slug`` alone), accepted first."""
        verdicts = self.verdicts(article)
        if slug is not None:
            return [verdicts.get(slug) or Verdict(slug, 0.0, self.taxonomy.threshold_of(slug), ())]
        return sorted(verdicts.values(), key=lambda v: (not v.accepted, -v.score, v.slug))

    def topics_of(self, article: Readable) -> tuple[str, ...]:
        """The slugs of every topic the article is in, sorted."""
        return tuple(sorted(s for s, v in self.verdicts(article).items() if v.accepted))

    def tag(self, articles: Iterable[Parsed]) -> list[Parsed]:
        return [replace(a, topics=self.topics_of(a)) for a in articles]
