"""The HTML pages in a real browser: headless Chromium against `feeds serve` on a free port."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from servers import feeds_serve

from conftest import DATA

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: run `make browser` as root (apt-get install chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is missing: pip install -e '.[test]'"
)

ARTIFACTS = Path(__file__).parent / "artifacts"
# Headless, and nothing that reaches out to the network on its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
PAGES = {
    "index": "/",
    "topic": "/topics/korea",
    "article": "/articles/73bcabc292162f38",
}
WIDTHS = {"phone": 375, "desktop": 1280}
ERROR_PAGE = "/topics/nowhere"
FEED_VERSIONS = {"application/rss+xml": "rss20", "application/atom+xml": "atom10"}
JSON_FEED = "application/feed+json"


def add_coverage(folder: Path) -> None:
    """Undated stories over five months, so the home page has regions to group and topics to
    rank, and the Korea page a chart with bars of several heights."""
    places = ["Korea", "Korea", "Russia", "Japan", "France", "Kenya", "Brazil"]
    for n in range(42):
        place = places[n % len(places)]
        path = folder / "more" / f"{n:03d}_{n:016x}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"{place} story {n}\n\nThe government of {place} met today.\n"
                        f"Officials of {place} agreed.\n")  # fmt: skip
        moment = time.mktime((2025, 1 + n % 5, 1 + n % 27, 12, 0, 0, 0, 0, 0))
        os.utime(path, (moment, moment))


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`feeds serve` on 127.0.0.1, serving a copy of the test collection."""
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(DATA / "collection", root / "collection")
    add_coverage(root / "collection")
    with feeds_serve(root / "collection", root, reload_interval="0", workers="1") as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's Chromium with a fresh profile, light colour scheme unless a test asks otherwise."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=TIMEOUT_MS * 2,
            color_scheme="light",
            viewport={"width": WIDTHS["desktop"], "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


class Visit:
    """A page opened in the browser, with everything that went wrong while it loaded."""

    def __init__(self, browser: Any, url: str, width: int) -> None:
        self.page = browser.new_page()
        self.page.set_viewport_size({"width": width, "height": 900})
        self.problems: list[str] = []
        self.requested: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on("request", lambda request: self.requested.append(request.url))
        self.page.on("response", self._response)
        self.response = self.page.goto(url, wait_until="load")

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status} for {response.url}")


@pytest.fixture(params=PAGES, ids=list(PAGES))
def visit(request: pytest.FixtureRequest, browser: Any, base_url: str) -> Iterator[Visit]:
    opened = Visit(browser, base_url + PAGES[request.param], WIDTHS["desktop"])
    yield opened
    opened.page.close()


def test_page_loads_cleanly(visit: Visit, base_url: str) -> None:
    assert visit.response is not None
    assert visit.response.status == 200
    assert visit.response.headers["content-type"] == "text/html; charset=utf-8"
    assert visit.problems == []
    assert [url for url in visit.requested if not url.startswith(base_url + "/")] == []


def test_page_has_language_one_heading_and_main_landmark(visit: Visit) -> None:
    page = visit.page
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("h1").count() == 1
    assert page.locator("h1").inner_text().strip()
    assert page.get_by_role("main").count() == 1


FETCH_FEED = """async ({href, timeout}) => {
    const response = await fetch(href, {signal: AbortSignal.timeout(timeout)});
    return {status: response.status, type: response.headers.get("content-type"),
            body: await response.text()};
}"""


def assert_valid_feed(href: str, media_type: str, body: str) -> None:
    """XML feeds through feedparser; JSON Feed (which feedparser 6 cannot read) by its members."""
    if media_type == JSON_FEED:
        document = json.loads(body)
        assert document["version"].startswith("https://jsonfeed.org/version/1"), href
        assert document["title"], href
        # JSON Feed 1.1: every item must have an id.
        assert document["items"] and all(item["id"] for item in document["items"]), href
        return
    assert media_type in FEED_VERSIONS, f"{href}: no check for feeds of type {media_type}"
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, f"{href}: {parsed.get('bozo_exception')}"
    assert parsed.version == FEED_VERSIONS[media_type], href
    assert parsed.entries, href


def test_autodiscovery_links_are_valid_feeds(visit: Visit) -> None:
    links = visit.page.locator('head link[rel="alternate"]')
    declared = [(links.nth(i).get_attribute("type"), links.nth(i).get_attribute("href"))
                for i in range(links.count())]  # fmt: skip
    assert set(FEED_VERSIONS) <= {media_type for media_type, _ in declared}
    for media_type, href in declared:
        fetched = visit.page.evaluate(FETCH_FEED, {"href": href, "timeout": TIMEOUT_MS})
        assert fetched["status"] == 200, href
        assert fetched["type"].split(";")[0].strip() == media_type, href
        assert_valid_feed(href, media_type, fetched["body"])


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS.values(), ids=list(WIDTHS))
@pytest.mark.parametrize("name", [*PAGES, "error"])
def test_page_fits_the_screen(
    browser: Any, base_url: str, name: str, width: int, scheme: str
) -> None:
    visit = Visit(browser, base_url + {**PAGES, "error": ERROR_PAGE}[name], width)
    try:
        visit.page.emulate_media(color_scheme=scheme)
        scroll_width = visit.page.evaluate("document.documentElement.scrollWidth")
        viewport_width = visit.page.evaluate("window.innerWidth")
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"{name}-{width}-{scheme}.png"
        shot.unlink(missing_ok=True)
        visit.page.screenshot(path=shot, full_page=True)
    finally:
        visit.page.close()
    assert viewport_width == width
    assert scroll_width <= viewport_width, f"{name} scrolls sideways at {width}px"
    assert shot.stat().st_size > 0
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


# The focused element: whether it is the first link, whether it is on screen, how focus is drawn.
FOCUS = """() => {
    const focused = document.activeElement;
    const style = getComputedStyle(focused);
    const box = focused.getBoundingClientRect();
    return {isFirstLink: focused === document.querySelector("a[href]"),
            onScreen: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0
                      && box.right <= innerWidth && box.bottom <= innerHeight,
            outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
            boxShadow: style.boxShadow};
}"""


def test_tab_reaches_first_link_with_visible_focus(visit: Visit) -> None:
    visit.page.keyboard.press("Tab")
    focus = visit.page.evaluate(FOCUS)
    assert focus["isFirstLink"]
    assert focus["onScreen"], focus
    outlined = focus["outlineStyle"] != "none" and focus["outlineWidth"] > 0
    assert outlined or focus["boxShadow"] != "none", focus


# Every visible piece of text: an element's own text, a form field's value or else its placeholder,
# each with its colour and the first opaque background behind it (the scheme's canvas colour when
# nothing on the page paints one).
TEXT_COLOURS = """() => {
    const probe = document.createElement("div");
    probe.style.backgroundColor = "Canvas";
    document.body.append(probe);
    const canvas = getComputedStyle(probe).backgroundColor;
    probe.remove();
    const opaque = (colour) => !/^rgba\\(.*, 0\\)$/.test(colour) && colour !== "transparent";
    const background = (element) => {
        for (let node = element; node; node = node.parentElement) {
            const colour = getComputedStyle(node).backgroundColor;
            if (opaque(colour)) return colour;
        }
        return canvas;
    };
    const ownText = (element) => [...element.childNodes].some(
        (node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim());
    const texts = [];
    for (const element of document.body.querySelectorAll("*")) {
        if (!element.getClientRects().length) continue;
        const add = (text, colour) => texts.push({tag: element.tagName.toLowerCase(), text,
                                                  colour, background: background(element)});
        if (ownText(element)) add(element.textContent.trim(), getComputedStyle(element).color);
        if (!element.matches("input, textarea")) continue;
        if (element.value) add(element.value, getComputedStyle(element).color);
        else if (element.placeholder) {
            add(element.placeholder, getComputedStyle(element, "::placeholder").color);
        }
    }
    return texts;
}"""


def channels(colour: str) -> tuple[float, float, float, float]:
    """The red, green, blue (0-255) and alpha of a computed `rgb()` or `rgba()` colour."""
    assert colour.startswith("rgb"), colour
    parts = colour[colour.index("(") + 1 : colour.index(")")].replace("/", ",").split(",")
    red, green, blue, *alpha = (float(part) for part in parts)
    return red, green, blue, alpha[0] if alpha else 1.0


def luminance(red: float, green: float, blue: float) -> float:
    """Relative luminance, as defined in WCAG 2.2."""

    def linear(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of text over an opaque background, blending translucent text."""
    *back, _ = channels(background)
    *fore, alpha = channels(foreground)
    blended = [alpha * f + (1 - alpha) * b for f, b in zip(fore, back, strict=True)]
    lighter, darker = sorted((luminance(*blended), luminance(*back)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_formula() -> None:
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21.0)
    assert contrast("rgb(119, 119, 119)", "rgb(255, 255, 255)") == pytest.approx(4.48, abs=0.01)
    assert contrast("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(1.0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_is_at_least_4_5(visit: Visit, scheme: str) -> None:
    visit.page.emulate_media(color_scheme=scheme)
    texts = visit.page.evaluate(TEXT_COLOURS)
    assert any(text["tag"] == "p" for text in texts)
    low = [
        f"{t['tag']} {t['text'][:40]!r}: {contrast(t['colour'], t['background']):.2f}"
        for t in texts
        if contrast(t["colour"], t["background"]) < 4.5
    ]
    assert low == []


def low_contrast(page: Any, minimum: float = 4.5) -> list[str]:
    return [
        f"{t['tag']} {t['text'][:40]!r}: {contrast(t['colour'], t['background']):.2f}"
        for t in page.evaluate(TEXT_COLOURS)
        if contrast(t["colour"], t["background"]) < minimum
    ]


# The chart: its accessible name, its bars' fill and the background behind them.
CHART = """() => {
    const svg = document.querySelector("figure.chart svg");
    const bars = [...svg.querySelectorAll("rect.bar")];
    let node = svg, background = "rgba(0, 0, 0, 0)";
    for (; node; node = node.parentElement) {
        background = getComputedStyle(node).backgroundColor;
        if (!/^rgba\\(.*, 0\\)$/.test(background)) break;
    }
    return {role: svg.getAttribute("role"), label: svg.getAttribute("aria-label"),
            fills: [...new Set(bars.map((bar) => getComputedStyle(bar).fill))],
            heights: bars.map((bar) => bar.getBoundingClientRect().height),
            background, scripts: document.querySelectorAll("script").length};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_coverage_chart_is_readable_and_has_a_text_equivalent(
    browser: Any, base_url: str, scheme: str
) -> None:
    visit = Visit(browser, base_url + PAGES["topic"], WIDTHS["phone"])
    page = visit.page
    try:
        page.emulate_media(color_scheme=scheme)
        chart = page.evaluate(CHART)
        assert chart["role"] == "img" and chart["scripts"] == 0
        total = int(page.locator("main > p").first.inner_text().split()[0])
        assert chart["label"].startswith(f"Articles over time: {total} articles from ")
        assert page.get_by_role("img", name=chart["label"]).count() == 1
        assert len(set(chart["heights"])) > 1, "bars of several heights"
        (fill,) = chart["fills"]
        assert contrast(fill, chart["background"]) >= 3.0, "bars stand out (WCAG 1.4.11)"
        page.get_by_text("The figures").click()  # the table of the same figures
        rows = page.locator("figure.chart tbody tr")
        counts = [int(rows.nth(i).locator("td").inner_text()) for i in range(rows.count())]
        assert sum(counts) == total and rows.first.locator("th").is_visible()
        assert low_contrast(page) == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("figure.chart").screenshot(path=ARTIFACTS / f"chart-{scheme}.png")
    finally:
        page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_missing_page_is_a_page_with_a_way_back(browser: Any, base_url: str, scheme: str) -> None:
    visit = Visit(browser, base_url + ERROR_PAGE, WIDTHS["phone"])
    page = visit.page
    try:
        page.emulate_media(color_scheme=scheme)
        assert visit.response.status == 404
        assert visit.response.headers["content-type"] == "text/html; charset=utf-8"
        assert "unknown topic 'nowhere'" in page.locator("main").inner_text()
        page.get_by_role("link", name="the home page").click()
        page.wait_for_url(base_url + "/")
        assert page.locator("h1").inner_text() == "feeds"
        assert low_contrast(page) == []
    finally:
        page.close()


# For each feed address, on how many lines each of its parts between slashes is drawn.
PART_LINES = """() => [...document.querySelectorAll("code.copy")].map((code) =>
    [...code.querySelectorAll(".whole")].map((part) => part.getClientRects().length))"""


def test_feed_addresses_wrap_only_after_a_slash(browser: Any, base_url: str) -> None:
    visit = Visit(browser, base_url + "/topics/korea~north-korea", 320)
    try:
        lines = visit.page.evaluate(PART_LINES)
        assert lines and all(count == 1 for parts in lines for count in parts), lines
        assert visit.page.evaluate("document.documentElement.scrollWidth") <= 320
    finally:
        visit.page.close()
