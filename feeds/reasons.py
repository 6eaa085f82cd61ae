"""Why an article is in each of its topics, in the words its page shows behind "Why".

The explanation comes from the same matching that tags the article, so it is worked out once,
when the article is tagged, and kept with it in the index (as JSON, beside its text): an
article page then only formats it, rather than matching the whole text against every topic
again. Articles without one kept (read from their files again, or from an index written
before it was kept) are explained by matching them again, which gives the same reasons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import Readable, Story
from .topics import Matcher, Verdict

if TYPE_CHECKING:
    from .snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an article is in one topic."""

    slug: str
    declared: bool = False  # set by the editor in the front matter
    via_child: str | None = None  # in it through this topic below it
    reason: str = ""  # the verdict's one line, when it was scored
    evidence: tuple[str, ...] = ()  # what the score rests on, in plain words


def reason_of(verdict: Verdict) -> Reason:
    if verdict.declared or verdict.via_child:
        return Reason(verdict.slug, verdict.declared, verdict.via_child)
    return Reason(verdict.slug, reason=verdict.reason, evidence=tuple(verdict.evidence()))


def tag(matcher: Matcher, article: Readable) -> tuple[tuple[str, ...], tuple[Reason, ...]]:
    """The article's topics (as :meth:`Matcher.topics_of` gives them) and why it is in each,
    from one matching."""
    verdicts = matcher.verdicts(article)
    topics = tuple(sorted(slug for slug, v in verdicts.items() if v.accepted))
    return topics, tuple(reason_of(verdicts[slug]) for slug in topics)


def explain(matcher: Matcher, article: Readable) -> tuple[Reason, ...]:
    """Why the article is in each of the topics it carries, matched again."""
    verdicts = matcher.verdicts(article)
    return tuple(reason_of(verdicts[slug]) for slug in article.topics if slug in verdicts)


def dumps(reasons: tuple[Reason, ...]) -> str:
    """The reasons as compact JSON, for the index."""
    rows = [[r.slug, int(r.declared), r.via_child, r.reason, list(r.evidence)] for r in reasons]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None) -> tuple[Reason, ...] | None:
    """Reasons read back from the index; None when there are none or they do not decode."""
    try:
        rows = json.loads(text) if text else None
        if not isinstance(rows, list):
            return None
        return tuple(
            Reason(
                str(slug), bool(declared), via and str(via), str(reason), tuple(map(str, evidence))
            )  # fmt: skip
            for slug, declared, via, reason, evidence in rows
        )
    except (ValueError, TypeError):
        return None


def of_article(snap: Snapshot, article: Story) -> tuple[Reason, ...]:
    """Why the article is in each of its topics: as kept at tagging, or matched again."""
    kept = loads(snap.texts.reasons(article)) if snap.texts is not None else None
    if kept is not None and tuple(r.slug for r in kept) == article.topics:
        return kept
    return explain(snap.matcher, article)
