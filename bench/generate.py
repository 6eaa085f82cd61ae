"""Generate a collection of N articles, the same every time for the same N and seed.

Titles, summaries and paragraphs are recombined from a folder of real articles in the
collection format (``--corpus``); without one, a small built-in vocabulary writes them.
Every article names a place in its title and summary so the place topics have articles,
carries a front matter ``date`` spread over six years, and lives in a ``YYYY/MM/``
sub-folder under a name with a 16-hex id suffix (``00042_0123456789abcdef.txt``).

    python bench/generate.py --count 10000 --out bench/work/collections/n10000
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from folders import DATA, ROOT
from report import log

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "dev"
SEED = 20250301
FORMAT_VERSION = 1  # bump when the output for a given count and seed changes
STAMP = ".generated.json"  # hidden: never read as an article
FIRST_DAY = datetime(2019, 1, 1, tzinfo=UTC)
SPAN_SECONDS = int((datetime(2025, 1, 1, tzinfo=UTC) - FIRST_DAY).total_seconds())

# (name, capital): a few places are far more frequent than the rest, as in real news.
PLACES = [
    ("North Korea", "Pyongyang"),
    ("South Korea", "Seoul"),
    ("Russia", "Moscow"),
    ("Ukraine", "Kyiv"),
    ("China", "Beijing"),
    ("Japan", "Tokyo"),
    ("United States", "Washington"),
    ("France", "Paris"),
    ("Germany", "Berlin"),
    ("India", "New Delhi"),
    ("Brazil", "Brasilia"),
    ("Nigeria", "Abuja"),
    ("Kenya", "Nairobi"),
    ("Australia", "Canberra"),
    ("Canada", "Ottawa"),
    ("Egypt", "Cairo"),
    ("Turkey", "Ankara"),
    ("Iran", "Tehran"),
    ("Indonesia", "Jakarta"),
    ("Argentina", "Buenos Aires"),
    ("South Africa", "Pretoria"),
    ("Poland", "Warsaw"),
    ("Italy", "Rome"),
    ("Spain", "Madrid"),
    ("Sweden", "Stockholm"),
    ("Vietnam", "Hanoi"),
    ("Pakistan", "Islamabad"),
    ("Saudi Arabia", "Riyadh"),
    ("Chile", "Santiago"),
    ("Norway", "Oslo"),
]
PLACE_WEIGHTS = [1 / (rank + 1) for rank in range(len(PLACES))]
SUMMARY_ENDINGS = [
    "Officials in {capital} are following the story closely.",
    "The news was discussed in {capital} on the same day.",
    "Reaction in {country} has been mixed.",
    "Analysts in {capital} expect further developments.",
]

FILLER = (
    "the government said on Monday that its plan would cut costs and help families while "
    "critics argued the figures were optimistic and that more time was needed to study the "
    "effects on jobs prices schools hospitals roads and the wider economy over the next year"
)


@dataclass(frozen=True)
class Source:
    """One real article taken apart: the pieces a generated article is made of."""

    title: str
    summary: str
    body: tuple[str, ...]
    origin: str
    category: str


def read_corpus(folder: Path) -> list[Source]:
    categories: dict[str, str] = {}
    listing = folder.with_name(folder.name + "-categories.csv")
    if listing.is_file():
        with listing.open(newline="") as handle:
            categories = {row["file"]: row["category"] for row in csv.DictReader(handle)}
    sources = []
    for path in sorted(folder.rglob("*.txt")):
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
        lines = [line for line in lines if line]
        origin = "www.bbc.co.uk"
        if lines and lines[-1].lower().startswith("original source:"):
            origin = lines.pop().split(":", 1)[1].strip()
        if len(lines) < 3:
            continue
        category = categories.get(path.name, "news")
        sources.append(Source(lines[0], lines[1], tuple(lines[2:]), origin, category))
    return sources


def builtin_corpus(rng: random.Random, count: int = 400) -> list[Source]:
    """A stand-in corpus for machines without the real one: plausible words, real structure."""
    subjects = ["Ministers", "Talks", "Markets", "Exports", "Elections", "Courts", "Farmers"]
    verbs = ["weigh", "reject", "back", "delay", "expand", "question", "welcome"]
    objects = ["new trade rules", "the budget", "a rail plan", "energy prices", "the treaty"]
    words = FILLER.split()

    def sentence() -> str:
        text = " ".join(rng.choice(words) for _ in range(rng.randint(12, 24)))
        return text[0].upper() + text[1:] + "."

    def paragraph() -> str:
        return " ".join(sentence() for _ in range(rng.randint(3, 6)))

    return [
        Source(
            f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}",
            sentence(),
            tuple(paragraph() for _ in range(rng.randint(3, 7))),
            "www.example.org",
            rng.choice(["politics", "business", "tech"]),
        )
        for _ in range(count)
    ]


def article_text(
    rng: random.Random, sources: list[Source], pools: dict[str, list[str]]
) -> tuple[datetime, str]:
    """One article and its date: a real title and summary with a place, real paragraphs."""
    base = rng.choice(sources)
    country, capital = rng.choices(PLACES, weights=PLACE_WEIGHTS)[0]
    ending = rng.choice(SUMMARY_ENDINGS).format(country=country, capital=capital)
    own = list(base.body[: rng.randint(1, 3)])
    borrowed = rng.sample(pools[base.category], k=min(rng.randint(1, 5), len(pools[base.category])))
    body = own + borrowed
    spot = rng.randrange(len(body))
    body[spot] = f"In {country}, " + body[spot][0].lower() + body[spot][1:]
    moment = FIRST_DAY + timedelta(seconds=rng.randrange(SPAN_SECONDS))
    return moment, (
        f"---\ndate: {moment:%Y-%m-%dT%H:%M:%SZ}\n---\n"
        f"{country}: {base.title}\n\n{base.summary} {ending}\n"
        + "\n".join(body)
        + f"\nOriginal Source: {base.origin}\n"
    )


def generate(count: int, out: Path, seed: int = SEED, corpus: Path | None = None) -> Path:
    """Write ``count`` articles into ``out`` unless an identical collection is there already."""
    corpus = corpus if corpus is not None else DEFAULT_CORPUS
    rng = random.Random(seed)
    sources = read_corpus(corpus) if corpus.is_dir() else []
    origin = str(corpus) if sources else "built-in"
    if not sources:
        sources = builtin_corpus(rng)
    stamp = {"count": count, "seed": seed, "source": origin, "version": FORMAT_VERSION}
    if (out / STAMP).is_file() and json.loads((out / STAMP).read_text()) == stamp:
        return out
    log(f"generating {count} articles from {origin} into {out}")
    pools: dict[str, list[str]] = {}
    for source in sources:
        pools.setdefault(source.category, []).extend(source.body)
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    width = max(5, len(str(count - 1)))
    for number in range(count):
        moment, text = article_text(rng, sources, pools)
        ident = hashlib.sha256(f"{seed}:{number}".encode()).hexdigest()[:16]
        folder = staging / f"{moment:%Y}" / f"{moment:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{number:0{width}d}_{ident}.txt").write_text(text)
    (staging / STAMP).write_text(json.dumps(stamp))
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(out)
    return out


def parse_sizes(text: str) -> list[int]:
    """Collection sizes as a command line gives them: ``1000,10_000``."""
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def collection(count: int, seed: int = SEED) -> Path:
    """The shared generated collection of ``count`` articles, made once."""
    return generate(count, DATA / f"n{count}-s{seed}", seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, required=True, help="number of articles")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (replaced)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    generate(args.count, args.out, args.seed, args.corpus)
    print(args.out)


if __name__ == "__main__":
    main()
