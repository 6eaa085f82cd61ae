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
