"""The file table: which file holds which article, which ids are claimed twice, and the
problems found in the files."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from ..collection import FileEntry
from ..models import Article, Problem
from ..store import FileRecord


class FileTable:
    """Every article file as last read, and the article each holds, dated and tagged.

    Of files that claim the same id, the first path holds it; the others are reported.
    """

    def __init__(self) -> None:
        self.entries: dict[str, FileEntry] = {}  # every article file, as last read
        self.problems_of: dict[str, tuple[Problem, ...]] = {}  # files that have problems
        self.articles: dict[str, Article] = {}  # path -> dated and tagged
        self.scan_problems: list[Problem] = []
        self._paths_of: dict[str, list[str]] = {}  # id -> the paths that claim it, sorted
        self._duplicates: set[str] = set()  # ids claimed by more than one path

    def keep(self, record: FileRecord) -> None:
        """Note a file as read, with its problems (its article is set apart, once dated)."""
        path = record.entry.path
        self.entries[path] = record.entry
        if record.problems:
            self.problems_of[path] = record.problems
        else:
            self.problems_of.pop(path, None)

    def drop(self, path: str) -> None:
        """A file that went."""
        self.entries.pop(path, None)
        self.problems_of.pop(path, None)
        self.set_article(path, None)

    def fill(self, records: Iterable[FileRecord], articles: dict[str, Article]) -> None:
        """Replace everything: these files, holding these articles (by path)."""
        self.entries, self.problems_of = {}, {}
        for record in records:
            self.keep(record)
        self.set_articles(articles)

    def set_articles(self, articles: dict[str, Article]) -> None:
        """Replace every article at once, and work out again which path holds each id."""
        self.articles = articles
        self._paths_of, self._duplicates = {}, set()
        for path, article in articles.items():
            claims = self._paths_of.get(article.id)
            if claims is None:
                self._paths_of[article.id] = [path]
            else:
                claims.append(path)
                self._duplicates.add(article.id)
        for article_id in self._duplicates:  # rare: sorted only where it matters
            self._paths_of[article_id].sort()

    def set_article(self, path: str, article: Article | None) -> None:
        """Replace (or drop) the article a path holds, keeping the claims on ids current."""
        old = self.articles.pop(path, None)
        if old is not None:
            claims = self._paths_of[old.id]
            claims.remove(path)
            if len(claims) < 2:
                self._duplicates.discard(old.id)
            if not claims:
                del self._paths_of[old.id]
        if article is not None:
            self.articles[path] = article
            claims = self._paths_of.setdefault(article.id, [])
            bisect.insort(claims, path)
            if len(claims) > 1:
                self._duplicates.add(article.id)

    def path_of(self, article: Article) -> str | None:
        """The file that holds this very article, if any still does."""
        claims = self._paths_of.get(article.id, [])
        return next((p for p in claims if self.articles.get(p) is article), None)

    def owner(self, article_id: str) -> Article | None:
        """The article that holds an id: of files sharing one, the first path."""
        claims = self._paths_of.get(article_id)
        return self.articles[claims[0]] if claims else None

    def owners(self) -> dict[str, Article]:
        return {i: self.articles[claims[0]] for i, claims in self._paths_of.items()}

    def held(self) -> list[Article]:
        """The articles that hold their ids, in the order the table has them."""
        if not self._duplicates:  # as nearly always: every article holds its own
            return list(self.articles.values())
        owners = self.owners()
        return [a for a in self.articles.values() if owners[a.id] is a]

    def problems(self, extra: Iterable[Problem] = ()) -> list[Problem]:
        """Every problem: of the scan, ``extra`` (the topics), each file's, duplicate ids."""
        problems = [*self.scan_problems, *extra]
        for path in sorted(self.problems_of):
            problems.extend(self.problems_of[path])
        for article_id in sorted(self._duplicates):
            first, *others = self._paths_of[article_id]
            for path in others:
                shown = self.articles[first].path
                reason = f"duplicate id {article_id!r}: {shown} has it already; skipped"
                problems.append(Problem(self.articles[path].path, reason))
        return problems
