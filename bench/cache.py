"""Real time through a cache: Varnish in front of `feeds serve`, purged by key, with a WebSub hub.

Varnish runs the README's VCL in front of `feeds serve` (``FEEDS_PURGE_URLS`` at Varnish,
``FEEDS_WEBSUB_HUBS`` at flask-websub's hub, the base URL at Varnish so the hub fetches
through it), on a generated collection. 64 connections poll a mix of topic feeds through
Varnish with conditional requests (``If-None-Match`` with the last ETag each saw for that
URL, gzip accepted) while one article a second lands in the collection for 30 s, each about
one of the polled topics. A subscriber subscribed through the hub to every polled topic's
RSS feed. Measured: the pollers' hit ratio (Varnish's ``X-Cache``), the share of all
requests to Varnish that reached feeds (``MAIN.backend_req`` / ``MAIN.client_req``), the
delay from a file landing (its rename into the collection) to its title in the topic's RSS
feed through Varnish (a separate probe per article, polling every 10 ms), and the delay to
its push reaching the subscriber; failed requests are errors and answers other than 200
and 304.

    python bench/cache.py [--count 10000] [--seconds 30] [--connections 64]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from folders import ROOT, WORK
from generate import PLACES, collection
from probe import HOST, free_port, get, wait_for_200
from processes import Server, feeds_command
from report import log, machine, table, tool_version, wait_until_quiet, write_section
from tools import installed

HUB = ROOT / "tests" / "websub_hub.py"
README = ROOT / "README.md"
TOPICS = 16  # polled topics: the most frequent places of the generated collection
FORMATS = ("rss", "atom", "json")
PROBE_SECONDS = 10.0  # an article not through the cache by then counts as missed
LEASE = 3600


def slug(place: str) -> str:
    return place.lower().replace(" ", "-")


@dataclass
class Tally:
    requests: int = 0
    hits: int = 0
    not_modified: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int | None, cache: str | None, error: str = "") -> None:
        with self.lock:
            self.requests += 1
            self.hits += cache == "HIT"
            self.not_modified += status == 304
            if status not in (200, 304):
                self.failed += 1
                if len(self.errors) < 5:
                    self.errors.append(error or f"status {status}")


def poll(port: int, paths: list[str], tally: Tally, stop: threading.Event, seed: int,
         pause: float) -> None:  # fmt: skip
    """One connection: conditional GETs of random feeds, ``pause`` apart, until ``stop``."""
    pick = random.Random(seed)
    etags: dict[str, str] = {}
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    while not stop.wait(pause):
        path = pick.choice(paths)
        headers = {"Accept-Encoding": "gzip"}
        if path in etags:
            headers["If-None-Match"] = etags[path]
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            tally.add(None, None, f"{type(exc).__name__}: {exc}")
            connection.close()
            connection = http.client.HTTPConnection(HOST, port, timeout=10)
            continue
        if response.status == 200 and response.getheader("ETag"):
            etags[path] = response.getheader("ETag")  # type: ignore[assignment]
        tally.add(response.status, response.getheader("X-Cache"))
    connection.close()


@dataclass
class Subscriber:
    url: str = ""
    verified: set[str] = field(default_factory=set)
    received: list[tuple[float, str, bytes]] = field(default_factory=list)


def start_subscriber() -> tuple[Subscriber, ThreadingHTTPServer]:
    found = Subscriber()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            found.verified.add(query["hub.topic"])
            self.reply(query["hub.challenge"].encode())

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
            self_link = re.search(r'<([^>]+)>; rel="self"', self.headers.get("Link", ""))
            found.received.append((time.monotonic(), self_link[1] if self_link else "", body))
            self.reply(b"")

        def reply(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    found.url = f"http://{HOST}:{server.server_address[1]}/callback"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return found, server


def subscribe(hub_port: int, subscriber: Subscriber, topic: str) -> None:
    form = {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": subscriber.url,
            "hub.lease_seconds": str(LEASE), "hub.secret": "bench"}  # fmt: skip
    connection = http.client.HTTPConnection(HOST, hub_port, timeout=30)
    connection.request("POST", "/hub", urlencode(form),
                       {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    status = connection.getresponse().status
    connection.close()
    if status != 202 or topic not in subscriber.verified:
        raise SystemExit(f"subscribing to {topic} failed: {status}")


def varnishstat(workdir: Path) -> dict[str, int]:
    done = subprocess.run(["varnishstat", "-n", str(workdir), "-1", "-j"], capture_output=True,
                          text=True, check=True, timeout=30)  # fmt: skip
    data = json.loads(done.stdout)
    counters = data.get("counters", data)
    names = ("client_req", "backend_req", "cache_hit", "cache_hit_grace", "cache_miss")
    return {name: int(counters[f"MAIN.{name}"]["value"]) for name in names}


def write_story(folder: Path, number: int, place: str, capital: str) -> tuple[str, float]:
    """An article about ``place``, moved into the collection whole; its title and landing time."""
    title = f"Bench story {number}: {capital} answers {place}"
    text = (f"---\ndate: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n---\n{title}\n\n"
            f"{place} made news in {capital} today.\nOfficials in {capital} said {place} would "
            f"answer.\n")  # fmt: skip
    name = f"{number:05d}_{0xBE0000000000 + number:016x}.txt"
    staging = folder / f".{name}"
    staging.write_text(text)
    os.rename(staging, folder / name)
    return title, time.monotonic()


def probe(port: int, path: str, title: str, landed: float, delays: list[float]) -> None:
    """Poll ``path`` through the cache until ``title`` is in it; the delay from landing."""
    deadline = landed + PROBE_SECONDS
    while time.monotonic() < deadline:
        try:
            if title.encode() in get(port, path, {"Accept-Encoding": "identity"}).body:
                delays.append(time.monotonic() - landed)
                return
        except OSError:
            pass
        time.sleep(0.01)


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(args: argparse.Namespace) -> None:
    varnishd = installed("varnishd", "varnish")
    work = WORK / "cache"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    source = collection(args.count)
    log(f"copying {source}")
    shutil.copytree(source, work / "collection")
    added = work / "collection" / "added"
    added.mkdir()

    app_port, cache_port, hub_port = free_port(), free_port(), free_port()
    cache_url = f"http://{HOST}:{cache_port}"
    vcl = re.search(r"```vcl\n(.*?)```", README.read_text(), re.DOTALL)[1]  # type: ignore[index]
    (work / "feeds.vcl").write_text(vcl.replace('.port = "8000"', f'.port = "{app_port}"'))
    env = {"FEEDS_PURGE_URLS": cache_url + "/", "FEEDS_GIT_DATES": "0",
           "FEEDS_WEBSUB_HUBS": f"http://{HOST}:{hub_port}/hub"}  # fmt: skip
    wait_until_quiet(60)
    servers = [
        Server([sys.executable, str(HUB), str(hub_port), str(work / "hub.db")],
               work / "hub.log"),
        Server([*feeds_command(), "serve", "--collection", str(work / "collection"),
                "--index", str(work / "index"), "--host", HOST, "--port", str(app_port),
                "--base-url", cache_url], work / "serve.log", env),
        Server([varnishd, "-F", "-a", f"{HOST}:{cache_port}", "-f", str(work / "feeds.vcl"),
                "-n", str(work / "varnish"), "-p", "http_gzip_support=off", "-s", "malloc,256m",
                *(["-j", "none"] if os.geteuid() == 0 else [])], work / "varnish.log"),
    ]  # fmt: skip
    try:
        run(args, servers, app_port, cache_port, hub_port, work, added)
    finally:
        for server in reversed(servers):
            server.stop()


def run(args: argparse.Namespace, servers: list[Server], app_port: int, cache_port: int,
        hub_port: int, work: Path, added: Path) -> None:  # fmt: skip
    deadline = time.monotonic() + 600
    for server, port in zip(servers, (hub_port, app_port, cache_port), strict=True):
        path = "/topics.json" if server is not servers[0] else "/hub"  # the hub: 405 to a GET
        while server.alive() and time.monotonic() < deadline:
            try:
                get(port, path)
                break
            except OSError:
                time.sleep(0.1)
        took, reason = (0.0, "") if server is servers[0] else wait_for_200(
            server, port, path, deadline)  # fmt: skip
        if not server.alive() or took is None:
            raise SystemExit(f"{server.log_path}: {reason}\n{server.log_text()[-2000:]}")
    places = PLACES[:TOPICS]
    paths = [f"/feeds/{slug(p)}.{ext}" for p, _ in places for ext in FORMATS]
    subscriber, callback = start_subscriber()
    for place, _ in places:
        subscribe(hub_port, subscriber, f"http://{HOST}:{cache_port}/feeds/{slug(place)}.rss")
    for path in paths:  # the cache starts warm, as it is after the first minutes of service
        for encoding in ("gzip", "identity"):
            get(cache_port, path, {"Accept-Encoding": encoding})

    tally, stop = Tally(), threading.Event()
    pollers = [threading.Thread(target=poll, args=(cache_port, paths, tally, stop, n, args.pause))
               for n in range(args.connections)]  # fmt: skip
    before = varnishstat(work / "varnish")
    for thread in pollers:
        thread.start()
    landed: list[tuple[str, str, float]] = []
    delays: list[float] = []
    probes = []
    started = time.monotonic()
    for number in range(args.seconds):
        time.sleep(max(0.0, started + number - time.monotonic()))
        place, capital = places[number % len(places)]
        title, at = write_story(added, number, place, capital)
        landed.append((title, slug(place), at))
        thread = threading.Thread(target=probe, args=(cache_port, f"/feeds/{slug(place)}.rss",
                                                      title, at, delays))  # fmt: skip
        thread.start()
        probes.append(thread)
    for thread in probes:
        thread.join()
    stop.set()
    for thread in pollers:
        thread.join()
    elapsed = time.monotonic() - started
    after = varnishstat(work / "varnish")
    push = push_delays(subscriber, landed, cache_port)
    callback.shutdown()
    report(args, tally, elapsed, before, after, delays, push, len(landed), servers[1])


def push_delays(subscriber: Subscriber, landed: list[tuple[str, str, float]],
                cache_port: int) -> list[float]:  # fmt: skip
    """For each article, the delay to the first push of its topic's RSS feed that holds it."""
    deadline = time.monotonic() + PROBE_SECONDS
    found: dict[str, float] = {}
    while len(found) < len(landed) and time.monotonic() < deadline:
        for title, topic, at in landed:
            url = f"http://{HOST}:{cache_port}/feeds/{topic}.rss"
            for received, self_url, body in list(subscriber.received):
                if title not in found and self_url == url and title.encode() in body:
                    found[title] = received - at
        time.sleep(0.1)
    return list(found.values())


def report(args: argparse.Namespace, tally: Tally, elapsed: float, before: dict[str, int],
           after: dict[str, int], delays: list[float], push: list[float], landed: int,
           feeds: Server) -> None:  # fmt: skip
    counted = {name: after[name] - before[name] for name in after}
    client, backend = counted["client_req"], counted["backend_req"]
    hits, misses = counted["cache_hit"], counted["cache_miss"]
    hit_ratio = tally.hits / max(1, tally.requests)
    rows = [
        ["polling requests (64 connections)" if args.connections == 64 else "polling requests",
         f"{tally.requests:,} ({tally.requests / elapsed:,.0f}/s)", ""],
        ["hit ratio (pollers, `X-Cache: HIT`)", f"{hit_ratio:.2%}", "≥ 99%"],
        ["of which 304 Not Modified", f"{tally.not_modified / max(1, tally.requests):.1%}", ""],
        ["hit ratio (Varnish, all clients: hits / (hits + misses))",
         f"{hits / max(1, hits + misses):.2%} ({misses:,} misses; "
         f"{counted['cache_hit_grace']:,} hits on a purged copy while it was fetched)", ""],
        ["share of requests reaching feeds (backend / client, all clients)",
         f"{backend / max(1, client):.2%} ({backend:,} of {client:,})", ""],
        ["article through the cache: median", f"{quantile(delays, 0.5) * 1000:.0f} ms", ""],
        ["article through the cache: p99", f"{quantile(delays, 0.99) * 1000:.0f} ms", "≤ 1 s"],
        ["articles seen through the cache", f"{len(delays)} of {landed}", ""],
        ["push to the subscriber: median", f"{quantile(push, 0.5) * 1000:.0f} ms", ""],
        ["push to the subscriber: largest", f"{max(push, default=float('nan')) * 1000:.0f} ms",
         "≤ 2 s"],
        ["articles pushed", f"{len(push)} of {landed}", ""],
        ["failed requests", f"{tally.failed}" + (f" ({'; '.join(tally.errors)})"
                                                  if tally.errors else ""), "0"],
    ]  # fmt: skip
    pacing = (f"each waiting {args.pause * 1000:g} ms between requests" if args.pause
              else "each sending its next request as soon as the last is answered")  # fmt: skip
    body = f"""
{args.count:,} generated articles; one more lands every second for {args.seconds} s, each
about one of the {TOPICS} polled topics (written beside the collection, then renamed into it).
Varnish runs the README's VCL (`-p http_gzip_support=off -s malloc,256m`) in front of
`feeds serve` (granian, shipped defaults but `FEEDS_PURGE_URLS` at Varnish and
`FEEDS_WEBSUB_HUBS` at the hub of flask-websub, whose tasks run in its requests; base URL
Varnish, so the hub fetches through it). {args.connections} Python threads, each one keep-alive
connection, poll the {TOPICS * len(FORMATS)} feeds ({TOPICS} topics × RSS, Atom, JSON) at
random with `If-None-Match` and `Accept-Encoding: gzip`, {pacing}; the cache starts warm.
One probe per new article polls its topic's RSS feed through Varnish every 10 ms for its
title; a subscriber subscribed through the hub to each topic's RSS feed. Everything, the
pollers included, shares the machine's cores: the delays include that contention.

{table(["Measure", "Result", "Target"], rows)}

{machine({"Varnish": tool_version("varnishd", "-V").replace("varnishd ", ""),
          "Server": "granian (feeds serve)"})}
"""  # fmt: skip
    print(body)
    if args.write:
        write_section("cache", "Real time through a cache", body)
    if feeds.log_text().count("Traceback"):
        log("feeds serve logged a traceback: see " + str(feeds.log_path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="articles in the collection")
    parser.add_argument("--seconds", type=int, default=30, help="one new article a second")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds each connection waits between requests")  # fmt: skip
    parser.add_argument("--no-write", dest="write", action="store_false",
                        help="print the results without writing bench/RESULTS.md")  # fmt: skip
    measure(parser.parse_args())


if __name__ == "__main__":
    main()
