"""Plain-text search: what a query means, the same for the index and for one article.

A query is every word of it (or, in double quotes, the phrase), matched on whole
words in any case; it is never a regular expression. The words of an article are
written to the full-text index (SQLite FTS5) already split and lowered by
:func:`words`, so the index and :func:`matches` agree exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .collection import clean_text
from .models import Readable
from .topics import WORD as _WORD  # words are what topics match on, one pattern

MAX_QUERY_CHARS = 200
# What lies between words: replaced by one space, it gives what joining the words by one
# space gives, at a third of the cost (no list of words is made). A run of the characters
# _WORD (``[^\W_]+``) leaves out, ``[\W_]+``, but for a lone space, most of them, which
# is one space already: a third less again than replacing every one by itself.
_BETWEEN_WORDS = re.compile(r"[^\w ][\W_]*| [\W_]+|_[\W_]*")


@dataclass(frozen=True, slots=True)
class Query:
    """The words to look for, and whether they must appear together, in order."""

    words: tuple[str, ...]
    phrase: bool

    def fts(self) -> str:
        """The query in FTS5 syntax: each word (or the phrase) quoted, so none is an operator."""
        if self.phrase:
            return '"' + " ".join(self.words) + '"'
        return " ".join(f'"{word}"' for word in self.words)


def normalise_query(text: str) -> str:
    """The canonical form of a ``?q=``: text only, spaces collapsed, at most 200 characters."""
    return " ".join(clean_text(text).split())[:MAX_QUERY_CHARS]


def parse_query(query: str) -> Query:
    phrase = len(query) > 1 and query.startswith('"') and query.endswith('"')
    return Query(tuple(_WORD.findall(query.lower())), phrase)


def words(parts: Iterable[str]) -> str:
    """The words of some text, lowered and joined by single spaces: what the index holds."""
    return _BETWEEN_WORDS.sub(" ", " ".join(parts).lower()).strip(" ")


def matches(article: Readable, query: str) -> bool:
    """Plain-text search: a quoted phrase, or every word, case-insensitively, on whole words."""
    return matches_text(article.title, article.paragraphs, query)


def matches_text(title: str, paragraphs: Iterable[str], query: str) -> bool:
    """Whether a title and its paragraphs hold a query's phrase, or every word of it."""
    wanted = parse_query(query)
    if not wanted.words:
        return True
    text = f" {words((title, *paragraphs))} "
    if wanted.phrase:
        return f" {' '.join(wanted.words)} " in text
    return all(f" {word} " in text for word in wanted.words)
