"""The processes being measured: starting and stopping them, their CPU time and memory, and
what their logs say."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from folders import WORK

from feeds.server import SERVERS

# The server under test runs on one core and the load generator on another (on a machine with
# only one, on the same), so that neither takes the other's time: `taskset -c` takes these.
SERVER_CPU = "0"
CLIENT_CPU = "1" if (os.cpu_count() or 1) > 1 else "0"


def feeds_command() -> list[str]:
    """The ``feeds`` command of the environment running the benchmark."""
    script = Path(sys.executable).parent / "feeds"
    return [str(script)] if script.exists() else [sys.executable, "-m", "feeds"]


def machine_cpu_seconds() -> float:
    """CPU seconds all processes have used since boot (user, nice, system).

    Interrupt time is left out: loopback traffic is handled there, on behalf of whichever
    process happens to run, so it belongs to the measurement more than to anyone else.
    """
    user, nice, system = (int(v) for v in Path("/proc/stat").read_text().split()[1:4])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of the children it has waited for."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


@dataclass
class OtherWork:
    """Cores used by processes that are not part of the measurement, over a stretch of time."""

    cores: float = 0.0


@contextlib.contextmanager
def other_work(measured: Callable[[], Sequence[int]] = list) -> Iterator[OtherWork]:
    """Measure what other processes used while the block ran; ``measured`` lists our servers."""
    found = OtherWork()
    began, machine0 = time.monotonic(), machine_cpu_seconds()
    own0 = own_cpu_seconds() + cpu_seconds(measured())
    yield found
    own = own_cpu_seconds() + cpu_seconds(measured()) - own0
    elapsed = max(1e-6, time.monotonic() - began)
    found.cores = max(0.0, (machine_cpu_seconds() - machine0 - own) / elapsed)


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are alive."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return [p for p in found if Path(f"/proc/{p}").exists()]


def _proc_kb(pid: int, name: str, key: str) -> int:
    """A ``key: N kB`` line of /proc/<pid>/<name>; 0 once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/{name}").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{key}:\s*(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def status_kb(pid: int, key: str) -> int:
    return _proc_kb(pid, "status", key)


def pss_kb(pid: int) -> int:
    return _proc_kb(pid, "smaps_rollup", "Pss")


def cpu_seconds(pids: Sequence[int]) -> float:
    """CPU seconds of the given processes and of the children they have reaped.

    Over a whole process tree this counts every process once: a live one in its own
    ``utime``/``stime``, a finished one (a worker pool's, say) in its parent's
    ``cutime``/``cstime``.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15])
    return total / ticks


@dataclass
class MemorySampler:
    """Samples the resident memory of a process tree in the background."""

    pid: int
    interval: float = 0.2
    peak_rss_kb: int = 0
    peak_hwm_kb: int = 0
    peak_processes: int = 0
    names: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def sample(self) -> None:
        pids = process_tree(self.pid)
        if len(pids) > self.peak_processes:
            self.peak_processes, self.names = len(pids), process_names(pids)
        self.peak_rss_kb = max(self.peak_rss_kb, sum(status_kb(p, "VmRSS") for p in pids))
        self.peak_hwm_kb = max(self.peak_hwm_kb, sum(status_kb(p, "VmHWM") for p in pids))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self.sample()
        self._stop.set()
        if self._thread:
            self._thread.join()


class Server:
    """A server process started in its own session, stopped by its own process group."""

    def __init__(
        self,
        cmd: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cpus: str | None = None,
    ) -> None:
        if cpus is not None:
            cmd = ["taskset", "-c", cpus, *cmd]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115  # closed in stop()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            list(cmd),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        self.pid = self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tree(self) -> list[int]:
        return process_tree(self.pid) if self.alive() else []

    def stop(self, grace: float = 15.0) -> int | None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Measured:
    """A finished command: wall and CPU seconds, peak memory, exit status, output tail."""

    seconds: float
    cpu_seconds: float
    max_rss_kb: int
    returncode: int | None  # None when it was stopped at the time limit
    output: str
    others: float = 0.0  # cores used meanwhile by processes outside the measurement

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def describe(self) -> str:
        if self.timed_out:
            return f"timeout (> {self.seconds:.0f} s)"
        if self.returncode:
            return f"failed (exit {self.returncode})"
        return f"{self.seconds:.2f} s"


def run_measured(
    cmd: Sequence[str],
    limit: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> Measured:
    """Run a command to completion or the time limit; rusage comes from wait4 on that child."""
    log_path = log_path or WORK / "logs" / "last-command.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as out, other_work() as others:
        started = time.monotonic()
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        expired = threading.Event()

        def stop_at_limit() -> None:
            expired.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(limit, stop_at_limit)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    with contextlib.suppress(ProcessLookupError):  # anything it left behind in its session
        os.killpg(proc.pid, signal.SIGKILL)
    return Measured(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_kb=usage.ru_maxrss,
        returncode=None if expired.is_set() else proc.returncode,
        output=log_path.read_text(errors="replace")[-4000:],
        others=others.cores,
    )


LOG_PATTERNS = {
    "worker starts": r"Booting worker|Spawning worker",
    "worker timeouts": r"WORKER TIMEOUT|[Tt]imed? ?out",
    "errors": r"\b(?:ERROR|CRITICAL)\b",
    "tracebacks": r"Traceback",
}


def count_log(text: str) -> dict[str, int]:
    """How often the server logged worker starts, timeouts, errors and tracebacks."""
    return {name: len(re.findall(pattern, text)) for name, pattern in LOG_PATTERNS.items()}


def server_name(text: str) -> str:
    """The WSGI server a `feeds serve` log comes from."""
    for name in SERVERS:
        if name in text[:4000].lower():
            return name
    return "unknown server"


def process_names(pids: Sequence[int]) -> str:
    """``feeds ×1, python ×2``: the commands of a process tree."""
    names: dict[str, int] = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            names[name] = names.get(name, 0) + 1
    return ", ".join(f"{name} ×{count}" for name, count in sorted(names.items()))
