"""WebSub end to end: `feeds serve` pings a real hub (flask-websub's), which pushes to a subscriber.

The subscriber subscribes through the hub with a lease and a secret, checks each delivery's
``X-Hub-Signature``, and must hear of the feeds whose bytes changed and of no other. Beside the
real hub, one that refuses pings and one that never answers must cost the others nothing.
"""

from __future__ import annotations

import hmac
import http.client
import re
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import feedparser
import pytest
from servers import feeds_serve, free_port, get, running

from conftest import DATA, write_article

pytest.importorskip("flask_websub", reason="flask-websub is missing: pip install -e '.[test]'")

HUB = Path(__file__).parent / "websub_hub.py"
SECRET = "a secret shared by the subscriber and the hub"
LEASE = 600
DEADLINE = 20.0


@dataclass
class Delivery:
    topic: str
    body: bytes
    signature: str
    received: float


@dataclass
class Subscriber:
    """A WebSub subscriber: answers the hub's verification, records each content delivery."""

    url: str
    verified: dict[str, dict[str, str]] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)

    def to(self, topic: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.topic == topic]


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    with listening() as found:
        yield found


@contextmanager
def listening() -> Iterator[Subscriber]:
    """A subscriber on a free port of 127.0.0.1."""
    port = free_port()
    found = Subscriber(f"http://127.0.0.1:{port}/callback")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the hub verifies intent (WebSub 5.3)
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            found.verified[query["hub.topic"]] = query
            self.answer(200, query["hub.challenge"].encode())

        def do_POST(self) -> None:  # content distribution (WebSub 7)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            links = self.headers.get("Link", "")
            topic = next(part.split(">")[0].strip(" <") for part in links.split(",")
                         if 'rel="self"' in part)  # fmt: skip
            signature = self.headers.get("X-Hub-Signature", "")
            found.deliveries.append(Delivery(topic, body, signature, time.monotonic()))
            self.answer(200, b"")

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield found
    server.shutdown()
    server.server_close()


@contextmanager
def hub(folder: Path, *options: str) -> Iterator[str]:
    """flask-websub's hub on a free port; yields its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [sys.executable, str(HUB), str(port), str(folder / "hub.db"), *options]
    with running(command, [folder / "hub.log"], f"http://127.0.0.1:{port}/", "websub hub"):
        yield f"http://127.0.0.1:{port}/hub"


@pytest.fixture
def real_hub(tmp_path: Path) -> Iterator[str]:
    with hub(tmp_path / "hub") as url:
        yield url


@pytest.fixture
def refusing_hub(tmp_path: Path) -> Iterator[str]:
    with hub(tmp_path / "refusing", "--refuse") as url:
        yield url


@pytest.fixture
def silent_hub() -> Iterator[str]:
    """Takes connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hub"


def subscribe(hub_url: str, subscriber: Subscriber, topic: str) -> None:
    """Subscribe through the hub with a lease and a secret (WebSub 5.1)."""
    form = {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": subscriber.url,
            "hub.lease_seconds": str(LEASE), "hub.secret": SECRET}  # fmt: skip
    host, _, path = hub_url.removeprefix("http://").partition("/")
    connection = http.client.HTTPConnection(host, timeout=DEADLINE)
    connection.request("POST", "/" + path, urlencode(form),
                       {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert connection.getresponse().status == 202
    connection.close()
    wait_for(lambda: topic in subscriber.verified, f"the hub verified the subscription to {topic}")
    assert subscriber.verified[topic]["hub.mode"] == "subscribe"
    assert subscriber.verified[topic]["hub.lease_seconds"] == str(LEASE)


def wait_for(condition, what: str, seconds: float = DEADLINE) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.05)


def signed(delivery: Delivery) -> bool:
    """Whether the delivery carries the HMAC of its body under the shared secret (WebSub 7.1)."""
    method, _, digest = delivery.signature.partition("=")
    if method not in ("sha1", "sha256", "sha384", "sha512"):
        return False
    expected = hmac.new(SECRET.encode(), delivery.body, method).hexdigest()
    return hmac.compare_digest(expected, digest)


def pings_done(log: Path, changes: int) -> bool:
    """Whether feeds logged ``changes`` changes and an answer to each of their pings."""
    text = log.read_text()
    told = [int(n) for n in re.findall(r"telling 1 hubs of (\d+) changed feeds", text)]
    return len(told) == changes and len(re.findall(r": ping for \S+ done", text)) == sum(told)


def titles(body: bytes) -> list[str]:
    return [entry.title for entry in feedparser.parse(body).entries]


def korea_story(collection: Path) -> str:
    title = "Seoul and Pyongyang reopen their hotline"
    write_article(collection, "korea/hotline.txt", title,
                  "North Korea and South Korea reopened the hotline.",
                  "Officials in Seoul said so.", date="2025-05-01T00:00:00Z")  # fmt: skip
    return title


def japan_russia_story(collection: Path) -> str:
    title = "Tokyo and Moscow sign a fishing accord"
    write_article(collection, "asia/fishing.txt", title,
                  "Japan and Russia signed a fishing accord in Tokyo.",
                  "Japanese and Russian officials met in Tokyo; Moscow welcomed the deal.",
                  date="2025-05-02T00:00:00Z")  # fmt: skip
    return title


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    target = tmp_path / "collection"
    shutil.copytree(DATA / "collection", target)
    return target


@pytest.mark.parametrize("workers", ["1", "2"])
def test_subscribers_hear_of_changed_feeds_and_of_no_other(
    tmp_path: Path, collection: Path, real_hub: str, subscriber: Subscriber, workers: str
) -> None:
    # With two workers, each follows the collection on its own and one of them pings.
    with feeds_serve(collection, tmp_path / "serve", websub_hubs=real_hub,
                     reload_interval="0.2", workers=workers) as site:  # fmt: skip
        korea, japan, russia = (f"{site}/feeds/{s}.rss" for s in ("korea", "japan", "russia"))
        reply = get(korea)
        assert reply.header("Link") == f'<{real_hub}>; rel="hub", <{korea}>; rel="self"'
        assert f'<atom:link href="{real_hub}" rel="hub"/>'.encode() in reply.body
        for topic in (korea, japan, russia):
            subscribe(real_hub, subscriber, topic)

        # A Korea story: the Korea feed is pushed, signed, with the story in it.
        added = time.monotonic()
        title = korea_story(collection)
        wait_for(lambda: subscriber.to(korea), "the Korea feed pushed")
        [delivery] = subscriber.to(korea)
        assert signed(delivery)
        assert title in titles(delivery.body)
        assert delivery.received - added < DEADLINE

        # A Japan and Russia story: pushed for those two. The hub distributes before it
        # answers a ping, so once feeds logged every ping done, every push has come.
        second = japan_russia_story(collection)
        wait_for(lambda: subscriber.to(japan) and subscriber.to(russia), "Japan and Russia")
        wait_for(lambda: pings_done(tmp_path / "serve" / "serve.log", changes=2),
                 "every ping of both changes answered")  # fmt: skip
        assert [titles(d.body)[0] for d in subscriber.to(japan)] == [second]
        assert [second in titles(d.body) for d in subscriber.to(russia)] == [True]
        assert all(signed(d) for d in subscriber.deliveries)
    assert len(subscriber.to(korea)) == 1, "the Korea feed did not change the second time"


def test_a_refusing_and_a_silent_hub_cost_the_real_one_nothing(
    tmp_path: Path, collection: Path, real_hub: str, refusing_hub: str, silent_hub: str,
    subscriber: Subscriber,
) -> None:  # fmt: skip
    hubs = f"{refusing_hub} {silent_hub} {real_hub}"
    log = tmp_path / "serve" / "serve.log"
    with feeds_serve(collection, tmp_path / "serve", websub_hubs=hubs,
                     reload_interval="0.2") as site:  # fmt: skip
        korea = f"{site}/feeds/korea.rss"
        assert (get(korea).header("Link") or "").count('rel="hub"') == 3
        subscribe(real_hub, subscriber, korea)
        title = korea_story(collection)
        wait_for(lambda: subscriber.to(korea), "the Korea feed pushed by the real hub")
        assert title in titles(subscriber.to(korea)[0].body)
        # Requests are answered meanwhile, from the new snapshot.
        assert title.encode() in get(korea).body
        wait_for(lambda: f"hub {refusing_hub} refused" in log.read_text(), "the refusal logged")
        wait_for(lambda: f"hub {silent_hub}: ping" in log.read_text()
                 and "no answer within" in log.read_text(), "the silence logged")  # fmt: skip
