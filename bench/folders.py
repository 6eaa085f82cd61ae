"""Where the benchmarks read and write: the repository, scratch space, generated collections
and RESULTS.md."""

from __future__ import annotations

import os
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = Path(os.environ.get("FEEDS_BENCH_WORK") or BENCH / "work")
# Generated collections live outside any git repository: inside one, feeds would date them
# from git history, which is not the plain folder being measured.
DATA = Path(os.environ.get("FEEDS_BENCH_DATA") or "/tmp/feeds-bench")
RESULTS = BENCH / "RESULTS.md"
