"""The README tells the truth about settings and commands."""

from __future__ import annotations

import re

from conftest import README as README_FILE
from feeds.config import SETTINGS, Config

README = README_FILE.read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    table = README.split("<!-- settings-table -->")[1].split("<!-- /settings-table -->")[0]
    documented = set(re.findall(r"^\| `FEEDS_([A-Z_]+)`", table, re.MULTILINE))
    assert documented == {s.name.upper() for s in SETTINGS}
    for setting in SETTINGS:
        assert setting.help in table, f"help text of {setting.name} differs from the README"


def test_the_readme_gives_each_setting_its_default() -> None:
    table = README.split("<!-- settings-table -->")[1].split("<!-- /settings-table -->")[0]
    shown = dict(re.findall(r"^\| `FEEDS_([A-Z_]+)` \| ([^|]+?) \|", table, re.MULTILINE))
    for setting in SETTINGS:
        if setting.default != "":  # an empty default is described in words
            assert shown[setting.name.upper()] == f"`{setting.default}`", setting.name


def test_every_setting_is_read_from_the_environment() -> None:
    environ = {"FEEDS_PORT": "9000", "FEEDS_GIT_DATES": "0", "FEEDS_RELOAD_INTERVAL": "0.5"}
    config = Config.load(environ=environ)
    assert (config.port, config.git_dates, config.reload_interval) == (9000, False, 0.5)


def test_quick_start_is_the_two_make_commands() -> None:
    quick = README.split("## Quick start")[1].split("##")[0]
    assert re.findall(r"^make (\w+)", quick, re.MULTILINE) == ["run", "test"]


def test_the_base_url_follows_the_host_and_port() -> None:
    assert Config.load(environ={}).base_url == "http://127.0.0.1:8000"
    config = Config.load(environ={"FEEDS_PORT": "9001", "FEEDS_HOST": "127.0.0.2"})
    assert config.base_url == "http://127.0.0.2:9001"
    given = {"FEEDS_PORT": "9001", "FEEDS_BASE_URL": "https://feeds.example.org/"}
    assert Config.load(environ=given).base_url == "https://feeds.example.org"
