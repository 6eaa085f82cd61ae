"""Shared fixtures: a collection copied per test, the settings of a test app, the app (or
several, each closed at the end of its test), its client and the CLI runner."""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner

from feeds import create_app

DATA = Path(__file__).parent / "data"
SEEDS = Path(__file__).parent.parent / "seeds"
SHARED = Path(__file__).parent.parent.parent / "shared"
README = Path(__file__).parent.parent / "README.md"
BASE_URL = "http://feeds.test"
# A subject topic of a collection's own topics.toml, for the market reports of history tests.
MARKETS = '[topics.markets]\nname = "Markets"\nkind = "subject"\nterms = ["market", "markets"]\n'


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/ from the current output"
    )


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    """A private copy of the small dated collection in tests/data/collection."""
    target = tmp_path / "collection"
    shutil.copytree(DATA / "collection", target)
    return target


def app_settings(collection: Path, index: Path, **more: object) -> dict[str, object]:
    """The settings of a test app: its two folders, a fixed base URL, dates from the files
    alone (never a git history the test did not make) and no reloading."""
    return {
        "collection": str(collection),
        "index": str(index),
        "base_url": BASE_URL,
        "git_dates": False,
        "reload_interval": 0,
        **more,
    }


@pytest.fixture
def settings(collection: Path, tmp_path: Path) -> dict[str, object]:
    return app_settings(collection, tmp_path / "index")


@pytest.fixture
def make_app() -> Iterator[Callable[..., Any]]:
    """``make_app(settings, watch=False, ...)``: ``create_app`` whose index is closed at the end
    of the test, whatever happens (closing it earlier as well is allowed: a restart)."""
    made: list[Any] = []

    def make(settings: Mapping[str, object], *, watch: bool = False, **options: Any) -> Any:
        made.append(create_app(settings, watch=watch, **options))
        return made[-1]

    yield make
    for app in made:
        app.extensions["feeds"].close()


@pytest.fixture
def app(settings: dict[str, object], make_app: Callable[..., Any]) -> object:
    app = make_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_article(
    folder: Path, name: str, title: str, summary: str, *body: str, **meta: str
) -> Path:
    """Write an article file in the collection format, with optional front matter."""
    lines = []
    if meta:
        lines += ["---", *(f"{k}: {v}" for k, v in meta.items()), "---"]
    lines += [title, "", summary, *body, "Original Source: www.example.com"]
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def readme_code(heading: str, language: str) -> str:
    """The first ``language`` code block in the README's section ``heading`` (up to the next
    heading): the configurations tests run are the ones the README shows."""
    lines = iter(README.read_text().splitlines())
    assert heading in lines, f"README has no section {heading!r}"
    for line in lines:
        if line.startswith("#"):
            break
        if line == "```" + language:
            block = list(itertools.takewhile(lambda code: code != "```", lines))
            return "\n".join(block) + "\n"
        if line.startswith("```"):  # another block: skip it, headings and all
            for code in lines:
                if code == "```":
                    break
    raise AssertionError(f"README section {heading!r} has no {language} block")


def adapted(text: str, changes: Mapping[str, str]) -> str:
    """``text`` with each key replaced by its value; a key ``text`` lacks fails the test, so a
    README that changes what a test adapts is noticed."""
    for old, new in changes.items():
        assert old in text, f"{old!r} is no longer in:\n{text}"
        text = text.replace(old, new)
    return text


WAIT_SECONDS = 15.0  # generous for a busy machine; a hang still fails


def wait_for(condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    """Poll ``condition`` until it holds; past ``seconds`` fail, saying what never happened."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.05)


def feed_titles(client: Any, path: str = "/feeds/all.atom") -> list[str]:
    """The titles of a feed a test app serves, newest first."""
    return [e.title for e in feedparser.parse(client.get(path).data).entries]
