"""The combinations readers asked for, shared through a file by the workers of one index."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from feeds.index.requested import SharedRequests
from feeds.models import Selection
from feeds.snapshot import Requested
from feeds.urls import parse_selection

KOREA_RUSSIA = parse_selection("korea+russia")
JAPAN_OR_CHINA = parse_selection("japan,china")


def test_a_combination_one_worker_served_is_known_to_another(tmp_path: Path) -> None:
    serving, pinging = Requested(SharedRequests(tmp_path)), Requested(SharedRequests(tmp_path))
    serving.remember(KOREA_RUSSIA)
    pinging.remember(JAPAN_OR_CHINA)
    assert pinging.selections() == [KOREA_RUSSIA, JAPAN_OR_CHINA]
    assert serving.selections() == [JAPAN_OR_CHINA, KOREA_RUSSIA]  # its own are the newest


def test_a_combination_is_written_once_per_worker(tmp_path: Path) -> None:
    requested = Requested(SharedRequests(tmp_path))
    for _ in range(50):
        requested.remember(KOREA_RUSSIA)
    assert (tmp_path / "requested.txt").read_text() == "korea+russia\n"


def test_endless_new_combinations_keep_the_file_bounded(tmp_path: Path) -> None:
    shared = SharedRequests(tmp_path, kept=10, max_bytes=400)
    asked = [Selection(all_of=("korea", f"topic-{n}")) for n in range(300)]
    for selection in asked:
        shared.add(selection)
        assert (tmp_path / "requested.txt").stat().st_size <= 400 + 32
    assert shared.load() == asked[-10:]  # the newest, oldest first
    assert not (tmp_path / "requested.txt.new").exists()


def test_lines_that_are_not_selections_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "requested.txt").write_bytes(
        b"korea+russia\n\xff\xfe garbage\n+\nall\n~korea\njapan,china\nkorea+russia\n"
    )
    assert SharedRequests(tmp_path).load() == [JAPAN_OR_CHINA, KOREA_RUSSIA]


def test_a_folder_that_cannot_be_written_costs_only_the_sharing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "not-a-folder"
    missing.write_text("a file where the index folder should be")
    requested = Requested(SharedRequests(missing))
    with caplog.at_level(logging.WARNING, logger="feeds.index.requested"):
        requested.remember(KOREA_RUSSIA)
        requested.remember(JAPAN_OR_CHINA)
        assert requested.selections() == [KOREA_RUSSIA, JAPAN_OR_CHINA]
    warnings = [r for r in caplog.records if "combinations asked for" in r.getMessage()]
    assert len(warnings) == 1
