"""Shared fixtures: a collection copied per test, the app, its client and the CLI runner."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from feeds import create_app

DATA = Path(__file__).parent / "data"
SEEDS = Path(__file__).parent.parent / "seeds"
SHARED = Path(__file__).parent.parent.parent / "shared"
BASE_URL = "http://feeds.test"


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


@pytest.fixture
def settings(collection: Path, tmp_path: Path) -> dict[str, object]:
    return {
        "collection": str(collection),
        "index": str(tmp_path / "index"),
        "base_url": BASE_URL,
        "git_dates": False,
        "reload_interval": 0,
    }


@pytest.fixture
def app(settings: dict[str, object]) -> Iterator[object]:
    app = create_app(settings, watch=False)
    app.config["TESTING"] = True
    yield app
    app.extensions["feeds"].close()


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
