"""The in-memory fast path answers repeated requests exactly as the application would."""

from __future__ import annotations

import pytest

PATHS = ["/feeds/korea.rss", "/feeds/all.json", "/", "/topics/korea", "/feeds.opml"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_repeated_requests_get_the_same_answer(client, path: str, encoding: str) -> None:
    first = client.get(path, headers={"Accept-Encoding": encoding})
    again = client.get(path, headers={"Accept-Encoding": encoding})
    assert again.status_code == first.status_code == 200
    assert again.data == first.data
    assert dict(again.headers) == dict(first.headers)


def test_repeated_requests_skip_the_application(app, client, monkeypatch) -> None:
    client.get("/feeds/korea.rss")
    monkeypatch.setattr("feeds.web.document", lambda *a: pytest.fail("rendered again"))
    assert client.get("/feeds/korea.rss").status_code == 200


@pytest.mark.parametrize(
    "header",
    [{"If-None-Match": "{etag}"}, {"If-None-Match": "W/{etag}"}, {"If-None-Match": '"x", {etag}'},
     {"If-None-Match": "*"}, {"If-Modified-Since": "{modified}"}],
    ids=["strong", "weak", "list", "star", "since"],
)  # fmt: skip
def test_conditional_requests_from_memory(client, header: dict[str, str]) -> None:
    first = client.get("/feeds/korea.atom")
    client.get("/feeds/korea.atom")  # stored now
    values = {"etag": first.headers["ETag"], "modified": first.headers["Last-Modified"]}
    headers = {name: value.format(**values) for name, value in header.items()}
    again = client.get("/feeds/korea.atom", headers=headers)
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert "Content-Type" not in again.headers


def test_other_validators_get_the_full_answer(client) -> None:
    client.get("/feeds/korea.atom")
    for headers in (
        {"If-None-Match": '"other"'},
        {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
    ):
        assert client.get("/feeds/korea.atom", headers=headers).status_code == 200


def test_head_from_memory(client) -> None:
    get = client.get("/feeds/korea.rss")
    head = client.head("/feeds/korea.rss")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(get.data))


def test_a_new_snapshot_is_served_at_once(app, client, collection) -> None:
    from conftest import write_article

    before = client.get("/feeds/all.rss").data
    write_article(collection, "n.txt", "Fresh article", "About Tokyo in Japan.", date="2025-05-01")
    app.extensions["feeds"].refresh()
    after = client.get("/feeds/all.rss").data
    assert after != before and b"Fresh article" in after


def test_costly_renders_take_turns_while_cached_answers_are_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from feeds import fastpath

    clock = [100.0]
    monkeypatch.setattr(fastpath.time, "monotonic", lambda: clock[0])
    budget = fastpath.RenderBudget(share=0.2)

    def cached_traffic() -> None:
        for _ in range(fastpath.CONTENDED_HITS):
            budget.hit()

    assert budget.enter() and budget.enter()  # no cached traffic: renders run freely
    budget.leave(99.0)
    budget.leave(99.0)  # each took a second: four of rest, if others were waiting
    budget.hit()
    assert budget.enter(), "a few cached answers are no contention"
    budget.leave(clock[0])
    cached_traffic()
    assert not budget.enter()
    clock[0] += 4.5
    cached_traffic()
    assert budget.enter()
    assert not budget.enter()  # one at a time
    budget.leave(clock[0])
    clock[0] += 2.0  # cached traffic stopped: free again
    assert budget.enter()
