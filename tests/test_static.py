"""The static export: incremental rebuilds equal full builds, lean output, progress, safety."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from servers import collection_with_archives

from conftest import BASE_URL, app_settings, write_article
from feeds import create_app
from feeds.cli import main
from feeds.static import file_for, site_urls

Tree = dict[str, bytes]


@pytest.fixture(autouse=True)
def no_git_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDS_GIT_DATES", "0")


@pytest.fixture
def archives(tmp_path: Path) -> Path:
    return collection_with_archives(tmp_path / "archives")


def build(runner, collection: Path, index: Path, out: Path) -> str:  # type: ignore[no-untyped-def]
    command = ["build", "--collection", str(collection), "--index", str(index)]
    result = runner.invoke(main, [*command, "--out", str(out), "--base-url", BASE_URL])
    assert result.exit_code == 0, result.output
    return str(result.output).strip().splitlines()[-1]


def tree(folder: Path) -> Tree:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}  # fmt: skip


def stats(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}  # fmt: skip


def add(collection: Path) -> None:
    write_article(collection, "new_00000000000000a1.txt", "Seoul and Tokyo agree on trade",
                  "South Korea and Japan agreed on trade in Seoul.", "Tokyo welcomed it.",
                  date="2025-03-01T08:00:00Z")  # fmt: skip


def new_page(collection: Path) -> None:
    """Twenty more Korea articles: a new archive page, linked from the one before it."""
    for n in range(20):
        write_article(collection / "korea", f"p{n:02d}_{0xC000 + n:016x}.txt",
                      f"Seoul talks, late round {n}", "Korea held talks in Seoul again.",
                      "More talks in Seoul.", date=f"2025-04-{n + 1:02d}T08:00:00Z")  # fmt: skip


def edit(collection: Path) -> None:
    path = next(collection.glob("korea/010_*.txt"))
    path.write_text(path.read_text().replace("another round", "a tense round"))


def remove(collection: Path) -> None:
    next(collection.glob("korea/005_*.txt")).unlink()


def shrink(collection: Path) -> None:
    """Most Korea articles go: archive pages and topics lose articles, some all of theirs."""
    for path in sorted(collection.glob("korea/0[0-3]*_*.txt")):
        path.unlink()


def retag(collection: Path) -> None:
    (collection / "topics.toml").write_text(
        '[topics.talks]\nname = "Talks"\nkind = "subject"\nterms = ["talks"]\n'
        '[topics.japan]\nname = "Nippon"\n'
    )


CHANGES: dict[str, Callable[[Path], None]] = {
    "addition": add, "page": new_page, "edit": edit, "removal": remove,
    "shrink": shrink, "taxonomy": retag,
}  # fmt: skip


def served(collection: Path, index: Path) -> Iterator[tuple[str, bytes, bytes]]:
    """Every URL of the export with the bytes `feeds serve` sends, plain and gzipped."""
    app = create_app(app_settings(collection, index), watch=False)
    client = app.test_client()
    try:
        for url in site_urls(app.extensions["feeds"].snapshot):
            plain = client.get(url, headers={"Accept-Encoding": "identity"})
            zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
            assert plain.status_code == 200, url
            yield url, plain.data, zipped.data
    finally:
        app.extensions["feeds"].close()


@pytest.mark.parametrize("change", CHANGES)
def test_a_rebuild_equals_a_full_build_and_what_the_server_sends(
    runner, archives: Path, tmp_path: Path, change: str
) -> None:
    index, out = tmp_path / "index", tmp_path / "site"
    build(runner, archives, index, out)
    CHANGES[change](archives)
    line = build(runner, archives, index, out)
    assert " 0 kept" not in line, f"the rebuild rendered everything: {line}"
    build(runner, archives, index, tmp_path / "full")  # no record there: a full build
    rebuilt = tree(out)
    assert rebuilt == tree(tmp_path / "full")
    for url, plain, zipped in served(archives, index):
        name = file_for(url)
        assert rebuilt.pop(name) == plain, url
        if name + ".gz" in rebuilt:
            assert rebuilt.pop(name + ".gz") == zipped, url
    assert rebuilt == {}, "files no URL answers"


def test_a_rebuild_writes_only_the_files_whose_bytes_changed(
    runner, archives: Path, tmp_path: Path
) -> None:
    index, out = tmp_path / "index", tmp_path / "site"
    build(runner, archives, index, out)
    before, bytes_before = stats(out), tree(out)
    add(archives)
    line = build(runner, archives, index, out)
    after, bytes_after = stats(out), tree(out)
    changed = {n for n in after if bytes_before.get(n) != bytes_after[n]}
    kept = {n for n in after if n in before and before[n] == after[n]}
    assert kept == after.keys() - changed, "a file with the same bytes was written again"
    assert "articles/00000000000000a1.html" in changed and "feeds/japan.rss" in changed
    assert "feeds/russia.rss" in kept and "articles/73bcabc292162f38.html" in kept
    assert line.startswith(f"{len(changed)} files written, {len(kept)} kept, 0 removed")


def test_a_rebuild_with_nothing_changed_leaves_the_output_alone(
    runner, archives: Path, tmp_path: Path
) -> None:
    index, out = tmp_path / "index", tmp_path / "site"
    build(runner, archives, index, out)
    before, folder = stats(out), out.stat().st_ino
    line = build(runner, archives, index, out)
    assert line.startswith(f"0 files written, {len(before)} kept, 0 removed, 0.0 MB")
    assert (stats(out), out.stat().st_ino) == (before, folder)


def test_a_removed_article_takes_its_files_along(runner, archives: Path, tmp_path: Path) -> None:
    index, out = tmp_path / "index", tmp_path / "site"
    build(runner, archives, index, out)
    victim = next(archives.glob("korea/005_*.txt"))
    article = f"articles/{victim.stem.split('_')[1]}.html"
    assert (out / article).is_file()
    victim.unlink()
    line = build(runner, archives, index, out)
    assert not (out / article).exists()
    assert ", 1 removed" in line


def test_topics_without_articles_have_no_files_and_answer_404(runner, settings, tmp_path) -> None:
    out = tmp_path / "site"
    build(runner, Path(str(settings["collection"])), Path(str(settings["index"])), out)
    assert (out / "feeds" / "korea.rss").is_file()
    assert not list(out.glob("**/antarctica*")), "an empty topic has files"
    app = create_app(settings, watch=False)
    client = app.test_client()
    for url in ("/feeds/antarctica.rss", "/feeds/antarctica.json", "/topics/antarctica"):
        response = client.get(url)
        assert response.status_code == 404 and b"no articles yet" in response.data, url
    assert client.get("/feeds/antarctica+korea.rss").status_code == 200  # combinations stay
    app.extensions["feeds"].close()


def test_archive_pages_carry_summaries_and_subscription_feeds_the_text(
    runner, archives: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build(runner, archives, tmp_path / "index", out)
    text = "Officials from Pyongyang and Seoul met again"
    assert text.encode() in (out / "feeds" / "korea.atom").read_bytes()
    page = (out / "feeds" / "korea" / "archive" / "1.atom").read_bytes()
    assert text.encode() not in page and b"held another round of talks" in page
    assert not (out / "feeds" / "korea" / "archive" / "1.atom.gz").exists()
    assert (out / "feeds" / "korea.atom.gz").is_file()
    # Their items name their topics without the topics' scheme: the subscription feed has it.
    scheme = f'scheme="{BASE_URL}/topics/"'.encode()
    assert scheme in (out / "feeds" / "korea.atom").read_bytes()
    assert b'term="korea" label="Korea"' in (out / "feeds" / "korea/archive/1.atom").read_bytes()
    assert scheme not in (out / "feeds" / "korea/archive/1.atom").read_bytes()


def test_archive_pages_are_written_in_atom_only(runner, archives: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(runner, archives, tmp_path / "index", out)
    pages = sorted(p.name for p in (out / "feeds" / "korea" / "archive").iterdir())
    assert pages == ["1.atom", "2.atom"]
    assert not list(out.glob("feeds/**/archive/*.rss")) + list(out.glob("feeds/**/archive/*.json"))
    assert (
        b'href="' + f"{BASE_URL}/feeds/korea/archive/2.atom".encode() + b'" rel="prev-archive"'
        b' type="application/atom+xml"' in (out / "feeds" / "korea.rss").read_bytes()
    )


def test_a_rebuild_by_new_code_removes_the_archive_pages_of_other_formats(
    runner, archives: Path, tmp_path: Path
) -> None:
    """An export made when archive pages came in three formats loses their .rss and .json."""
    index, out = tmp_path / "index", tmp_path / "site"
    build(runner, archives, index, out)
    record_path = tmp_path / ".site-build.json"
    record = json.loads(record_path.read_bytes())
    old = ["feeds/korea/archive/1.rss", "feeds/korea/archive/1.json"]
    for name in old:
        (out / name).write_bytes(b"as the code before wrote it")
    record["files"]["korea/1"] += old
    record["settings"] = "the code before"
    record_path.write_text(json.dumps(record))
    line = build(runner, archives, index, out)
    assert ", 2 removed" in line
    assert not any((out / name).exists() for name in old)
    assert (out / "feeds" / "korea" / "archive" / "1.atom").is_file()


def run_on_terminal(command: list[str]) -> tuple[int, str]:
    """Run with standard error on a pseudo-terminal; its exit status and what it showed."""
    main_fd, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(main_fd)
    return process.wait(timeout=120), shown.decode(errors="replace")


def test_progress_shows_only_on_a_terminal(archives: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "feeds", "build", "--collection", str(archives),
               "--index", str(tmp_path / "index"), "--jobs", "1", "--out"]  # fmt: skip
    status, shown = run_on_terminal([*command, str(tmp_path / "tty")])
    assert status == 0, shown
    assert "rendering" in shown and "doc/s" in shown and "100%" in shown
    piped = subprocess.run([*command, str(tmp_path / "pipe")], capture_output=True, text=True,
                           timeout=120, check=True)  # fmt: skip
    assert "rendering" not in piped.stderr and "%" not in piped.stderr
    assert piped.stdout.count("\n") == 1 and " files written, " in piped.stdout


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, unmounted afterwards."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_read_only_file_system_fails_clearly_and_keeps_the_output(
    settings, small_disk: Path
) -> None:
    out = small_disk / "site"
    command = [sys.executable, "-m", "feeds", "build", "--collection", str(settings["collection"]),
               "--index", str(settings["index"]), "--out", str(out)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    before = tree(out)
    add(Path(str(settings["collection"])))
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    failed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1
    assert "build failed: Read-only file system" in failed.stderr, failed.stderr
    assert tree(out) == before


def test_a_full_disk_fails_clearly_and_keeps_the_previous_output(
    settings, tmp_path: Path, small_disk: Path
) -> None:
    collection = Path(str(settings["collection"]))
    out = small_disk / "site"
    command = [sys.executable, "-m", "feeds", "build", "--collection", str(collection),
               "--index", str(settings["index"]), "--out", str(out)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    before, record = tree(out), (small_disk / ".site-build.json").read_bytes()
    for n in range(300):
        write_article(collection / "bulk", f"b{n:03d}_{n + 0xB000:016x}.txt", f"Bulk {n} in Tokyo",
                      "Japan news. " * 40, "More about Tokyo. " * 40)  # fmt: skip
    failed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1
    assert "build failed: No space left on device" in failed.stderr, failed.stderr
    assert "the previous output in" in failed.stderr and "is unchanged" in failed.stderr
    assert tree(out) == before
    assert (small_disk / ".site-build.json").read_bytes() == record
    assert sorted(p.name for p in small_disk.iterdir()) == [".site-build.json", "site"]


def test_a_build_after_a_lost_record_renders_everything_again(
    runner, archives: Path, tmp_path: Path
) -> None:
    index, out = tmp_path / "index", tmp_path / "site"
    build(runner, archives, index, out)
    (tmp_path / ".site-build.json").write_text("{not json")
    add(archives)
    build(runner, archives, index, out)
    build(runner, archives, index, tmp_path / "full")  # no record there: a full build
    assert tree(out) == tree(tmp_path / "full")


DIE_WHILE_APPLYING = """
import os, sys
import feeds.static
from feeds.cli import main

class DyingOs:  # the build's os module, killed after its third staged file is renamed in
    renamed = 0
    def __getattr__(self, name):
        return getattr(os, name)
    def replace(self, source, target):
        os.replace(source, target)
        if "/.site." in str(source):
            DyingOs.renamed += 1
            if DyingOs.renamed == 3:
                os._exit(137)  # as a kill: no cleanup runs

feeds.static.os = DyingOs()
main(sys.argv[1:])
"""


def test_a_build_killed_while_applying_its_journal_is_finished_by_the_next(
    runner, archives: Path, tmp_path: Path
) -> None:
    index, out = tmp_path / "index", tmp_path / "site"
    build(runner, archives, index, out)
    before = tree(out)
    add(archives)
    command = [sys.executable, "-c", DIE_WHILE_APPLYING, "build", "--collection", str(archives),
               "--index", str(index), "--out", str(out), "--base-url", BASE_URL]  # fmt: skip
    killed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert killed.returncode == 137, killed.stderr
    assert (tmp_path / ".site-journal.json").is_file()
    half = tree(out)
    assert half != before and sum(half.get(n) != b for n, b in before.items()) <= 3
    line = build(runner, archives, index, out)
    assert line.startswith("0 files written"), "the journal's files are written again"
    assert not (tmp_path / ".site-journal.json").exists()
    assert not list(tmp_path.glob(".site.*")), "the staged files are left behind"
    build(runner, archives, index, tmp_path / "full")
    assert tree(out) == tree(tmp_path / "full")


def test_a_rebuild_stages_only_the_files_that_change(
    runner, archives: Path, tmp_path: Path
) -> None:
    index, out = tmp_path / "index", tmp_path / "site"
    build(runner, archives, index, out)
    add(archives)
    command = [sys.executable, "-c", DIE_WHILE_APPLYING.replace("== 3", "== 1"), "build",
               "--collection", str(archives), "--index", str(index), "--out", str(out),
               "--base-url", BASE_URL]  # fmt: skip
    subprocess.run(command, capture_output=True, timeout=120)
    staged = [p for s in tmp_path.glob(".site.*") for p in s.rglob("*") if p.is_file()]
    journal = json.loads((tmp_path / ".site-journal.json").read_bytes())
    assert len(staged) == len(journal["moves"]) - 1 < len(tree(out)) / 2


def test_a_rebuild_dates_new_undated_articles_apart_from_the_others(runner, tmp_path: Path) -> None:
    """A rebuild looks up only the dates of the files it reads, yet an undated article with
    the same file time as one it already has still gets a second of its own, the same one
    a full build from a new index gives it."""
    collection, index, out = tmp_path / "articles", tmp_path / "index", tmp_path / "site"
    moment = 1_700_000_000
    first = write_article(collection, "a_00000000000000f1.txt", "Seoul talks", "Korea met.")
    os.utime(first, (moment, moment))
    build(runner, collection, index, out)
    second = write_article(collection, "b_00000000000000f2.txt", "Tokyo talks", "Japan met.")
    os.utime(second, (moment, moment))
    build(runner, collection, index, out)
    result = runner.invoke(main, ["list", "--json", "--collection", str(collection),
                                  "--index", str(index)])  # fmt: skip
    published = {json.loads(line)["id"]: json.loads(line)["published"]
                 for line in result.output.splitlines()}  # fmt: skip
    assert len(set(published.values())) == 2, published
    assert tree(out) == tree_of_full_build(runner, collection, index, tmp_path / "full")


def tree_of_full_build(runner, collection: Path, index: Path, out: Path) -> Tree:  # type: ignore[no-untyped-def]
    build(runner, collection, index, out)  # no record there: a full build
    return tree(out)


def test_a_rebuild_keeps_the_index_state_for_the_next_start(
    runner, archives: Path, tmp_path: Path
) -> None:
    """The state the next start resumes is written beside the build (by a forked process):
    after a rebuild that added an article, a start resumes a snapshot that has it."""
    index, out = tmp_path / "index", tmp_path / "site"
    build(runner, archives, index, out)
    add(archives)
    build(runner, archives, index, out)
    app = create_app(app_settings(archives, index), watch=False, resume=True)
    live = app.extensions["feeds"]
    try:
        assert live.resumed and live.reconciling, "the kept snapshot was not resumed"
        assert "00000000000000a1" in live.snapshot.by_id, "the state kept is the one before"
    finally:
        live.close()
