"""The feeds command: check, list, build and serve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import pytest
from servers import feeds_serve, get

from conftest import BASE_URL, write_article
from feeds.cli import main
from feeds.server import SERVERS


def args(settings: dict[str, object]) -> list[str]:
    return ["--collection", str(settings["collection"]), "--index", str(settings["index"])]


@pytest.fixture(autouse=True)
def no_git_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDS_GIT_DATES", "0")


def test_check_passes_on_a_clean_collection(runner, settings) -> None:
    result = runner.invoke(main, ["check", *args(settings)])
    assert result.exit_code == 0, result.output
    assert "4 articles published, 0 problems." in result.output


def test_check_reports_each_problem_and_exits_1(runner, settings, collection: Path) -> None:
    (collection / "broken.txt").write_text("---\n[\n---\nT\n\nS\n")
    (collection / "empty.txt").write_text("")
    result = runner.invoke(main, ["check", *args(settings)])
    assert result.exit_code == 1
    assert "broken.txt: error: front matter is not valid YAML" in result.output
    assert "empty.txt: error: empty file" in result.output
    assert "4 articles published, 2 problems." in result.output


def test_list_json_has_one_object_per_article(runner, settings) -> None:
    result = runner.invoke(main, ["list", *args(settings), "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in records] == [
        "73bcabc292162f38", "5a1e0c2b9d4f7e31", "c0ffee0000000002", "markup-test",
    ]  # fmt: skip
    seed = records[0]
    assert set(seed) == {"id", "path", "title", "published", "updated", "topics"}
    assert seed["path"] == "asia/000_73bcabc292162f38.txt"
    assert seed["published"] == "2025-03-21T09:30:00Z"
    assert {"korea", "north-korea", "russia"} <= set(seed["topics"])


def test_missing_collection_is_a_clear_error(runner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["check", "--collection", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "collection folder not found" in result.output


def test_build_writes_the_bytes_the_server_sends(
    runner, settings, make_app, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    result = runner.invoke(
        main, ["build", *args(settings), "--out", str(out), "--base-url", BASE_URL]
    )
    assert result.exit_code == 0, result.output
    app = make_app(settings)
    client = app.test_client()
    pairs = {
        "index.html": "/",
        "topics/korea.html": "/topics/korea",
        "articles/73bcabc292162f38.html": "/articles/73bcabc292162f38",
        "feeds/all.rss": "/feeds/all.rss",
        "feeds/korea.atom": "/feeds/korea.atom",
        "feeds/japan.rss": "/feeds/japan.rss",
    }
    for name, url in pairs.items():
        assert (out / name).read_bytes() == client.get(url).data, name
    assert not list(tmp_path.glob(".site.*")), "no staging folder is left behind"


def test_build_replaces_the_previous_output_whole(runner, settings, tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "stale.rss").write_text("old")
    result = runner.invoke(main, ["build", *args(settings), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "stale.rss").exists()
    assert (out / "feeds" / "korea.rss").exists()


@pytest.mark.parametrize("name", SERVERS)
def test_serve_on_127_0_0_1(collection: Path, tmp_path: Path, name: str) -> None:
    with feeds_serve(collection, tmp_path / "server", server=name, reload_interval="0.2") as url:
        assert url.startswith("http://127.0.0.1:")
        parsed = feedparser.parse(get(url + "/feeds/korea.rss").body)
        assert parsed.bozo == 0
        assert parsed.feed.link == f"{url}/topics/korea"
        write_article(collection, "new_00000000000000ee.txt", "Seoul hosts summit",
                      "South Korea hosted a summit in Seoul.",
                      "President of South Korea spoke in Seoul.")  # fmt: skip
        deadline = time.monotonic() + 20
        while b"Seoul hosts summit" not in get(url + "/feeds/all.rss").body:
            assert time.monotonic() < deadline, "the new article never appeared"
            time.sleep(0.1)
    log = (tmp_path / "server" / "serve.log").read_text().lower()
    assert name in log
    assert "websockets" not in log, "no noise at start"


def test_a_build_on_several_processes_writes_the_same_files(settings, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "feeds", "build", *args(settings), "--out"]
    env = {**os.environ, "FEEDS_GIT_DATES": "0"}
    trees = {}
    for jobs in (1, 2):
        out = tmp_path / f"site{jobs}"
        done = subprocess.run([*command, str(out), "--jobs", str(jobs)], check=True, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.stdout.strip().endswith(f"({jobs} process{'es' if jobs > 1 else ''})")
        trees[jobs] = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert len(trees[1]) > 50
    assert trees[1] == trees[2]


def test_a_rebuild_keeps_the_files_that_did_not_change(settings, tmp_path: Path) -> None:
    out = tmp_path / "site"
    command = [sys.executable, "-m", "feeds", "build", *args(settings), "--out", str(out)]
    env = {**os.environ, "FEEDS_GIT_DATES": "0"}
    subprocess.run(command, check=True, env=env, capture_output=True, timeout=300)
    before = {p.relative_to(out): p.stat() for p in out.rglob("*") if p.is_file()}
    write_article(Path(str(settings["collection"])), "new_00000000000000f2.txt",
                  "Tokyo shares close higher", "Japanese shares rose in Tokyo.")  # fmt: skip
    subprocess.run(command, check=True, env=env, capture_output=True, timeout=300)
    after = {p.relative_to(out): p.stat() for p in out.rglob("*") if p.is_file()}

    def same(name: str) -> bool:
        old, new = before[Path(name)], after[Path(name)]
        return (old.st_ino, old.st_mtime_ns) == (new.st_ino, new.st_mtime_ns)

    for name in ("feeds/korea.rss", "feeds/korea.rss.gz", "feeds/russia.atom", "topics/korea.html"):
        assert same(name), f"{name} was written again"
    for name in ("feeds/japan.rss", "feeds/all.atom", "index.html", "topics.json"):
        assert not same(name), f"{name} did not change"
    assert Path("articles/00000000000000f2.html") in after.keys() - before.keys()
    unchanged = sum(same(str(name)) for name in before.keys() & after.keys())
    assert unchanged > len(after) // 2


def processes_writing(out: Path) -> list[str]:
    """The processes whose command line names ``out``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(out).encode() in cmdline.read_bytes().split(b"\0"):
                found.append(cmdline.parent.name)
        except OSError:
            continue  # the process ended meanwhile
    return found


def test_a_killed_build_leaves_the_previous_output_whole(settings, tmp_path: Path) -> None:
    collection = Path(str(settings["collection"]))
    for n in range(400):
        write_article(collection / "bulk", f"b{n:03d}_{n:016x}.txt", f"Bulk {n} in Tokyo",
                      "Japan and Korea news.", "More about Seoul and Moscow.")  # fmt: skip
    out = tmp_path / "site"
    command = [sys.executable, "-m", "feeds", "build", *args(settings), "--out", str(out)]
    env = {**os.environ, "FEEDS_GIT_DATES": "0"}
    subprocess.run(command, check=True, env=env, capture_output=True, timeout=300)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (collection / "new.txt").write_text("A new article\n\nAbout Japan.\n")

    build = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any(p.is_file() for s in tmp_path.glob(".site.*") for p in s.rglob("*.html")):
        assert build.poll() is None, "the build finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    build.kill()
    build.wait(timeout=30)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before, "the previous output changed"
    if Path("/proc/self/cmdline").exists():  # its rendering processes follow it
        deadline = time.monotonic() + 30
        while processes_writing(out):
            assert time.monotonic() < deadline, f"left behind: {processes_writing(out)}"
            time.sleep(0.05)

    subprocess.run(command, check=True, env=env, capture_output=True, timeout=300)
    assert not list(tmp_path.glob(".site.*")), "the next build cleans up what the killed one left"
    assert b"A new article" in (out / "feeds" / "all.rss").read_bytes()


def test_topics_lists_topics_with_parents_counts_and_feeds(runner, settings) -> None:
    result = runner.invoke(main, ["topics", *args(settings), "--base-url", BASE_URL])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(
        line.split() == ["1", "north-korea", "(in", "korea)", f"{BASE_URL}/feeds/north-korea.rss"]
        for line in lines
    ), result.output
    records = [
        json.loads(line)
        for line in runner.invoke(main, ["topics", *args(settings), "--json"]).output.splitlines()
    ]
    korea = next(r for r in records if r["slug"] == "korea")
    assert korea["articles"] == 1
    assert set(korea["feeds"]) == {"rss", "atom", "json"}
    assert len(records) == len(lines), "--json lists the same topics as the text: with articles"
    assert all(r["articles"] for r in records)
    every = runner.invoke(main, ["topics", *args(settings), "--json", "--all"]).output
    assert len(every.splitlines()) > len(records), "--all adds the topics without articles"
