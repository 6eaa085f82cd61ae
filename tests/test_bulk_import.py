"""A bulk import: hundreds of undated files copied at once get distinct, stable, plausible dates,
and every feed stays free of entries that share a date; junk never reaches a feed."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from conftest import SHARED, app_settings, write_article
from feeds.compose import ARCHIVE_FORMAT, archive_pages
from feeds.dates import distinct_seconds
from feeds.models import Selection
from feeds.render import FORMATS
from feeds.urls import archive_path, feed_path

COUNT = 300
PLACES = ["Korea", "Russia", "Japan", "France", "Brazil", "Kenya"]
STRICT = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)


def undated_sources(folder: Path, count: int = COUNT) -> Path:
    """``count`` undated articles, each about one place, as an editor would have them."""
    for n in range(count):
        place = PLACES[n % len(PLACES)]
        write_article(
            folder, f"{n:03d}_{n:016x}.txt", f"{place} story {n}",
            f"News from {place} today: the government of {place} said so.",
            f"{place} officials in {place} spoke again.",
        )  # fmt: skip
    return folder


def feed_urls(snap) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Every feed document of the collection: each topic's, all, and every archive page."""
    selections = [Selection()] + [Selection(all_of=(s,)) for s in snap.taxonomy.topics
                                  if snap.by_topic[s]]  # fmt: skip
    for selection in selections:
        for ext in FORMATS:
            yield feed_path(selection, ext) + "?limit=100"
        for page in range(1, archive_pages(len(snap.select(selection))) + 1):
            yield archive_path(selection, page, ARCHIVE_FORMAT)


def assert_distinct_dates(client, snap) -> int:  # type: ignore[no-untyped-def]
    """Parse every feed strictly and with feedparser; no two entries share a date."""
    checked = 0
    for url in feed_urls(snap):
        body = client.get(url).data
        if url.split("?")[0].endswith(".json"):
            continue  # JSON has no such rule; its dates are the same as Atom's
        root = etree.fromstring(body, STRICT)
        if ".atom" in url:
            ns = {"a": "http://www.w3.org/2005/Atom"}
            updated = root.xpath("/a:feed/a:entry/a:updated/text()", namespaces=ns)
            assert len(updated) == len(set(updated)), f"DuplicateUpdated in {url}"
        parsed = feedparser.parse(body)
        assert not parsed.bozo, (url, parsed.get("bozo_exception"))
        # The date a reader shows: archive items give <published> only when it is not <updated>.
        stamps = [e.get("published_parsed") or e.updated_parsed for e in parsed.entries]
        assert len(stamps) == len(set(map(tuple, stamps))), f"entries share a date in {url}"
        checked += 1
    return checked


def test_three_hundred_files_copied_in_a_second_get_distinct_dates(
    make_app, tmp_path: Path
) -> None:
    source = undated_sources(tmp_path / "source")
    collection = tmp_path / "collection"
    started = datetime.now(UTC).replace(microsecond=0)
    shutil.copytree(source, collection)  # a plain copy: every file gets the time of the copy
    app = make_app(app_settings(collection, tmp_path / "index"))
    snap = app.extensions["feeds"].snapshot
    published = {a.path: a.published for a in snap.articles}
    assert len(published) == COUNT
    assert len(set(published.values())) == COUNT
    now = datetime.now(UTC)
    assert all(started - timedelta(seconds=COUNT + 5) <= p <= now for p in published.values())
    # Ties go back a second at a time in path order: the last file is the newest.
    by_path = [published[p] for p in sorted(published)]
    assert by_path == sorted(by_path)
    assert assert_distinct_dates(app.test_client(), snap) > 20


BBC = SHARED / "corpus" / "dev"


@pytest.mark.corpus
@pytest.mark.skipif(not BBC.is_dir(), reason=f"the BBC stories are not at {BBC}")
def test_three_hundred_bbc_stories_copied_at_once_give_feeds_without_shared_dates(
    make_app,
    tmp_path: Path,
) -> None:
    collection = tmp_path / "collection"
    collection.mkdir()
    for path in sorted(BBC.glob("*.txt"))[:COUNT]:
        shutil.copy(path, collection)  # a plain copy, as an editor's first import would be
    app = make_app(app_settings(collection, tmp_path / "index"))
    snap = app.extensions["feeds"].snapshot
    assert len(snap.articles) == COUNT and not snap.problems
    assert len({a.published for a in snap.articles}) == COUNT
    assert assert_distinct_dates(app.test_client(), snap) > 50


def test_a_copy_that_keeps_file_times_keeps_its_history(make_app, tmp_path: Path) -> None:
    collection = undated_sources(tmp_path / "collection", 30)
    base = datetime(2023, 4, 5, 6, 7, 8, tzinfo=UTC)
    when = {}
    for n, path in enumerate(sorted(collection.iterdir())):
        moment = base + timedelta(days=n, minutes=n)  # as `cp -p` or `rsync -t` would leave it
        os.utime(path, (moment.timestamp(), moment.timestamp()))
        when[path.name] = moment
    app = make_app(app_settings(collection, tmp_path / "index"))
    snap = app.extensions["feeds"].snapshot
    assert {a.path: a.published for a in snap.articles} == when
    assert all(a.updated == a.published for a in snap.articles)


def test_file_times_in_one_second_are_spread_the_same_way_by_any_index(
    make_app, tmp_path: Path
) -> None:
    collection = undated_sources(tmp_path / "collection", 50)
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)  # an archive unpacked with one time
    for path in collection.iterdir():
        os.utime(path, (moment.timestamp(), moment.timestamp()))
    dates = []
    for index in ("index-a", "index-b"):
        app = make_app(app_settings(collection, tmp_path / index))
        dates.append({a.id: a.published for a in app.extensions["feeds"].snapshot.articles})
    assert dates[0] == dates[1], "the dates depend on the files, not on the index folder"
    assert max(dates[0].values()) == moment
    assert min(dates[0].values()) == moment - timedelta(seconds=49)


@pytest.mark.parametrize(
    "moment", [datetime(1980, 1, 1, tzinfo=UTC), datetime(2999, 1, 1, tzinfo=UTC)],
    ids=["zip-epoch", "future"],
)  # fmt: skip
def test_implausible_file_times_are_not_used(make_app, tmp_path: Path, moment: datetime) -> None:
    collection = undated_sources(tmp_path / "collection", 3)
    for path in collection.iterdir():
        os.utime(path, (moment.timestamp(), moment.timestamp()))
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    app = make_app(app_settings(collection, tmp_path / "index"))
    published = [a.published for a in app.extensions["feeds"].snapshot.articles]
    assert all(before <= p <= datetime.now(UTC) for p in published), published
    assert len(set(published)) == 3


def test_check_says_how_many_articles_have_no_date_and_where_theirs_come_from(
    tmp_path: Path,
) -> None:
    collection = undated_sources(tmp_path / "collection", 4)
    os.utime(collection / sorted(os.listdir(collection))[0], (0, 0))  # implausible: seen now
    write_article(collection, "dated.txt", "Dated", "Summary.", date="2024-02-03T04:05:06Z")
    done = run_check(collection, tmp_path / "index")
    assert (
        "4 articles have no date of their own: 3 from the file's modification time, "
        "1 from the moment the index first saw the file." in done.stdout
    )


def run_check(collection: Path, index: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FEEDS_GIT_DATES": "0"}
    command = [sys.executable, "-m", "feeds", "check", "--collection", str(collection),
               "--index", str(index)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_random_bytes_never_reach_a_feed(make_app, tmp_path: Path) -> None:
    collection = undated_sources(tmp_path / "collection", 25)
    junk = random.Random(7).randbytes(4096)
    (collection / "junk_00000000deadbeef.txt").write_bytes(junk)
    (collection / "nul_00000000deadbee0.txt").write_bytes(b"Title\n\nSum\x00mary text.\n")
    app = make_app(app_settings(collection, tmp_path / "index"))
    snap = app.extensions["feeds"].snapshot
    client = app.test_client()
    assert "deadbeef" not in snap.by_id and "deadbee0" not in snap.by_id
    reasons = {p.path: p.reason for p in snap.problems}
    assert reasons["junk_00000000deadbeef.txt"].startswith("not text:")
    assert reasons["nul_00000000deadbee0.txt"].startswith("not text: it holds NUL bytes")
    for url in [*feed_urls(snap), "/", "/topics.json"]:
        body = client.get(url).data
        assert b"deadbeef" not in body and b"deadbee0" not in body, url
        assert b"\xef\xbf\xbd" not in body, f"a replacement character reached {url}"


def test_check_lists_each_problem_once_and_each_skipped_file(tmp_path: Path) -> None:
    collection = undated_sources(tmp_path / "collection", 3)
    (collection / "junk.txt").write_bytes(random.Random(3).randbytes(500))
    (collection / "notes.md").write_text("Notes for the editors\n")
    (collection / "sub").mkdir()
    (collection / "sub" / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (collection / "topics.toml").write_text("")
    done = run_check(collection, tmp_path / "index")
    assert done.returncode == 1
    combined = done.stdout + done.stderr
    assert combined.count("junk.txt: error: not text") == 1, combined
    assert "junk.txt" not in done.stderr
    assert combined.count("notes.md: skipped") == 1
    assert combined.count("sub/photo.jpg: skipped") == 1
    assert "topics.toml" not in combined
    assert done.stdout.rstrip().endswith("3 articles published, 1 problems, 2 files skipped.")


@settings(max_examples=200, deadline=None)
@given(
    wanted=st.dictionaries(
        st.text("abcdef", min_size=1, max_size=4),
        st.integers(1_600_000_000, 1_600_000_050).map(lambda s: datetime.fromtimestamp(s, UTC)),
        max_size=40,
    ),
    taken=st.sets(st.integers(1_600_000_000, 1_600_000_050), max_size=20),
)
def test_distinct_seconds_are_distinct_never_later_and_in_path_order(
    wanted: dict[str, datetime], taken: set[int]
) -> None:
    taken_moments = [datetime.fromtimestamp(s, UTC) for s in taken]
    placed = distinct_seconds(wanted, {k: k for k in wanted}, taken_moments)
    assert placed == distinct_seconds(wanted, {k: k for k in wanted}, taken_moments)
    seconds = [int(p.timestamp()) for p in placed.values()]
    assert len(set(seconds)) == len(seconds) and not taken.intersection(seconds)
    assert all(placed[k] <= wanted[k] for k in wanted)
    for a in wanted:
        for b in wanted:
            if wanted[a] == wanted[b] and a < b:
                assert placed[a] < placed[b], "on a tie the later path keeps the later second"


class CountingSet(set[int]):
    """A set that counts how often it is asked whether it holds a second."""

    asked = 0

    def __contains__(self, item: object) -> bool:
        CountingSet.asked += 1
        return super().__contains__(item)


def test_distinct_seconds_takes_linear_work_for_a_huge_tie() -> None:
    moment = datetime(2024, 1, 2, tzinfo=UTC)
    wanted = {f"{n:06d}": moment for n in range(20_000)}
    taken = CountingSet(range(int(moment.timestamp()) - 5_000, int(moment.timestamp()) + 1))
    CountingSet.asked = 0
    placed = distinct_seconds(wanted, {k: k for k in wanted}, used=taken)
    assert len(set(placed.values())) == 20_000
    assert CountingSet.asked <= 2 * (20_000 + 5_000), "each second is looked at about once"
