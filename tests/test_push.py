"""Pings and purges: what a change sends, to whom, and what broken or hostile endpoints cost."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import feedparser
import jsonschema
import pytest
from servers import free_port
from test_jsonfeed import SCHEMA

from conftest import BASE_URL, MARKETS, app_settings, write_article
from feeds import create_app, push
from feeds.changes import Change, batches, changed_feeds, surrogate_keys
from feeds.compose import document
from feeds.push import Failed, Outgoing, Refused, exchange, publish

DEADLINE = 10.0


@contextmanager
def endpoint(answer: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[tuple[str, list]]:
    """An HTTP server on 127.0.0.1 that records each request and answers with ``answer``."""
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def handle_one_request(self) -> None:
            with contextlib.suppress(OSError):  # the client hung up, as deadlines make it
                super().handle_one_request()

        def do_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append((self.command, self.path, dict(self.headers.items()), body))
            answer(self)

        do_POST = do_PURGE = do_GET = do_any

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hub", seen
    finally:
        server.shutdown()
        server.server_close()


def status(code: int, **headers: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(code)
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def huge_body(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(1 << 34))
    handler.end_headers()
    chunk = b"x" * 65536
    for _ in range(1 << 18):  # 16 GiB if the client read it all: it must stop long before
        handler.wfile.write(chunk)


def slow_drip(handler: BaseHTTPRequestHandler) -> None:
    for byte in b"HTTP/1.1 202 Accepted\r\nX-Drip: " + b"y" * 1000:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.05)


def never(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(DEADLINE)


def redirect_loop(handler: BaseHTTPRequestHandler) -> None:
    status(302, Location=handler.path)(handler)


def ping(url: str) -> Outgoing:
    return publish(url, "http://feeds.test/feeds/korea.rss")


def test_a_ping_is_a_websub_publish_request() -> None:
    with endpoint(status(202)) as (url, seen):
        assert exchange(ping(url)).status == 202
    [(method, _, headers, body)] = seen
    assert method == "POST"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(body.decode())
    assert form["hub.mode"] == ["publish"]
    assert form["hub.topic"] == form["hub.url"] == ["http://feeds.test/feeds/korea.rss"]


@pytest.mark.parametrize(
    ("answer", "error", "reason"),
    [
        (status(400), Refused, "answered 400"),
        (status(403), Refused, "answered 403"),
        (status(503), Failed, "answered 503"),
        (status(429), Failed, "answered 429"),
        (redirect_loop, Refused, "redirects are not followed"),
    ],
    ids=["bad-request", "forbidden", "unavailable", "too-many", "redirect-loop"],
)  # fmt: skip
def test_answers_that_are_not_success(answer, error: type[Exception], reason: str) -> None:  # type: ignore[no-untyped-def]
    with endpoint(answer) as (url, seen), pytest.raises(error, match=reason):
        exchange(ping(url))
    assert len(seen) == 1  # a redirect is never followed: one request, to the configured URL


@pytest.mark.parametrize(
    ("answer", "expected"),
    [(huge_body, "ok"), (slow_drip, "no answer within 1 s"), (never, "no answer within 1 s")],
    ids=["huge-body", "slow-drip", "never-answers"],
)
def test_a_hostile_endpoint_costs_bounded_time(answer, expected: str) -> None:  # type: ignore[no-untyped-def]
    with endpoint(answer) as (url, _):
        started = time.monotonic()
        try:
            exchange(ping(url), timeout=1.0)
            outcome = "ok"
        except Failed as exc:
            outcome = str(exc)
        took = time.monotonic() - started
    assert outcome == expected
    assert took < 3.0, f"took {took:.1f} s"


def test_a_peer_that_never_answers_is_late_even_when_the_deadline_timer_runs_late(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a busy machine the socket's own timeout can come before the deadline's timer runs.
    monkeypatch.setattr(push, "_cut", lambda connection, cut: None)
    with endpoint(never) as (url, _), pytest.raises(Failed, match="no answer within 1 s"):
        exchange(ping(url), timeout=1.0)


def test_a_refused_connection_is_a_failure_worth_retrying() -> None:
    with pytest.raises(Failed):  # a free port: nothing listens there
        exchange(ping(f"http://127.0.0.1:{free_port()}/"))


def test_only_http_urls_are_used() -> None:
    with pytest.raises(Refused, match="not an http"):
        exchange(ping("file:///etc/passwd"))


def test_failures_are_retried_with_backoff_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(push, "BACKOFF", 0.05)
    answers = iter([status(503), status(503), status(202)])
    with endpoint(lambda handler: next(answers)(handler)) as (url, seen):
        hub = push.Endpoint(url, "hub", timeout=2.0)
        hub.put(ping(url))
        wait_for(lambda: len(seen) == 3 and hub.idle(), "three attempts")
        hub.close()
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(failures) == 2 and all("answered 503" in f for f in failures), failures


def test_a_retry_waits_as_long_as_the_hub_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(push, "BACKOFF", 0.01)
    answers = iter([status(503, Retry_After="1"), status(202)])
    times: list[float] = []

    def answer(handler: BaseHTTPRequestHandler) -> None:
        times.append(time.monotonic())
        next(answers)(handler)

    with endpoint(answer) as (url, seen):
        hub = push.Endpoint(url, "hub", timeout=2.0)
        hub.put(ping(url))
        wait_for(lambda: len(seen) == 2 and hub.idle(), "the second attempt")
        hub.close()
    assert times[1] - times[0] >= 1.0  # not the 0.01 s backoff


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), ("86400", 300.0), ("soon", 0.0), ("", 0.0),
     ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)  # fmt: skip
def test_retry_after_is_read_and_bounded(header: str, seconds: float) -> None:
    assert push._retry_after(header) == seconds


def test_a_hub_that_never_recovers_is_given_up_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(push, "BACKOFF", 0.01)
    with endpoint(status(500)) as (url, seen):
        hub = push.Endpoint(url, "hub", timeout=2.0)
        hub.put(ping(url))
        wait_for(lambda: len(seen) == push.ATTEMPTS and hub.idle(), "every attempt")
        hub.close()
    assert any("gave up after 5 attempts" in r.getMessage() for r in caplog.records)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = DEADLINE) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.02)


# What a change sends -------------------------------------------------------------------


def seoul_story(collection: Path, name: str = "seoul.txt") -> Path:
    return write_article(collection, name, "Seoul hosts summit", "South Korea hosted a summit.",
                         "Officials from Seoul met.", date="2025-04-01T00:00:00Z")  # fmt: skip


def feed_urls(*selections: str) -> set[str]:
    return {f"{BASE_URL}/feeds/{s}.{ext}" for s in selections for ext in ("rss", "atom", "json")}


def test_a_new_article_changes_exactly_its_topics_feeds_and_all(app, client, collection) -> None:  # type: ignore[no-untyped-def]
    live = app.extensions["feeds"]
    # Readers asked for two combinations: one holding Korea, one not.
    assert client.get("/feeds/korea+russia.rss").status_code == 200
    assert client.get("/feeds/japan,russia.atom").status_code == 200
    before = live.snapshot
    seoul_story(collection)
    assert live.refresh() is True
    change = Change.between(before, live.snapshot)
    article = next(a for a in live.snapshot.articles if a.title == "Seoul hosts summit")
    assert change.keys == {"all", "@" + article.id, *article.topics}
    changed = set(changed_feeds(change))
    # korea+russia has no article in both: its bytes did not change.
    assert changed == feed_urls("all", *article.topics)
    assert not changed & feed_urls("japan", "russia", "korea+russia", "japan,russia")
    # Each named feed really differs, every other one really does not.
    for url in feed_urls("all", "korea", "japan", "russia", "korea+russia"):
        path = url.removeprefix(BASE_URL)
        old = document(before, _request(before, path)).body
        new = document(live.snapshot, _request(live.snapshot, path)).body
        assert (old != new) == (url in changed), url


def test_a_combination_readers_asked_for_is_named_when_it_changes(app, client, collection) -> None:  # type: ignore[no-untyped-def]
    live = app.extensions["feeds"]
    assert client.get("/feeds/korea~north-korea.json").status_code == 200
    before = live.snapshot
    seoul_story(collection)
    live.refresh()
    changed = set(changed_feeds(Change.between(before, live.snapshot)))
    assert feed_urls("korea~north-korea") <= changed
    assert not feed_urls("korea,russia") & changed  # nobody asked for it


def test_a_new_archive_page_alone_changes_the_feeds_that_link_it(make_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An article older than the archive opens a page: the RSS and Atom feeds link it, the JSON
    Feed (whose next_url may only name a JSON Feed) does not, and its bytes stay."""
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "topics.toml").write_text(MARKETS)
    for n in range(39):  # one archive page and the feed
        when = (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n)).isoformat()
        write_article(folder, f"a{n:02d}_{n:016x}.txt", f"Market report {n}",
                      f"The market moved on day {n}.", date=when)  # fmt: skip
    app = make_app(app_settings(folder, tmp_path / "i"))
    live = app.extensions["feeds"]
    before = live.snapshot
    write_article(folder, "old_00000000000000ff.txt", "Market report of old",
                  "The market moved long ago.", date="2023-01-01T00:00:00Z")  # fmt: skip
    assert live.refresh() is True
    changed = set(changed_feeds(Change.between(before, live.snapshot)))
    assert {url for url in changed if "/markets." in url} == {
        f"{BASE_URL}/feeds/markets.rss", f"{BASE_URL}/feeds/markets.atom"}  # fmt: skip
    for ext in ("rss", "atom", "json"):
        path = f"/feeds/markets.{ext}"
        old = document(before, _request(before, path)).body
        new = document(live.snapshot, _request(live.snapshot, path)).body
        assert (old != new) == (BASE_URL + path in changed), path


def _request(snap, path: str):  # type: ignore[no-untyped-def]
    from feeds.compose import FeedRequest
    from feeds.urls import parse_selection

    name, _, ext = path.removeprefix("/feeds/").rpartition(".")
    return FeedRequest(parse_selection(name), ext, snap.config.feed_items)


def test_responses_carry_their_keys(client) -> None:  # type: ignore[no-untyped-def]
    cases = {
        "/feeds/korea.rss": "feeds korea",
        "/feeds/korea+russia.atom": "feeds korea russia",
        "/feeds/all.json": "feeds all",
        "/feeds/korea.rss?q=missile": "feeds all",
        "/": "feeds all",
        "/topics/japan": "feeds japan",
        "/articles/73bcabc292162f38": "feeds @73bcabc292162f38",
        "/topics.json": "feeds all",
    }
    for path, keys in cases.items():
        response = client.get(path)
        assert response.headers["xkey"] == response.headers["Surrogate-Key"] == keys, path
        again = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304


def test_keys_are_batched_under_a_header_limit() -> None:
    keys = {f"@{n:016x}" for n in range(1000)}
    found = batches(keys, limit=500)
    assert all(len(b) <= 500 for b in found)
    assert {k for b in found for k in b.split()} == keys
    assert surrogate_keys(None) == "feeds all"


# Discovery -------------------------------------------------------------------------------

HUBS = "https://hub.example/ https://other-hub.example/websub"


@pytest.mark.parametrize("path", ["/feeds/korea.rss", "/feeds/korea+russia.atom",
                                  "/feeds/all.json", "/feeds/korea.rss?limit=5"])  # fmt: skip
def test_every_feed_advertises_the_hubs_and_itself(settings, path: str) -> None:  # type: ignore[no-untyped-def]
    app = create_app({**settings, "websub_hubs": HUBS}, watch=False)
    try:
        response = app.test_client().get(path)
    finally:
        app.extensions["feeds"].close()
    self_url = BASE_URL + path
    hubs = HUBS.split()
    links = [f'<{hub}>; rel="hub"' for hub in hubs] + [f'<{self_url}>; rel="self"']
    assert response.headers["Link"] == ", ".join(links)
    if path.endswith(".json"):
        document = response.get_json(force=True)
        jsonschema.validate(document, SCHEMA)
        assert document["hubs"] == [{"type": "WebSub", "url": hub} for hub in hubs]
        assert document["feed_url"] == self_url
        return
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo
    assert [link.href for link in parsed.feed.links if link.rel == "hub"] == hubs
    assert [link.href for link in parsed.feed.links if link.rel == "self"] == [self_url]


def test_no_hubs_no_links(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/feeds/korea.rss")
    assert "Link" not in response.headers
    assert b'rel="hub"' not in response.data
    assert "hubs" not in client.get("/feeds/korea.json").get_json(force=True)
    assert response.headers["Cache-Control"] == "public, max-age=300"


# The whole background path -------------------------------------------------------------


@pytest.fixture
def pushing(settings, tmp_path: Path) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    apps = []

    def make(**more: object) -> object:
        app = create_app({**settings, **more}, watch=False)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["feeds-push"].close()
        app.extensions["feeds"].close()


def test_a_change_purges_its_keys_then_pings_its_feeds(pushing, collection) -> None:  # type: ignore[no-untyped-def]
    with endpoint(status(200)) as (cache, purges), endpoint(status(202)) as (hub, pings):
        app = pushing(websub_hubs=hub, purge_urls=cache)
        live = app.extensions["feeds"]
        seoul_story(collection)
        live.refresh()
        assert app.extensions["feeds-push"].flush(DEADLINE)
    article = next(a for a in live.snapshot.articles if a.title == "Seoul hosts summit")
    [(method, path, headers, _)] = purges
    assert (method, path) == ("PURGE", "/hub")
    assert set(headers["xkey-softpurge"].split()) == {"all", "@" + article.id, *article.topics}
    assert headers["Surrogate-Key"] == headers["xkey-softpurge"]
    topics = [parse_qs(body.decode())["hub.topic"][0] for _, _, _, body in pings]
    assert sorted(topics) == sorted(feed_urls("all", *article.topics))


def test_no_settings_no_requests(app) -> None:  # type: ignore[no-untyped-def]
    assert "feeds-push" not in app.extensions


def test_a_hub_that_never_answers_delays_neither_snapshots_nor_purges(
    pushing, collection, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(push, "TIMEOUT", 0.5)
    monkeypatch.setattr(push, "ATTEMPTS", 2)
    monkeypatch.setattr(push, "BACKOFF", 0.1)
    with endpoint(never) as (hub, pings), endpoint(status(200)) as (cache, purges):
        app = pushing(websub_hubs=hub, purge_urls=cache)
        live = app.extensions["feeds"]
        started = time.monotonic()
        seoul_story(collection)
        live.refresh()
        seoul_story(collection, "seoul-2.txt")
        live.refresh()
        assert time.monotonic() - started < 1.0  # the snapshots went in at once
        ids = {"@" + a.id for a in live.snapshot.articles if a.title == "Seoul hosts summit"}
        purged = lambda: {k for *_, h, _ in purges for k in h["xkey-softpurge"].split()}  # noqa: E731
        wait_for(lambda: ids <= purged(), "both articles purged", 3.0)  # while the hub hangs
        assert app.extensions["feeds-push"].flush(60)
    assert any("no answer within 0.5 s" in r.getMessage() for r in caplog.records)
    assert any("gave up after 2 attempts" in r.getMessage() for r in caplog.records)


def test_a_refusing_hub_is_logged_and_not_retried(
    pushing, collection, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    with endpoint(status(400)) as (hub, pings):
        app = pushing(websub_hubs=hub)
        seoul_story(collection)
        live = app.extensions["feeds"]
        live.refresh()
        assert app.extensions["feeds-push"].flush(DEADLINE)
    article = next(a for a in live.snapshot.articles if a.title == "Seoul hosts summit")
    assert len(pings) == len(feed_urls("all", *article.topics))  # one each, and no retry
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert refusals and all(r.levelno == logging.ERROR for r in refusals)


def test_one_worker_of_several_pings(pushing, collection, settings) -> None:  # type: ignore[no-untyped-def]
    with endpoint(status(202)) as (hub, pings):
        first, second = pushing(websub_hubs=hub), pushing(websub_hubs=hub)
        seoul_story(collection)
        for app in (first, second):
            app.extensions["feeds"].refresh()
        for app in (first, second):
            assert app.extensions["feeds-push"].flush(DEADLINE)
        topics = [parse_qs(body.decode())["hub.topic"][0] for _, _, _, body in pings]
    assert len(topics) == len(set(topics)) > 0


def test_a_combination_asked_of_another_worker_is_pinged(pushing, collection) -> None:  # type: ignore[no-untyped-def]
    with endpoint(status(202)) as (hub, pings):
        pinging, other = pushing(websub_hubs=hub), pushing(websub_hubs=hub)
        seoul_story(collection)  # the first worker to send a change pings from then on
        for app in (pinging, other):
            app.extensions["feeds"].refresh()
            assert app.extensions["feeds-push"].flush(DEADLINE)
        first = len(pings)
        assert other.test_client().get("/feeds/korea~north-korea.rss").status_code == 200
        seoul_story(collection, "seoul-2.txt")
        for app in (pinging, other):
            app.extensions["feeds"].refresh()
            assert app.extensions["feeds-push"].flush(DEADLINE)
        topics = [parse_qs(body.decode())["hub.topic"][0] for _, _, _, body in pings[first:]]
    assert feed_urls("korea~north-korea") <= set(topics)
    assert len(topics) == len(set(topics))  # still one worker's pings


# The static export -----------------------------------------------------------------------


def test_build_ping_names_the_feeds_this_build_changed(runner, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from feeds.cli import main

    out = tmp_path / "site"
    options = ["--collection", str(settings["collection"]), "--index", str(settings["index"]),
               "--out", str(out), "--base-url", BASE_URL, "--jobs", "1"]  # fmt: skip

    def feeds() -> dict[str, bytes]:
        return {BASE_URL + "/feeds/" + p.name: p.read_bytes()
                for p in (out / "feeds").glob("*.*") if p.suffix != ".gz"}  # fmt: skip

    with endpoint(status(202)) as (hub, pings):
        env = {"FEEDS_WEBSUB_HUBS": hub, "FEEDS_GIT_DATES": "0"}
        first = runner.invoke(main, ["build", *options, "--ping"], env=env)
        assert first.exit_code == 0, first.output
        assert "told 1 hub of 0 changed feeds" in first.output  # every file is new
        assert f'<atom:link href="{hub}" rel="hub"/>' in (out / "feeds/korea.rss").read_text()
        before = feeds()
        write_article(Path(str(settings["collection"])), "new_00000000000000f2.txt",
                      "Tokyo shares close higher", "Japanese shares rose in Tokyo.",
                      date="2025-06-01T00:00:00Z")  # fmt: skip
        second = runner.invoke(main, ["build", *options, "--ping"], env=env)
        assert second.exit_code == 0, second.output
    after = feeds()
    changed = {url for url, body in after.items() if url in before and before[url] != body}
    topics = [parse_qs(body.decode())["hub.topic"][0] for *_, body in pings]
    assert BASE_URL + "/feeds/japan.atom" in changed
    assert BASE_URL + "/feeds/korea.rss" not in changed
    assert sorted(topics) == sorted(changed)
    assert f"told 1 hub of {len(changed)} changed feeds" in second.output


def test_build_ping_needs_hubs(runner, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from feeds.cli import main

    options = ["--collection", str(settings["collection"]), "--index", str(settings["index"]),
               "--out", str(tmp_path / "site")]  # fmt: skip
    result = runner.invoke(main, ["build", *options, "--ping"], env={"FEEDS_WEBSUB_HUBS": ""})
    assert result.exit_code != 0 and "FEEDS_WEBSUB_HUBS" in result.output
    assert not (tmp_path / "site").exists()


def test_a_start_that_could_not_resume_purges_everything(settings) -> None:  # type: ignore[no-untyped-def]
    with endpoint(status(200)) as (cache, purges):
        app = create_app({**settings, "purge_urls": cache, "reload_interval": 5}, watch=True)
        try:
            assert app.extensions["feeds-push"].flush(DEADLINE)
        finally:
            app.extensions["feeds-push"].close()
            app.extensions["feeds"].close()
        # A restart resumes the snapshot it left and purges only what changed meanwhile.
        again = create_app({**settings, "purge_urls": cache, "reload_interval": 5}, watch=True)
        try:
            assert again.extensions["feeds"].resumed
            assert again.extensions["feeds-push"].flush(DEADLINE)
        finally:
            again.extensions["feeds-push"].close()
            again.extensions["feeds"].close()
    assert [headers["xkey-softpurge"] for _, _, headers, _ in purges] == ["feeds"]


def test_an_edit_of_the_text_alone_is_named_and_a_rename_is_not(
    app, client, collection: Path
) -> None:  # type: ignore[no-untyped-def]
    live = app.extensions["feeds"]
    before = {path: client.get(path).data for path in ("/feeds/japan.rss", "/feeds/all.atom")}
    snap = live.snapshot
    path = collection / "002_c0ffee0000000002.txt"
    # The text only: the front matter dates it, so only the text of its item changes.
    path.write_text(path.read_text().replace("closed up 2.1%", "closed up 2.3%"))
    assert live.refresh() is True
    changed = set(changed_feeds(Change.between(snap, live.snapshot)))
    for url, old in before.items():
        assert (client.get(url).data != old) == (BASE_URL + url in changed), url
    assert BASE_URL + "/feeds/japan.json" in changed
    # Renamed, not edited: the same bytes everywhere, so no feed is named.
    snap = live.snapshot
    path.rename(collection / "renamed_c0ffee0000000002.txt")
    assert live.refresh() is True
    assert changed_feeds(Change.between(snap, live.snapshot)) == {}


def test_new_topics_purge_everything_and_name_the_feeds_they_change(  # type: ignore[no-untyped-def]
    app, client, collection
) -> None:
    live = app.extensions["feeds"]
    before = {p: client.get(p).data for p in ("/feeds/japan.rss", "/feeds/russia.atom")}
    snap = live.snapshot
    (collection / "topics.toml").write_text('[topics.japan]\nname = "Nippon"\n')
    assert live.refresh() is True
    change = Change.between(snap, live.snapshot)
    assert change.keys == {"feeds"}  # anything may have changed: every response goes
    changed = set(changed_feeds(change))
    for path, old in before.items():
        assert (client.get(path).data != old) == (BASE_URL + path in changed), path
    assert feed_urls("japan") <= changed
