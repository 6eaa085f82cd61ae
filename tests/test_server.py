"""`feeds serve` under granian and gunicorn: one server per port, workers that never outlive
their main process, 414 for request lines over 8 KiB and nosniff on every response."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from servers import feeds_env, feeds_serve, free_port, get, running

from conftest import write_article
from feeds.server import HEADER_SECONDS, SERVERS, PortTaken, check_port

DEADLINE = 20.0


def serve_command(collection: Path, folder: Path, port: int) -> list[str]:
    index = str(folder / "index")
    return [sys.executable, "-m", "feeds", "serve", "--collection", str(collection),
            "--index", index, "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found |= {int(child) for child in text}
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("server", SERVERS)
def test_a_second_server_on_a_taken_port_says_so(collection, tmp_path: Path, server: str) -> None:
    with feeds_serve(collection, tmp_path / "first", server=server) as url:
        port = int(url.rsplit(":", 1)[1])
        second = subprocess.run(
            serve_command(collection, tmp_path / "second", port), capture_output=True, text=True,
            timeout=60, env=feeds_env(server=server), check=False,
        )  # fmt: skip
        assert second.returncode != 0
        assert f"port {port} on 127.0.0.1 is already in use" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
        assert get(url + "/topics.json").status == 200  # the first one still serves alone


@pytest.mark.parametrize("server", SERVERS)
def test_workers_exit_when_the_main_process_dies(collection, tmp_path: Path, server: str) -> None:
    folder = tmp_path / "server"
    folder.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = serve_command(collection, folder, port) + ["--workers", "2"]
    with running(command, [folder / "serve.log"], url + "/topics.json", "feeds serve",
                 feeds_env(server=server)) as main:  # fmt: skip
        workers = children(main.pid)
        assert workers, "no worker processes"
        os.kill(main.pid, signal.SIGKILL)
        main.wait(timeout=10)
        deadline = time.monotonic() + DEADLINE
        while any(alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "a worker outlived its main process"
            time.sleep(0.1)
    # and the port is free for the next server, once the kernel has closed the dead ones' sockets
    while True:
        try:
            check_port("127.0.0.1", port)
            break
        except PortTaken:
            assert time.monotonic() < deadline, f"port {port} still taken after the server died"
            time.sleep(0.1)


def request_line(port: int, target: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("server", SERVERS)
def test_request_lines_over_8_kib_answer_414(collection, tmp_path: Path, server: str) -> None:
    with feeds_serve(collection, tmp_path / "server", server=server) as url:
        port = int(url.rsplit(":", 1)[1])
        for length, expected in ((7000, b"HTTP/1.1 301"), (8300, b"HTTP/1.1 414"),
                                 (20000, b"HTTP/1.1 414"), (200000, b"HTTP/1.1 414")):  # fmt: skip
            target = b"/feeds/korea.rss?q=" + b"x" * (length - 40)
            answer = request_line(port, target)
            assert answer.startswith(expected), (length, answer[:200])


@pytest.mark.parametrize("server", SERVERS)
def test_every_response_says_nosniff(collection, tmp_path: Path, server: str) -> None:
    paths = ["/", "/feeds/korea.rss", "/feeds/nope.rss", "/feeds/korea.rss?limit=0",
             "/feeds/russia+korea.rss", "/topics.json", "/feeds.opml", "/static/missing.css",
             "/feeds/korea.rss?q=" + "x" * 9000]  # fmt: skip
    with feeds_serve(collection, tmp_path / "server", server=server) as url:
        for path in paths:
            for headers in ({}, {"Accept-Encoding": "gzip"}):
                reply = get(url + path, headers)
                assert reply.header("X-Content-Type-Options") == "nosniff", (path, reply.status)
        etag = get(url + "/feeds/korea.rss").header("ETag") or ""
        reply = get(url + "/feeds/korea.rss", {"If-None-Match": etag})
        assert reply.status == 304 and reply.header("X-Content-Type-Options") == "nosniff"


def test_parallel_indexing_in_a_folder_that_holds_a_feeds_folder(tmp_path: Path) -> None:
    """The workers that index a large collection import this package, not ./feeds."""
    from feeds.index.readers import PARALLEL_FROM

    collection = tmp_path / "collection"
    collection.mkdir()
    for n in range(PARALLEL_FROM + 50):
        (collection / f"{n:05d}_{n:016x}.txt").write_text(
            f"---\ndate: 2025-01-01\n---\nStory {n} from Tokyo\n\nJapan said so.\n"
        )
    cwd = tmp_path / "site"
    (cwd / "feeds" / "japan").mkdir(parents=True)  # e.g. a static export named feeds
    script = Path(sys.executable).parent / "feeds"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(script), "serve", "--collection", str(collection), "--index",
               str(tmp_path / "index"), "--port", str(port)]  # fmt: skip
    log = tmp_path / "serve.log"
    env = feeds_env()
    original = os.getcwd()
    os.chdir(cwd)
    try:
        with running(command, [log], url + "/topics.json", "feeds serve", env):
            assert get(url + "/feeds/japan.rss").body.count(b"<title>Story ") == 20
    finally:
        os.chdir(original)
    text = log.read_text()
    assert "parallel indexing failed" not in text, text[-2000:]


def test_workers_sharing_an_index_store_new_articles_without_damage(
    collection: Path, tmp_path: Path
) -> None:
    """Both workers notice each new file at the same moment and store it: the index takes
    both writes, and is never taken for damaged and set aside."""
    folder = tmp_path / "serve"
    with feeds_serve(collection, folder, workers="2", reload_interval="0.2") as url:
        for n in range(3):
            title = f"Seoul hosts summit number {n}"
            date = f"2025-04-0{n + 1}T00:00:00Z"
            write_article(collection, f"summit-{n}.txt", title, "South Korea hosted a summit.",
                          "Officials from Seoul met.", date=date)  # fmt: skip
            deadline = time.monotonic() + DEADLINE
            seen = 0  # in a row, so that both workers, one per connection, have it
            while seen < 8:
                assert time.monotonic() < deadline, f"{title!r} not served by every worker"
                seen = seen + 1 if title.encode() in get(url + "/feeds/korea.rss").body else 0
                time.sleep(0 if seen else 0.05)
    log = (folder / "serve.log").read_text()
    assert "damaged" not in log and "UNIQUE" not in log, log
    assert not list((folder / "index").glob("*.damaged-*"))


SLOW_CLIENTS = 2000  # past the 1,024 connections a granian worker held by default


def test_clients_that_never_finish_their_headers_shut_no_one_out(
    collection, tmp_path: Path
) -> None:
    """A slow-headers attack (slowloris) from one address: the connections it holds cost
    memory, not service. Every other reader is answered at once, and each held connection is
    dropped once it has had its HEADER_SECONDS."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = SLOW_CLIENTS + 256
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"this machine allows {hard} open files, fewer than the {need} it needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    held: list[socket.socket] = []
    try:
        with feeds_serve(collection, tmp_path / "server") as url:
            port = int(url.rsplit(":", 1)[1])
            for _ in range(SLOW_CLIENTS):
                client = socket.create_connection(("127.0.0.1", port), timeout=10)
                client.sendall(b"GET /feeds/korea.rss HTTP/1.1\r\nHost: feeds.test\r\n")
                held.append(client)
            started = time.monotonic()
            reply = get(url + "/feeds/korea.rss")
            assert reply.status == 200 and b"<rss" in reply.body
            assert time.monotonic() - started < 5, "a reader waited behind the slow clients"
            held[0].settimeout(HEADER_SECONDS + 20)  # bounded: a hang fails
            ended = held[0].recv(64)
            assert ended == b"" or ended.startswith(b"HTTP/1.1 408"), ended
    finally:
        for client in held:
            client.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
