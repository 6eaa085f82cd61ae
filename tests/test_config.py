"""Settings: one table of defaults, read from the environment and handed on through it."""

from __future__ import annotations

from pathlib import Path

from feeds.cli import main
from feeds.config import DEFAULTS, SETTINGS, Config


def test_the_defaults_are_the_tables() -> None:
    config = Config.load(environ={})
    derived = {"base_url", "index"}  # filled in from other settings when empty
    assert {k: v for k, v in config.__dict__.items() if k not in derived} == {
        s.name: s.default for s in SETTINGS if s.name not in derived
    }
    assert all(DEFAULTS[name] == "" for name in derived)


def test_the_settings_handed_to_workers_load_back_the_same(tmp_path: Path) -> None:
    given = {
        "collection": str(tmp_path / "news"), "port": 9123, "reload_interval": 0.25,
        "access_log": True, "git_dates": False, "websub_hubs": "https://hub.example/",
        "title": "World Desk",
    }  # fmt: skip
    config = Config.load(given, environ={})
    environ = config.environ()
    assert environ["FEEDS_ACCESS_LOG"] == "1" and environ["FEEDS_GIT_DATES"] == "0"
    assert Config.load(environ=environ) == config


def test_the_default_index_is_in_the_cache_of_the_environment_given(tmp_path: Path) -> None:
    environ = {"FEEDS_COLLECTION": str(tmp_path / "news"), "XDG_CACHE_HOME": str(tmp_path / "c")}
    index = Config.load(environ=environ).index_path
    assert index.parent == tmp_path / "c" / "feeds" and index.name.startswith("news-")
    assert Config.load(environ={**environ, "FEEDS_INDEX": str(tmp_path / "i")}).index_path == (
        tmp_path / "i"
    )


def test_serve_refuses_an_unknown_server(runner, collection: Path) -> None:
    result = runner.invoke(
        main, ["serve", "--collection", str(collection)], env={"FEEDS_SERVER": "apache"}
    )
    assert result.exit_code == 1
    assert "FEEDS_SERVER: choose one of granian, gunicorn" in result.output


def test_the_default_index_follows_the_collection_path_as_given(tmp_path: Path) -> None:
    """A link switched from release to release keeps one index; an index made for the folder
    a link led to, before links were kept, is still used."""
    for release in ("1", "2"):
        (tmp_path / "releases" / release).mkdir(parents=True)
    link = tmp_path / "news"
    link.symlink_to(tmp_path / "releases" / "1")
    environ = {"FEEDS_COLLECTION": str(link), "XDG_CACHE_HOME": str(tmp_path / "c")}
    first = Config.load(environ=environ).index_path
    link.unlink()
    link.symlink_to(tmp_path / "releases" / "2")
    assert Config.load(environ=environ).index_path == first
    assert first.name.startswith("news-")
    # An index made for the folder the link led to, and none yet for the link: kept.
    earlier = Config.load(environ={**environ, "FEEDS_COLLECTION": str(tmp_path / "releases" / "2")})
    earlier.index_path.mkdir(parents=True)
    assert Config.load(environ=environ).index_path == earlier.index_path
    first.mkdir(parents=True)  # once the link has its own, it is the one
    assert Config.load(environ=environ).index_path == first
