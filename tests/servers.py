"""Real servers for the deployment tests: `feeds serve` under gunicorn and nginx, on free ports.

Each server runs as a child process with its log in a file, is polled until it answers (or fails
with its log when it exits or a deadline passes), and is stopped by the context manager that
started it.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import DATA, write_article

START_SECONDS = 60.0
STOP_SECONDS = 10.0
REQUEST_SECONDS = 10.0
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/local/sbin:/usr/sbin:/sbin")
NGINX_MISSING = "nginx is missing: run `make nginx` as root (apt-get install nginx-light)"

# Everything a server nginx runs for a test writes goes under its own prefix folder.
NGINX_CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log notice;
{user}
events {{
    worker_connections 64;
}}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
{http}
}}
"""


@dataclass(frozen=True)
class Reply:
    """One HTTP response as it came over the wire: the body is never decompressed."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def collection_with_archives(target: Path, extra: int = 41) -> Path:
    """A copy of the test collection with enough dated Korea articles for archive pages."""
    shutil.copytree(DATA / "collection", target)
    for n in range(extra):
        write_article(
            target / "korea", f"{n:03d}_{0xA000 + n:016x}.txt", f"Seoul talks, round {n + 1}",
            "South Korea and North Korea held another round of talks in Seoul.",
            f"Officials from Pyongyang and Seoul met again for round {n + 1}.",
            date=f"2025-02-{1 + n % 28:02d}T{n % 24:02d}:{n:02d}:00Z",
        )  # fmt: skip
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, headers: Mapping[str, str] | None = None) -> Reply:
    """GET without following redirects or decoding content."""
    assert url.startswith("http://"), url
    host, _, path = url.removeprefix("http://").partition("/")
    connection = http.client.HTTPConnection(host, timeout=REQUEST_SECONDS)
    try:
        connection.request("GET", "/" + path, headers=dict(headers or {}))
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


class Client:
    """One keep-alive connection to a server, for many requests in a row."""

    def __init__(self, base_url: str) -> None:
        self.host = base_url.removeprefix("http://")
        self.connection = http.client.HTTPConnection(self.host, timeout=REQUEST_SECONDS)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Reply:
        for attempt in (1, 2):
            try:
                self.connection.request("GET", path, headers=dict(headers or {}))
                response = self.connection.getresponse()
                return Reply(response.status, response.headers, response.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server may close an idle keep-alive connection: reconnect once.
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def read_logs(logs: list[Path]) -> str:
    return "\n".join(f"{log}:\n{log.read_text()}" for log in logs if log.exists())


def wait_until_serving(
    url: str, process: subprocess.Popen[bytes], logs: list[Path], name: str
) -> None:
    """Poll ``url`` until it answers; fail with the logs if the process exits or time runs out."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{read_logs(logs)}")
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{name} did not answer {url} within {START_SECONDS}s:\n{read_logs(logs)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_SECONDS)


@contextmanager
def running(
    command: list[str],
    logs: list[Path],
    probe: str,
    name: str,
    env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` with its output in ``logs[0]`` until the ``with`` block ends."""
    with logs[0].open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(probe, process, logs, name)
        yield process
    finally:
        stop(process)


def feeds_env(**settings: str) -> dict[str, str]:
    """The environment without any FEEDS_ setting of the caller's, plus ``settings``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("FEEDS_")}
    env["FEEDS_GIT_DATES"] = "0"
    env |= {"FEEDS_" + name.upper(): value for name, value in settings.items()}
    return env


@contextmanager
def feeds_serve(
    collection: Path, folder: Path, base_url: str | None = None, **settings: str
) -> Iterator[str]:
    """`feeds serve` on a free port of 127.0.0.1; yields the URL it listens on."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "feeds", "serve",
        "--collection", str(collection), "--index", str(folder / "index"),
        "--host", "127.0.0.1", "--port", str(port), "--base-url", base_url or url,
    ]  # fmt: skip
    with running(command, [folder / "serve.log"], url + "/topics.json", "feeds serve",
                 feeds_env(**settings)):  # fmt: skip
        yield url


def nginx_conf(prefix: Path, http: str) -> str:
    # As root, nginx would switch its workers to an unprivileged user who cannot read the
    # test's private temporary folders; stay root there. Otherwise nginx runs as the caller.
    user = "user root;" if os.geteuid() == 0 else ""
    return NGINX_CONF.format(prefix=prefix, user=user, http=http)


@contextmanager
def nginx(prefix: Path, http: str, port: int | None = None, probe: str = "/") -> Iterator[str]:
    """nginx in the foreground with ``http`` in its http block; yields the URL it listens on.

    ``{port}`` and ``{prefix}`` in ``http`` become the port and the folder nginx runs in.
    """
    if NGINX is None:
        pytest.skip(NGINX_MISSING)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "temp" / name).mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    http = http.replace("{port}", str(port)).replace("{prefix}", str(prefix))
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, http))
    command = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"),
               "-g", "daemon off;"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    logs = [prefix / "nginx.log", prefix / "error.log"]
    with running(command, logs, url + probe, "nginx"):
        yield url
