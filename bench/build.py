"""Static build: `feeds build` against Hugo and Pelican building the same articles.

The articles are a generated collection; Hugo and Pelican get the same articles converted to
their content formats, with the topics `feeds list --json` gives each article as tags (and its
first topic as category), and build per-tag and per-category feeds. Hugo comes from Debian,
Pelican from PyPI into its own virtual environment under the work folder; Pelican runs at the
sizes up to `--pelican-max`. The contenders alternate, run after run. Then feeds renders every
document again from the index it has (a full build when the collection is already indexed, as
on a server that runs `feeds serve`), and rebuilds: with nothing changed, and after one new
article, checking that only files whose bytes changed were written.

    python bench/build.py [--sizes 10000,100000] [--repeat 1] [--limit 1800]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from folders import WORK  # noqa: E402
from generate import collection, parse_sizes  # noqa: E402
from processes import Measured, feeds_command, run_measured  # noqa: E402
from report import (  # noqa: E402
    fmt_kb,
    log,
    machine,
    median,
    table,
    tool_version,
    wait_until_quiet,
    write_section,
)
from tools import installed  # noqa: E402

BASE_URL = "http://127.0.0.1:8000"
FEED_SUFFIXES = (".rss", ".atom", ".xml", ".json")

HUGO_CONFIG = f"""\
baseURL = "{BASE_URL}/"
title = "feeds"
languageCode = "en"
disableKinds = ["sitemap", "robotsTXT", "404"]
[taxonomies]
  tag = "tags"
  category = "categories"
[outputs]
  home = ["HTML", "RSS"]
  section = ["HTML", "RSS"]
  taxonomy = ["HTML", "RSS"]
  term = ["HTML", "RSS"]
"""
HUGO_LAYOUTS = {
    "_default/baseof.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }} · {{ site.Title }}</title>
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" \
href="{{ .Permalink }}">{{ end }}</head>
<body><main>{{ block "main" . }}{{ end }}</main></body></html>
""",
    "_default/single.html": """{{ define "main" }}<article><h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">\
{{ .Date.Format "2 January 2006" }}</time></p>{{ .Content }}
<p>{{ range .GetTerms "tags" }}<a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a> {{ end }}</p>
</article>{{ end }}
""",
    "_default/list.html": """{{ define "main" }}<h1>{{ .Title }}</h1><ul>
{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> \
{{ .Date.Format "2006-01-02" }}</li>
{{ end }}</ul>{{ end }}
""",
    # Hugo's own RSS template puts only a summary in items; feeds sends the full text.
    "_default/rss.xml": """{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" \
xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>{{ .Title }} · {{ site.Title }}</title><link>{{ .Permalink }}</link>
<description>{{ .Title }}</description>
<atom:link href="{{ with .OutputFormats.Get "RSS" }}{{ .Permalink }}{{ end }}" rel="self" \
type="application/rss+xml"/>
{{- $pages := .Pages }}{{ if .IsHome }}{{ $pages = site.RegularPages }}\
{{ else if .IsSection }}{{ $pages = .RegularPages }}{{ end }}
{{ range first 20 $pages.ByDate.Reverse }}<item>
<title>{{ .Title }}</title><link>{{ .Permalink }}</link><guid>{{ .Permalink }}</guid>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
<description>{{ .Summary | html }}</description>
<content:encoded>{{ .Content | html }}</content:encoded>
{{ range .Params.tags }}<category>{{ . }}</category>{{ end }}
</item>
{{ end }}</channel></rss>
""",
}

PELICAN_CONFIG = f"""\
SITENAME = "feeds"
SITEURL = "{BASE_URL}"
FEED_DOMAIN = SITEURL
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%d %B %Y"
ARTICLE_URL = ARTICLE_SAVE_AS = "articles/{{slug}}.html"
FEED_ALL_ATOM = "feeds/all.atom"
FEED_ALL_RSS = "feeds/all.rss"
CATEGORY_FEED_ATOM = "feeds/category/{{slug}}.atom"
CATEGORY_FEED_RSS = "feeds/category/{{slug}}.rss"
TAG_FEED_ATOM = "feeds/{{slug}}.atom"
TAG_FEED_RSS = "feeds/{{slug}}.rss"
AUTHOR_FEED_ATOM = AUTHOR_FEED_RSS = None
TRANSLATION_FEED_ATOM = TRANSLATION_FEED_RSS = None
FEED_MAX_ITEMS = 20
RSS_FEED_SUMMARY_ONLY = False
DEFAULT_PAGINATION = False
LOAD_CONTENT_CACHE = False
CACHE_CONTENT = False
DELETE_OUTPUT_DIRECTORY = True
"""


@dataclass
class Record:
    """One article as `feeds list --json` gives it, with its text read back from the file."""

    id: str
    title: str
    published: str
    topics: list[str]
    paragraphs: list[str]


@dataclass
class Outcome:
    tool: str
    articles: int
    runs: list[Measured]
    files: int = 0
    feeds: int = 0
    output_bytes: int = 0
    kinds: dict[str, int] = field(default_factory=dict)  # files per extension
    kind_bytes: dict[str, int] = field(default_factory=dict)  # bytes per extension
    note: str = ""  # what a rebuild wrote, kept and removed


def paragraphs_of(path: Path) -> list[str]:
    """Summary and body paragraphs of an article file: no front matter, title or source line."""
    lines = path.read_text().splitlines()
    if lines and lines[0] == "---":
        lines = lines[lines.index("---", 1) + 1 :]
    lines = [line.strip() for line in lines[1:] if line.strip()]
    if lines and lines[-1].lower().startswith("original source:"):
        lines.pop()
    return lines


def list_articles(folder: Path, work: Path, limit: float) -> tuple[Measured, list[Record]]:
    index = work / "list-index"
    shutil.rmtree(index, ignore_errors=True)
    out = work / "list.jsonl"
    measured = run_measured(
        [*feeds_command(), "list", "--json", "--collection", str(folder), "--index", str(index)],
        limit,
        log_path=work / "list.log",
    )
    if measured.returncode != 0:
        return measured, []
    # run_measured keeps output in a log; a second, unmeasured run gives clean JSON lines.
    with open(out, "wb") as handle:
        subprocess.run(
            [*feeds_command(), "list", "--json", "--collection", str(folder)]
            + ["--index", str(index)],
            stdout=handle,
            stderr=subprocess.DEVNULL,
            check=True,
        )
    records = []
    for line in out.read_text().splitlines():
        item = json.loads(line)
        text = paragraphs_of(folder / item["path"])
        records.append(Record(item["id"], item["title"], item["published"], item["topics"], text))
    return measured, records


def yaml_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML string


def write_hugo_site(site: Path, records: list[Record]) -> None:
    shutil.rmtree(site, ignore_errors=True)
    content = site / "content" / "articles"
    content.mkdir(parents=True)
    (site / "hugo.toml").write_text(HUGO_CONFIG)
    for name, text in HUGO_LAYOUTS.items():
        (site / "layouts" / name).parent.mkdir(parents=True, exist_ok=True)
        (site / "layouts" / name).write_text(text)
    for r in records:
        front = [
            "---",
            f"title: {yaml_text(r.title)}",
            f"date: {r.published}",
            f"slug: {r.id}",
            f"tags: {json.dumps(r.topics)}",
            f"categories: {json.dumps(r.topics[:1])}",
            "---",
        ]
        (content / f"{r.id}.md").write_text("\n".join(front) + "\n" + "\n\n".join(r.paragraphs))


def write_pelican_site(site: Path, records: list[Record]) -> None:
    shutil.rmtree(site, ignore_errors=True)
    content = site / "content"
    content.mkdir(parents=True)
    (site / "pelicanconf.py").write_text(PELICAN_CONFIG)
    for r in records:
        meta = [
            f"Title: {r.title}",
            f"Date: {r.published.replace('T', ' ').rstrip('Z')}",
            f"Slug: {r.id}",
        ]
        if r.topics:
            meta += [f"Category: {r.topics[0]}", f"Tags: {', '.join(r.topics)}"]
        (content / f"{r.id}.md").write_text("\n".join(meta) + "\n\n" + "\n\n".join(r.paragraphs))


def pelican_env() -> Path:
    """A virtual environment with Pelican, made once under the work folder."""
    venv = WORK / "pelican-venv"
    pelican = venv / "bin" / "pelican"
    if not pelican.exists():
        log("installing Pelican into its own virtual environment")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "pelican[markdown]"],
            check=True,
        )
    return pelican


def count_output(outcome: Outcome, out: Path) -> None:
    for path in out.rglob("*"):
        if path.is_file():
            outcome.files += 1
            outcome.feeds += path.suffix in FEED_SUFFIXES
            outcome.output_bytes += path.stat().st_size
            outcome.kinds[path.suffix] = outcome.kinds.get(path.suffix, 0) + 1
            size = path.stat().st_size
            outcome.kind_bytes[path.suffix] = outcome.kind_bytes.get(path.suffix, 0) + size


def alternate(
    articles: int, times: int, contenders: dict[str, tuple[Path, Callable[[], Measured]]]
) -> list[Outcome]:
    """Each contender once per round, in turn, so that a change in the machine's load falls
    on all of them alike."""
    outcomes = {tool: Outcome(tool, articles, []) for tool in contenders}
    for number in range(times):
        for tool, (_, run) in contenders.items():
            if outcomes[tool].runs and outcomes[tool].runs[-1].returncode != 0:
                continue
            measured = run()
            outcomes[tool].runs.append(measured)
            log(f"{tool}, {articles} articles, run {number + 1}: {measured.describe()}")
    for tool, (out, _) in contenders.items():
        if outcomes[tool].runs[-1].returncode == 0 and out.is_dir():
            count_output(outcomes[tool], out)
    return list(outcomes.values())


def linked_copy(source: Path, target: Path) -> Path:
    """The collection as hard links: a new article can go in without touching the shared one."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, copy_function=os.link)
    return target


def new_article(folder: Path) -> Path:
    path = folder / "2025" / "new_00000000000b0001.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "---\ndate: 2025-01-02T09:00:00Z\n---\nSeoul: North and South Korea resume talks\n\n"
        "Officials from North Korea and South Korea met in Seoul on Thursday.\n"
        "The talks in Seoul were the first this year, officials in Pyongyang said.\n"
        "Original Source: www.example.org\n"
    )
    return path


def inodes(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file's inode and modification time."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            stat = os.stat(path)
            found[os.path.relpath(path, folder)] = (stat.st_ino, stat.st_mtime_ns)
    return found


def rebuilds(
    articles: int, build: Callable[[], Measured], folder: Path, out: Path
) -> list[Outcome]:
    """feeds rebuilding its last output: nothing changed, then one new article."""
    same = Outcome("feeds build, no change", articles, [build()])
    same.note = summary_of(same.runs[-1])
    log(f"{same.tool}, {articles} articles: {same.runs[-1].describe()} ({same.note})")
    before = inodes(out)
    keep = out.with_name(out.name + "-before")
    shutil.rmtree(keep, ignore_errors=True)
    shutil.copytree(out, keep, copy_function=os.link)  # the old bytes, to compare with
    added = new_article(folder)
    one = Outcome("feeds build, one new article", articles, [build()])
    after = inodes(out)
    touched = [name for name, stat in after.items() if before.get(name) != stat]
    unchanged = [
        n for n in touched if n in before and (keep / n).read_bytes() == (out / n).read_bytes()
    ]
    one.note = (
        f"{summary_of(one.runs[-1])}; {len(touched):,} files with a new inode or time, "
        f"{len(unchanged)} of them with the same bytes as before"
    )
    log(f"{one.tool}, {articles} articles: {one.runs[-1].describe()} ({one.note})")
    added.unlink()  # the next run starts from the generated articles again
    shutil.rmtree(keep, ignore_errors=True)
    return [same, one]


def summary_of(measured: Measured) -> str:
    """The counts of `feeds build`'s summary line."""
    found = re.search(r"([\d,]+) files written, ([\d,]+) kept, ([\d,]+) removed", measured.output)
    if found is None:
        return measured.describe()
    return f"{found[1]} written, {found[2]} kept, {found[3]} removed"


def measure_size(
    articles: int, times: int, limit: float, hugo: str, pelican: Path | None
) -> list[Outcome]:
    work = WORK / "build" / f"n{articles}"
    work.mkdir(parents=True, exist_ok=True)
    folder = linked_copy(collection(articles), work / "collection")
    listed, records = list_articles(folder, work, limit)
    outcomes = [Outcome("feeds list --json", articles, [listed])]
    log(f"feeds list --json, {articles} articles: {listed.describe()}")
    cmd = [*feeds_command(), "build", "--collection", str(folder), "--index"]
    cmd += [str(work / "feeds-index"), "--out", str(work / "feeds-out"), "--base-url", BASE_URL]

    def feeds_rebuild() -> Measured:
        measured = run_measured(cmd, limit, log_path=work / "feeds-build.log")
        for stopped in work.glob(".feeds-out.*"):  # left by a build stopped at the time limit
            shutil.rmtree(stopped, ignore_errors=True)
        return measured

    def feeds_render() -> Measured:
        shutil.rmtree(work / "feeds-out", ignore_errors=True)  # every document rendered again,
        (work / ".feeds-out-build.json").unlink(missing_ok=True)  # from the index kept
        return feeds_rebuild()

    def feeds_build() -> Measured:
        shutil.rmtree(work / "feeds-index", ignore_errors=True)  # cold: an empty index folder
        return feeds_render()

    contenders = {"feeds build": (work / "feeds-out", feeds_build)}
    if records:
        write_hugo_site(work / "hugo", records)
        contenders["Hugo"] = (work / "hugo-out", partial(hugo_build, hugo, work, limit))
    if records and pelican is not None:
        write_pelican_site(work / "pelican", records)
        contenders["Pelican"] = (work / "pelican-out", partial(pelican_build, pelican, work, limit))
    outcomes += alternate(articles, times, contenders)
    if outcomes[1].runs[-1].returncode == 0:
        outcomes.append(Outcome("feeds build, index ready", articles, [feeds_render()]))
        log(f"feeds build, index ready, {articles} articles: {outcomes[-1].runs[-1].describe()}")
        outcomes += rebuilds(articles, feeds_rebuild, folder, work / "feeds-out")
    return outcomes


def hugo_build(hugo: str, work: Path, limit: float) -> Measured:
    shutil.rmtree(work / "hugo-out", ignore_errors=True)
    cmd = [hugo, "--quiet", "--source", str(work / "hugo")]
    cmd += ["--destination", str(work / "hugo-out"), "--cacheDir", str(work / "hugo-cache")]
    return run_measured(cmd, limit, log_path=work / "hugo.log")


def pelican_build(pelican: Path, work: Path, limit: float) -> Measured:
    site = work / "pelican"
    cmd = [str(pelican), str(site / "content"), "-s", str(site / "pelicanconf.py")]
    cmd += ["-o", str(work / "pelican-out"), "-q"]
    return run_measured(cmd, limit, cwd=site, log_path=work / "pelican.log")


def report(outcomes: list[Outcome], times: int, versions: dict[str, str]) -> None:
    rows = []
    for o in outcomes:
        done = [m for m in o.runs if m.returncode == 0]
        wall = median([m.seconds for m in done]) if done else None
        cpu = median([m.cpu_seconds for m in done]) if done else None
        peak = max((m.max_rss_kb for m in done), default=0)
        rows.append(
            [
                f"{o.articles:,}",
                o.tool,
                f"{wall:.1f} s" if wall is not None else o.runs[-1].describe(),
                f"{cpu:.1f} s" if cpu is not None else "—",
                fmt_kb(peak) if peak else "—",
                f"{o.files:,}" if o.files else "—",
                f"{o.feeds:,}" if o.feeds else "—",
                f"{o.output_bytes / 1024 / 1024:.0f} MB" if o.output_bytes else "—",
                f"{max((m.others for m in o.runs), default=0):.2f}",
            ]
        )
    header = ["Articles", "Tool", "Wall", "CPU", "Peak memory", "Files", "Feed files", "Output"]
    figures = table([*header, "Other work (cores)"], rows)
    kinds = "\n".join(
        f"- {o.tool}, {o.articles:,} articles: "
        + ", ".join(
            f"{n:,} {ext or '(none)'} ({o.kind_bytes.get(ext, 0) / 1e6:,.1f} MB)"
            for ext, n in sorted(o.kinds.items())
        )
        for o in outcomes
        if o.kinds
    )
    notes = "\n".join(f"- {o.tool}, {o.articles:,} articles: {o.note}" for o in outcomes if o.note)
    body = f"""
Generated collections; each tool builds the same articles from nothing (an empty index folder
for feeds, an emptied output folder for each, no caches), median of {times} run(s), the tools
taking turns. The row "index ready" is feeds rendering every document again from the index its
build left (no output, no build record): the full build of a collection already indexed. The
rows "no change" and "one new article" are feeds rebuilds (below). feeds writes
whatever `feeds build` writes (the files by extension are listed below). Hugo (taxonomy
`tags` = the article's topics as `feeds list --json` gives them, `categories` = its first
topic; RSS for home, tags and categories, 20 full-text items, minimal HTML layouts) and Pelican
(the same tags and category in Markdown; Atom and RSS for all, per tag and per category, 20
full-text items, the default theme) are reference points. `feeds list --json` (from an empty
index) is timed as well: it is the indexing alone. CPU is user + system of the process and its
children: above the wall time, the tool used more than one core. Peak memory is the largest
resident set of the process (wait4 ru_maxrss). *Other work*: the most cores other processes on
the machine used during a run, competing with it. Feed files: `.rss`, `.atom`, `.xml`, `.json`.

{figures}

Files by extension (bytes as `du --apparent-size` counts them):

{kinds}

Rebuilds: `feeds build` again into its last output with the same index, first with nothing
changed, then after one new article (about Korea, the newest of all) was added to the
collection. A file "with a new inode or time" was written by the rebuild; each is compared with
the previous build's copy to find any written with the same bytes:

{notes}

Machine:

{machine(versions)}
"""
    write_section("build", "Static build", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[10000, 100000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool and size")
    parser.add_argument("--limit", type=float, default=1800, help="seconds per build")
    parser.add_argument(
        "--pelican-max", type=int, default=10000, help="largest size Pelican builds"
    )
    parser.add_argument(
        "--quiet", type=float, default=120, help="seconds to wait for other work to stop"
    )
    args = parser.parse_args()
    began = time.monotonic()
    hugo = installed("hugo")
    pelican = pelican_env()
    versions = {
        "Hugo": tool_version(hugo, "version"),
        "Pelican": tool_version(str(pelican), "--version"),
    }
    wait_until_quiet(args.quiet)
    outcomes: list[Outcome] = []
    for size in args.sizes:
        with_pelican = pelican if size <= args.pelican_max else None
        outcomes += measure_size(size, args.repeat, args.limit, hugo, with_pelican)
        report(outcomes, args.repeat, versions)
    log(f"build bench done in {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
