"""What a benchmark reports: progress lines, the machine and the conditions of the run, and
its section of RESULTS.md."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from folders import RESULTS, ROOT


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt_kb(kb: float) -> str:
    return f"{kb / 1024:.0f} MiB"


_conditions: dict[str, str] = {}


def cpu_busy(window: float = 2.0) -> float:
    """Fraction of all cores busy over ``window`` seconds, whoever uses them."""

    def times() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    total0, idle0 = times()
    time.sleep(window)
    total1, idle1 = times()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def wait_until_quiet(limit: float, below: float = 0.10) -> None:
    """Wait up to ``limit`` seconds for other work on the machine to stop; note what was found."""
    deadline = time.monotonic() + limit
    busy = cpu_busy()
    while busy >= below and time.monotonic() < deadline:
        log(f"machine {busy:.0%} busy with other work; waiting for it to settle")
        time.sleep(10)
        busy = cpu_busy()
    _conditions["Busy before the run"] = f"{busy:.0%} of all cores (other processes)"
    _conditions["Load average at start"] = Path("/proc/loadavg").read_text().split()[0]


def tool_version(*cmd: str) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def code_version() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "feeds", "app.py", "pyproject.toml")
    return commit + (" with uncommitted changes to the code" if dirty else "")


def machine(extra: dict[str, str] | None = None) -> str:
    """The machine and versions, as Markdown list lines."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    cpu = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"^MemTotal:\s*(\d+)", meminfo, re.MULTILINE).group(1))  # type: ignore[union-attr]
    facts = {
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Code": f"feeds {code_version()}",
        "CPU": f"{os.cpu_count()} × {cpu.group(1) if cpu else 'unknown'} (nproc {os.cpu_count()})",
        "Memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        **(extra or {}),
        **_conditions,
        "Load average at end": Path("/proc/loadavg").read_text().split()[0],
    }
    return "\n".join(f"- {key}: {value}" for key, value in facts.items())


def feeds_settings() -> str:
    """The ``FEEDS_*`` variables set for the run, or that none are."""
    found = sorted(f"`{k}={v}`" for k, v in os.environ.items() if k.startswith("FEEDS_"))
    return ", ".join(found) if found else "no FEEDS_* variable set: the shipped defaults"


def write_section(name: str, title: str, body: str) -> None:
    """Replace this benchmark's section of RESULTS.md, between its markers; other sections stay."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n## {title}\n\n{body.strip()}\n{end}"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    staging = RESULTS.with_name(f".{RESULTS.name}.{os.getpid()}")
    staging.write_text(text)
    staging.replace(RESULTS)
    log(f"wrote the {title!r} section of {RESULTS}")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def publish(name: str, title: str, body: str, versions: dict[str, str] | None = None) -> None:
    """Write a benchmark's section, its findings followed by the machine and the versions."""
    write_section(name, title, f"{body.strip()}\n\nMachine:\n\n{machine(versions)}\n")
