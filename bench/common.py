"""Helpers shared by the benchmarks: processes, HTTP probes, machine facts and RESULTS.md."""

from __future__ import annotations

import contextlib
import importlib
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = Path(os.environ.get("FEEDS_BENCH_WORK") or BENCH / "work")
# Generated collections live outside any git repository: inside one, feeds would date them
# from git history, which is not the plain folder being measured.
DATA = Path(os.environ.get("FEEDS_BENCH_DATA") or "/tmp/feeds-bench")
RESULTS = BENCH / "RESULTS.md"
HOST = "127.0.0.1"


def feeds_command() -> list[str]:
    """The ``feeds`` command of the environment running the benchmark."""
    script = Path(sys.executable).parent / "feeds"
    return [str(script)] if script.exists() else [sys.executable, "-m", "feeds"]


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def parse_sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


# --- installing the reference tools -----------------------------------------------------------


def apt_install(*packages: str) -> None:
    """Install Debian packages without starting their services (the benchmark runs its own)."""
    if os.geteuid() != 0:
        raise SystemExit(f"{' '.join(packages)}: missing; install with apt-get, or run as root")
    log(f"apt-get install {' '.join(packages)}")
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:  # keeps the packages' init scripts from starting a server on port 80
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
            check=True,
            env=env,
        )
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)


def apt_has_candidate(package: str) -> bool:
    out = subprocess.run(
        ["apt-cache", "policy", package], capture_output=True, text=True, check=False
    ).stdout
    match = re.search(r"Candidate:\s*(\S+)", out)
    return bool(match) and match.group(1) != "(none)"


def ensure_nginx() -> str:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not nginx:
        apt_install("nginx-light" if apt_has_candidate("nginx-light") else "nginx")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return nginx


def ensure_tool(name: str, package: str | None = None) -> str:
    found = shutil.which(name)
    if not found:
        apt_install(package or name)
        found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not available after installing {package or name}")
    return found


# --- machine description ----------------------------------------------------------------------

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


# --- RESULTS.md ---------------------------------------------------------------------------------


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


# --- processes ----------------------------------------------------------------------------------


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


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


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


# --- HTTP ---------------------------------------------------------------------------------------


def http_client() -> ModuleType:
    """The standard library's ``http.client``, which ``bench/http.py`` shadows on ``sys.path``."""
    if "http.client" not in sys.modules:
        saved = sys.path[:]
        sys.path[:] = [p for p in saved if Path(p or os.curdir).resolve() != BENCH]
        try:
            importlib.import_module("http.client")
        finally:
            sys.path[:] = saved
    return sys.modules["http.client"]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 30) -> Reply:
    """One GET on a fresh connection to 127.0.0.1:port."""
    started = time.monotonic()
    conn = http_client().HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
        return Reply(response.status, found, body, time.monotonic() - started)
    finally:
        conn.close()


def wait_for_200(
    server: Server, port: int, path: str, deadline: float, interval: float = 0.02
) -> tuple[float | None, str]:
    """Seconds from the server's start until ``path`` answers 200, or None and the reason."""
    while time.monotonic() < deadline:
        if not server.alive():
            return None, f"server exited with status {server.proc.returncode}"
        try:
            reply = get(port, path, timeout=max(0.1, deadline - time.monotonic()))
            if reply.status == 200:
                return time.monotonic() - server.started, "ok"
        except (OSError, http_client().HTTPException):
            pass
        time.sleep(interval)
    return None, "timeout"


def feed_links(html: bytes) -> list[str]:
    """The topic slugs a page links feeds for, in page order (``all`` left out)."""
    slugs = re.findall(rb"/feeds/([a-z0-9][a-z0-9-]*)\.rss\b", html)
    return [s for s in dict.fromkeys(x.decode() for x in slugs) if s != "all"]


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
    for name in ("granian", "gunicorn"):
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


def feeds_settings() -> str:
    """The ``FEEDS_*`` variables set for the run, or that none are."""
    found = sorted(f"`{k}={v}`" for k, v in os.environ.items() if k.startswith("FEEDS_"))
    return ", ".join(found) if found else "no FEEDS_* variable set: the shipped defaults"


def fmt_kb(kb: float) -> str:
    return f"{kb / 1024:.0f} MiB"
