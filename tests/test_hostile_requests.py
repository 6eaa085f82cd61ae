"""Hostile requests: always a correct 4xx or a normal answer, never a 5xx, a trace or a path."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from servers import feeds_serve, get

from conftest import BASE_URL
from feeds.server import SERVERS

# (method, path, headers) -> statuses allowed
CASES = [
    ("GET", "/feeds/../../etc/passwd", {}, {404}),
    ("GET", "/feeds/..%2f..%2fetc%2fpasswd.rss", {}, {404}),
    ("GET", "/feeds/%2e%2e/%2e%2e/etc/passwd.rss", {}, {404}),
    ("GET", "/feeds/....//....//etc/passwd.rss", {}, {404}),
    ("GET", "/feeds/..\\..\\etc\\passwd.rss", {}, {404}),
    ("GET", "/feeds/%252e%252e%252fetc.rss", {}, {404}),
    ("GET", "/articles/..%2f..%2fseeds", {}, {404}),
    ("GET", "/topics/%00", {}, {404}),
    ("GET", "/feeds/%00.rss", {}, {404}),
    ("GET", "/feeds/k%C3%B6rea.rss", {}, {404}),
    ("GET", "/feeds/%F0%9F%92%A3.rss", {}, {404}),
    ("GET", "/feeds/%ff%fe.rss", {}, {404}),
    ("GET", "/feeds/" + "a" * 5000 + ".rss", {}, {404}),
    ("GET", "/feeds/" + "+".join(["korea"] * 500) + ".rss", {}, {301}),
    ("GET", "/feeds/korea+.rss", {}, {404}),
    ("GET", "/feeds/~korea.rss", {}, {404}),
    ("GET", "/feeds/korea+japan,china.rss", {}, {404}),
    ("GET", "/feeds/korea.rss?limit=" + "9" * 400, {}, {400}),
    ("GET", "/feeds/korea.rss?limit=-1", {}, {400}),
    ("GET", "/feeds/korea.rss?limit=1e3", {}, {400}),
    ("GET", "/feeds/korea.rss?limit=%C2%B2", {}, {400}),
    ("GET", "/feeds/korea.rss?limit=", {}, {400}),
    ("GET", "/feeds/korea.rss?limit=5&limit=6", {}, {301}),
    ("GET", "/feeds/korea.rss?q=" + "x" * 10240, {}, {414}),
    ("GET", "/feeds/korea.rss?q=" + "x" * 7000, {}, {301}),
    ("GET", "/feeds/korea.rss?q=" + "(a+)+$" * 100, {}, {301}),
    ("GET", "/feeds/korea.rss?q=%28a%2B%29%2B%24", {}, {200}),
    ("GET", "/feeds/korea.rss?q=%00%ff", {}, {200, 301}),
    ("GET", "/?q=" + "a" * 10240, {}, {414}),
    ("GET", "/?q=" + "a" * 7000, {}, {200}),
    ("GET", "/feeds/korea.rss?" + "&".join(f"p{i}={i}" for i in range(500)), {}, {301}),
    ("GET", "/feeds.opml?format=%00", {}, {400}),
    ("GET", "/feeds/korea/archive/99999999999999999999.rss", {}, {404}),
    ("GET", "/feeds/korea/archive/-1.rss", {}, {404}),
    ("GET", "/feeds/korea.rss", {"If-None-Match": '"' * 300}, {200}),
    ("GET", "/feeds/korea.rss", {"If-None-Match": "W/"}, {200}),
    ("GET", "/feeds/korea.rss", {"If-None-Match": "*"}, {304}),
    ("GET", "/feeds/korea.rss", {"If-Modified-Since": "yesterday"}, {200}),
    ("GET", "/feeds/korea.rss", {"If-Modified-Since": "Mon, 99 Foo 99999 99:99:99 GMT"}, {200}),
    ("GET", "/feeds/korea.rss", {"Range": "bytes=0-10"}, {200}),
    ("GET", "/feeds/korea.rss", {"Range": "bytes=--,,;;"}, {200}),
    ("GET", "/feeds/korea.rss", {"Accept-Encoding": "gzip;q=nan, *;q=-1"}, {200}),
    ("GET", "/feeds/korea.rss", {"Host": "evil.example"}, {200}),
    ("GET", "/feeds/korea.rss", {"Host": "a" * 2000}, {200, 400}),
    ("POST", "/feeds/korea.rss", {}, {405}),
    ("PUT", "/", {}, {405}),
    ("DELETE", "/articles/73bcabc292162f38", {}, {405}),
    ("PATCH", "/feeds.opml", {}, {405}),
    ("OPTIONS", "/feeds/korea.rss", {}, {200}),
    ("TRACE", "/", {}, {405}),
]


@pytest.mark.parametrize(("method", "path", "headers", "allowed"), CASES, ids=lambda v: str(v)[:60])
def test_hostile_request(client, method: str, path: str, headers: dict, allowed: set) -> None:
    response = client.open(path, method=method, headers=headers)
    assert response.status_code in allowed, response.get_data(as_text=True)[:200]
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "/work/" not in body and str(Path.cwd()) not in body
    assert "root:" not in body
    if response.status_code == 405:
        assert "GET" in response.headers["Allow"]
    if response.status_code in (301, 302):
        assert response.headers["Location"].startswith(BASE_URL + "/")
    if "Host" in headers:
        assert headers["Host"] not in body


def raw_request(port: int, data: bytes) -> bytes:
    """Send raw bytes; return the start of the answer (the server may keep the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        return sock.recv(65536)


@pytest.mark.parametrize("server", SERVERS)
def test_oversized_and_malformed_requests_on_the_real_server(collection, tmp_path, server) -> None:
    long_line = b"GET /feeds/" + b"a" * 20000 + b".rss HTTP/1.1\r\nHost: x\r\n\r\n"
    many = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(500))
    huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"z" * 20000 + b"\r\n\r\n"
    garbage = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256))
    with feeds_serve(collection, tmp_path / "server", server=server) as url:
        port = int(url.rsplit(":", 1)[1])
        for request in (long_line, many + b"\r\n", huge, garbage):
            answer = raw_request(port, request)
            status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 400
            assert status < 500, answer[:100]  # a 4xx, or a normal answer
            assert b"Traceback" not in answer
        assert get(url + "/feeds/all.rss").body.startswith(b"<?xml")
