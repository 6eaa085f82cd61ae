"""The reference programs the benchmarks run (nginx, Varnish, wrk, Hugo), found where Debian
installs them. `make bench` installs the missing ones first; a benchmark never installs."""

from __future__ import annotations

import shutil
from pathlib import Path


def installed(name: str, make_target: str = "bench-tools") -> str:
    """The path of an installed program; when it is missing the benchmark stops and says which
    make target installs it."""
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if not found:
        raise SystemExit(f"{name} is missing: run `make {make_target}` as root to install it")
    return found
