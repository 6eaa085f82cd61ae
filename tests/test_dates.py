"""Dates never move: across restarts, fresh clones, edits; never the time of a request."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import app_settings, write_article
from feeds.config import Config
from feeds.dates import GitHistory
from feeds.index.live import LiveIndex


def index_of(collection: Path, index: Path, git: bool = False) -> LiveIndex:
    return LiveIndex(Config.load(app_settings(collection, index, git_dates=git), environ={}))


def dates(live: LiveIndex) -> dict[str, tuple[datetime, datetime]]:
    return {a.id: (a.published, a.updated) for a in live.snapshot.articles}


def test_front_matter_dates_win(collection: Path, tmp_path: Path) -> None:
    live = index_of(collection, tmp_path / "index")
    article = live.snapshot.by_id["c0ffee0000000002"]
    assert article.published == datetime(2025, 3, 19, tzinfo=UTC)
    assert article.updated == datetime(2025, 3, 22, 12, tzinfo=UTC)
    live.close()


def test_undated_articles_keep_their_first_seen_date_across_restarts(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    write_article(folder, "a.txt", "Title", "Summary.")
    first = index_of(folder, tmp_path / "index")
    seen = dates(first)
    first.close()
    again = index_of(folder, tmp_path / "index")
    assert dates(again) == seen
    again.close()


def test_an_edit_keeps_the_published_date_and_moves_updated(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    write_article(folder, "a.txt", "Title", "Summary.")
    live = index_of(folder, tmp_path / "index")
    article = live.snapshot.articles[0]
    assert article.published == article.updated
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    (record,) = live.store.files()  # the article as indexed: no dates of its own
    edited = replace(record.article, digest="edited")
    (dated,) = live.dater.date([edited], now=later)
    assert dated.published == article.published
    assert dated.updated == later
    (again,) = live.dater.date([edited], now=later + timedelta(hours=1))
    assert again.updated == later, "an unchanged file keeps its updated date"
    live.close()


def git(folder: Path, *args: str, when: str = "2024-05-06T07:08:09Z") -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_AUTHOR_NAME": "Editor",
        "GIT_AUTHOR_EMAIL": "editor@example.org",
        "GIT_COMMITTER_NAME": "Editor",
        "GIT_COMMITTER_EMAIL": "editor@example.org",
    }
    subprocess.run(["git", "-C", str(folder), *args], check=True, env=env, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_history_gives_the_same_dates_in_a_fresh_clone(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    write_article(origin / "news", "a_00000000000000aa.txt", "First", "Summary.")
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", ".")
    git(origin, "commit", "-qm", "first", when="2024-05-06T07:08:09Z")
    write_article(origin / "news", "a_00000000000000aa.txt", "First, corrected", "Summary.")
    write_article(origin / "news", "b_00000000000000bb.txt", "Second", "Summary.")
    git(origin, "add", ".")
    git(origin, "commit", "-qm", "second", when="2024-06-01T00:00:00Z")

    live = index_of(origin / "news", tmp_path / "index1", git=True)
    original = dates(live)
    live.close()
    # The second commit changed a and added b: b keeps its second, a's change takes the one
    # before, so no two entries of a feed share an updated date.
    assert original["00000000000000aa"] == (
        datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        datetime(2024, 5, 31, 23, 59, 59, tzinfo=UTC),
    )
    assert original["00000000000000bb"] == (datetime(2024, 6, 1, tzinfo=UTC),) * 2

    subprocess.run(["git", "clone", "-q", str(origin), str(tmp_path / "clone")], check=True)
    clone = index_of(tmp_path / "clone" / "news", tmp_path / "index2", git=True)
    assert dates(clone) == original
    clone.close()


def test_no_date_is_in_the_future_or_the_request_time(client) -> None:
    import feedparser

    first = client.get("/feeds/all.atom").data
    again = client.get("/feeds/all.atom").data
    assert first == again
    for entry in feedparser.parse(first).entries:
        assert entry.published_parsed[:3] <= datetime.now(UTC).timetuple()[:3]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_history_is_read_again_only_when_head_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "c"
    write_article(folder, "a.txt", "First", "Summary.")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "first")
    history = GitHistory(folder)
    reads: list[int] = []
    read_log = history._read_log
    monkeypatch.setattr(history, "_read_log", lambda: reads.append(1) or read_log())

    files, dirty = history.lookup()
    assert set(files) == {"a.txt"} and not dirty and len(reads) == 1
    write_article(folder, "b.txt", "Second", "Summary.")  # the work tree moves, not the history
    files, dirty = history.lookup()
    assert set(files) == {"a.txt"} and dirty == {"b.txt"} and len(reads) == 1
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "second", when="2024-06-01T00:00:00Z")
    files, dirty = history.lookup()
    assert set(files) == {"a.txt", "b.txt"} and not dirty and len(reads) == 2
    assert files["b.txt"].added == datetime(2024, 6, 1, tzinfo=UTC)
