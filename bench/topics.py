"""Topic quality and tagging speed, measured on 12,865 Reuters stories of 1987.

The stories are in the collection format with their Reuters place codes in
``labels.csv`` (columns ``file,places``, codes separated by ``|``). The corpus is
tagged through the public command line (``feeds list --collection DIR --json``),
ten topics are compared with the codes (precision, recall, F1 and their macro
average), and the matcher alone is timed over articles parsed beforehand, on
one core. The results replace the "Topic quality" section of bench/RESULTS.md.

    .venv/bin/python bench/topics.py [--corpus DIR]

Without the corpus the benchmark says so and exits without measuring.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feeds.collection import parse_article
from feeds.models import Article
from feeds.topics import Matcher, Verdict, load_taxonomy

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from common import write_section  # noqa: E402  # the bench folder's shared helpers

CORPUS = Path(os.environ.get("FEEDS_BENCH_CORPUS") or ROOT.parent / "shared/corpus/reuters-train")
SECTION = "topics"

# Topic slug -> the Reuters place codes that count as that topic (1987: USSR, West Germany).
GOLD: dict[str, tuple[str, ...]] = {
    "korea": ("south-korea", "north-korea"),
    "russia": ("ussr",),
    "japan": ("japan",),
    "china": ("china",),
    "united-kingdom": ("uk",),
    "canada": ("canada",),
    "france": ("france",),
    "brazil": ("brazil",),
    "australia": ("australia",),
    "germany": ("west-germany",),
}
TARGETS = {"korea": 0.90, "russia": 0.90, "macro": 0.80}
SPEED_RUNS = 5


@dataclass(frozen=True)
class Score:
    """One topic's agreement with the gold labels."""

    slug: str
    gold: int
    tagged: int
    hits: int
    unnamed: int = 0  # gold stories whose text never names the topic: out of any rule's reach
    # The best F1 a single threshold on the score could reach, chosen with the answers known.
    hindsight: float = 0.0

    @property
    def precision(self) -> float:
        return self.hits / self.tagged if self.tagged else 0.0

    @property
    def recall(self) -> float:
        return self.hits / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help=f"default: {CORPUS}")
    corpus = parser.parse_args().corpus
    if not (corpus / "labels.csv").is_file():
        print(f"topics benchmark skipped: no corpus at {corpus} (a folder of stories with a "
              "labels.csv); pass --corpus DIR or set FEEDS_BENCH_CORPUS")  # fmt: skip
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    labels = read_labels(corpus / "labels.csv")
    tagged, cli_seconds = tag_with_cli(corpus)
    articles = parse_corpus(corpus)
    speed, matcher = matcher_speed(articles, tagged)
    verdicts = [(a.path, matcher.verdicts(a)) for a in articles]
    named = named_topics(matcher, verdicts)
    scores = [
        score(slug, codes, labels, tagged, named, hindsight(slug, codes, labels, verdicts))
        for slug, codes in GOLD.items()
    ]
    report = render(scores, speed, len(labels), cli_seconds, cores or 1)
    print(report)
    write_section(SECTION, "Topic quality", report)


def read_labels(path: Path) -> dict[str, set[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        return {row["file"]: set(filter(None, row["places"].split("|"))) for row in rows}


def tag_with_cli(corpus: Path) -> tuple[dict[str, set[str]], float]:
    """Every story's topics, as `feeds list --json` gives them, and the command's wall time."""
    feeds = Path(sys.executable).parent / "feeds"
    command = [str(feeds)] if feeds.exists() else [sys.executable, "-m", "feeds"]
    env = {**os.environ, "FEEDS_GIT_DATES": "0"}
    env.pop("FEEDS_TAXONOMY", None)  # the default taxonomy is what is measured
    with tempfile.TemporaryDirectory(prefix="feeds-bench-index-") as index:
        args = [*command, "list", "--collection", str(corpus), "--index", index, "--json"]
        started = time.perf_counter()
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
    records = (json.loads(line) for line in done.stdout.splitlines() if line.strip())
    return {r["path"]: set(r["topics"]) for r in records}, seconds


def score(
    slug: str,
    codes: tuple[str, ...],
    labels: dict[str, set[str]],
    tagged: dict[str, set[str]],
    named: dict[str, set[str]],
    best: float,
) -> Score:
    gold = {path for path, places in labels.items() if places.intersection(codes)}
    found = {path for path, topics in tagged.items() if slug in topics}
    unnamed = {path for path in gold if slug not in named.get(path, ())}
    return Score(slug, len(gold), len(found), len(gold & found), len(unnamed), best)


def hindsight(
    slug: str,
    codes: tuple[str, ...],
    labels: dict[str, set[str]],
    verdicts: list[tuple[str, dict[str, Verdict]]],
) -> float:
    """The best F1 any one threshold on the topic's score reaches, picked knowing the labels.

    Not a rule anyone could ship (it is fitted to the answers), but a ceiling: how well the
    score ranks the stories. A target above it needs other evidence than where and how often
    the text names the place.
    """
    gold = sum(1 for places in labels.values() if places.intersection(codes))
    ranked = sorted(
        (verdict[slug].score, bool(labels.get(path, set()).intersection(codes)))
        for path, verdict in verdicts
        if slug in verdict and verdict[slug].mentions
    )
    best, tagged, hits = 0.0, len(ranked), sum(is_gold for _, is_gold in ranked)
    for index, (value, is_gold) in enumerate(ranked):
        if index == 0 or value != ranked[index - 1][0]:  # threshold = value: tag this and above
            best = max(best, 2 * hits / (gold + tagged) if gold + tagged else 0.0)
        tagged, hits = tagged - 1, hits - is_gold
    return best


@dataclass(frozen=True)
class Speed:
    articles: int
    build_seconds: float  # building the matcher from the taxonomy
    runs: tuple[float, ...]  # seconds to tag every article, per run
    agreement: int  # stories the in-process matcher tags as the command line did

    @property
    def per_second(self) -> float:
        return self.articles / statistics.median(self.runs)


def parse_corpus(corpus: Path) -> list[Article]:
    return [parse_article(p.read_bytes(), p.name)[0] for p in sorted(corpus.glob("*.txt"))]


def matcher_speed(articles: list[Article], tagged: dict[str, set[str]]) -> tuple[Speed, Matcher]:
    """Articles per second of `Matcher.tag` alone, on one core, over pre-parsed articles."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    started = time.perf_counter()
    matcher = Matcher(load_taxonomy())
    build = time.perf_counter() - started
    runs = []
    for _ in range(SPEED_RUNS):
        started = time.perf_counter()
        result = matcher.tag(articles)
        runs.append(time.perf_counter() - started)
    same = sum(1 for a in result if set(a.topics) == tagged.get(a.path))
    return Speed(len(articles), build, tuple(runs), same), matcher


def named_topics(
    matcher: Matcher, verdicts: list[tuple[str, dict[str, Verdict]]]
) -> dict[str, set[str]]:
    """The topics each article names at all (any term, counted or not), with their parents."""
    named = {}
    for path, verdict in verdicts:
        slugs = {s for s, v in verdict.items() if v.mentions or v.unconfirmed}
        named[path] = slugs.union(*(matcher.taxonomy.ancestors(s) for s in slugs))
    return named


def render(scores: list[Score], speed: Speed, stories: int, cli_seconds: float, cores: int) -> str:
    macro = statistics.mean(s.f1 for s in scores)
    rows = [
        f"| {s.slug} | {s.gold} | {s.unnamed} | {s.tagged} | {s.hits} | {s.precision:.3f} "
        f"| {s.recall:.3f} | **{s.f1:.3f}** | {s.hindsight:.3f} |{target(s.slug, s.f1)}"
        for s in scores
    ]
    return "\n".join(
        [
            f"{stories:,} Reuters stories of 1987 (`reuters-train`; titles in capitals, datelines "
            "removed), tagged by `feeds list --collection DIR --json` with the default taxonomy. "
            "Gold: the stories' Reuters place codes (korea: `south-korea` or `north-korea`; "
            "russia: `ussr`; united-kingdom: `uk`; germany: `west-germany`). A story counts for "
            "a topic when the topic, or one of its children, is among its topics. *Gold, never "
            "named*: gold stories whose text has no term of the topic at all (most were "
            "placed by their dateline, which the corpus leaves out), so no rule over the text "
            "can find them. *Hindsight*: the best F1 that a single threshold on the topic's "
            "score reaches when it is picked knowing the labels (the leading-place share rule "
            "left out): not a rule one could ship, but a ceiling on how well the score ranks "
            "the stories.",
            "",
            "| Topic | Gold | Gold, never named | Tagged | Both | Precision | Recall | F1 "
            "| Hindsight | Target |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            *rows,
            f"| **macro** | | | | | {statistics.mean(s.precision for s in scores):.3f} "
            f"| {statistics.mean(s.recall for s in scores):.3f} | **{macro:.3f}** "
            f"| {statistics.mean(s.hindsight for s in scores):.3f} |{target('macro', macro)}",
            "",
            f"Tagging speed: **{speed.per_second:,.0f} articles/s** on one core "
            f"(`Matcher.tag` over {speed.articles:,} pre-parsed articles; median of "
            f"{len(speed.runs)} runs, {min(speed.runs):.2f}–{max(speed.runs):.2f} s each). "
            f"Building the matcher from the taxonomy: {speed.build_seconds * 1000:.0f} ms. "
            f"The whole `feeds list` command (start-up, reading, parsing, dating, tagging on "
            f"every core, output): {cli_seconds:.1f} s. In-process tagging agrees with the "
            f"command line on {speed.agreement:,} of {speed.articles:,} stories.",
            "",
            machine(cores),
        ]
    )


def target(slug: str, value: float) -> str:
    goal = TARGETS.get(slug)
    if goal is None:
        return " |"
    return f" ≥ {goal:.2f}: {'met' if value >= goal else 'not met'} |"


def machine(cores: int) -> str:
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    return "\n".join(
        [
            "Machine:",
            "",
            f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- Code: feeds {code_version()}",
            f"- nproc: {cores}; CPU: {cpu.group(1).strip() if cpu else platform.processor()}",
            f"- Python {platform.python_version()} ({platform.python_implementation()}), "
            f"{platform.system()} {platform.release()}",
            f"- Load average at the end: {os.getloadavg()[0]:.2f}",
        ]
    )


def code_version() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "feeds")
    return commit + (" with uncommitted changes to the code" if dirty else "")


if __name__ == "__main__":
    main()
