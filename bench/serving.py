"""HTTP: `feeds serve` against nginx serving the `feeds build` output of the same collection.

Both answer for the same base URL, so the bytes are the same; the script checks that before
measuring. Each server runs on core 0, wrk on core 1, over loopback. Scenarios: a warm topic
feed (200) and a revalidation (304 with If-None-Match), each with and without
``Accept-Encoding: gzip``; the contenders alternate, RUNS runs each, and the medians are kept.

    python bench/serving.py [--runs 5] [--seconds 5] [--connections 256] [--articles 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from folders import WORK
from generate import collection
from probe import HOST, free_port, get, wait_for_200
from processes import (
    CLIENT_CPU,
    SERVER_CPU,
    Server,
    count_log,
    feeds_command,
    other_work,
    process_names,
    run_measured,
    server_name,
)
from report import feeds_settings, log, median, publish, table, tool_version, wait_until_quiet
from tools import installed

NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    types {{
        text/html html;
        text/css css;
        application/rss+xml rss;
        application/atom+xml atom;
        application/feed+json json;
        text/x-opml opml;
    }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/css application/rss+xml application/atom+xml application/feed+json
                  application/json text/x-opml;
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    sendfile on;
    etag on;
    gzip on;
    gzip_static on;
    gzip_vary on;
    gzip_types text/css application/rss+xml application/atom+xml application/feed+json;
    server {{
        listen {host}:{port};
        root {site};
        add_header Cache-Control "public, max-age=300";
        location = / {{ try_files /index.html =404; }}
        location / {{ try_files $uri $uri.html =404; }}
        location = /topics.json {{ types {{ }} default_type application/json; }}
    }}
}}
"""


@dataclass
class WrkRun:
    requests_per_second: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx responses and socket errors
    bytes_per_response: float
    others: float = 0.0  # cores used meanwhile by processes outside the measurement


@dataclass(frozen=True)
class Scenario:
    name: str
    status: int
    gzip: bool


SCENARIOS = (
    Scenario("topic feed, 200", 200, False),
    Scenario("topic feed, 200, gzip", 200, True),
    Scenario("revalidation, 304", 304, False),
    Scenario("revalidation, 304, gzip", 304, True),
)
GZIP = {"Accept-Encoding": "gzip"}
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
SIZES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def parse_wrk(output: str) -> WrkRun:
    rate = re.search(r"Requests/sec:\s*([\d.]+)", output)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    count = re.search(r"(\d+) requests in", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    transfer = re.search(r"Transfer/sec:\s*([\d.]+)(B|KB|MB|GB)", output)
    if not (rate and p99 and count and transfer):
        raise RuntimeError(f"cannot read wrk output:\n{output}")
    requests_per_second = float(rate.group(1))
    errors = sum(map(int, socket.groups())) if socket else 0
    errors += int(bad.group(1)) if bad else 0
    per_second = float(transfer.group(1)) * SIZES[transfer.group(2)]
    return WrkRun(
        requests_per_second=requests_per_second,
        p99_ms=float(p99.group(1)) * UNITS[p99.group(2)],
        requests=int(count.group(1)),
        errors=errors,
        bytes_per_response=per_second / requests_per_second if requests_per_second else 0,
    )


def wrk(
    wrk_path: str, port: int, path: str, headers: dict[str, str], seconds: int, connections: int
) -> WrkRun:
    cmd = ["taskset", "-c", CLIENT_CPU, wrk_path, "-t1", f"-c{connections}", f"-d{seconds}s"]
    cmd += ["--timeout", "5s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(f"http://{HOST}:{port}{path}")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def listed(folder: Path, index: Path) -> list[dict[str, object]]:
    """Every article of the collection, newest first, as ``feeds list --json`` gives them."""
    done = subprocess.run(
        [*feeds_command(), "list", "--json", "--collection", str(folder), "--index", str(index)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def topic_counts(articles: list[dict[str, object]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for article in articles:
        for slug in article["topics"]:  # type: ignore[attr-defined]
            counts[slug] = counts.get(slug, 0) + 1
    return counts


def media_type(value: str) -> str:
    return value.replace(" ", "").lower()


def compare(ports: dict[str, int], paths: list[str]) -> list[str]:
    """Check both servers send the same bytes and type, and answer their own ETag with 304."""
    notes = []
    for path in paths:
        replies = {name: get(port, path) for name, port in ports.items()}
        nginx, feeds = replies["nginx"], replies["feeds"]
        same = nginx.status == feeds.status == 200 and nginx.body == feeds.body
        zipped = {name: get(port, path, GZIP) for name, port in ports.items()}
        encodings = {name: r.header("content-encoding") or "none" for name, r in zipped.items()}
        same_gzip = zipped["nginx"].body == zipped["feeds"].body
        types = media_type(nginx.header("content-type")) == media_type(feeds.header("content-type"))
        tags = {name: r.header("etag") for name, r in replies.items()}
        revalidated = {
            name: get(port, path, {"If-None-Match": tags[name]}).status
            for name, port in ports.items()
        }
        stable = all(get(port, path).header("etag") == tags[n] for n, port in ports.items())
        notes.append(
            f"`{path}`: {'same bytes' if same else 'DIFFERENT bytes'} ({len(feeds.body)} B), "
            f"with gzip {'same' if same_gzip else 'different'} bytes "
            f"(Content-Encoding feeds {encodings['feeds']}, nginx {encodings['nginx']}), "
            f"{'same' if types else 'different'} Content-Type "
            f"(`{feeds.header('content-type')}`), "
            f"ETag feeds `{tags['feeds']}` / nginx `{tags['nginx']}`"
            f"{' (equal)' if tags['feeds'] == tags['nginx'] else ''}, "
            f"{'stable' if stable else 'NOT stable'} over requests, "
            f"If-None-Match → feeds {revalidated['feeds']}, nginx {revalidated['nginx']}"
        )
        if not same:
            notes[-1] += f" — statuses {feeds.status}/{nginx.status}"
    return notes


def scenario_headers(scenario: Scenario, port: int, path: str) -> dict[str, str]:
    """Request headers for a scenario, with the ETag this server gives for that encoding."""
    headers = dict(GZIP) if scenario.gzip else {}
    if scenario.status == 304:
        headers["If-None-Match"] = get(port, path, headers).header("etag")
    check = get(port, path, headers)
    if check.status != scenario.status:
        raise RuntimeError(f"{scenario.name} on port {port}: got {check.status}")
    return headers


def setup_servers(
    work: Path, articles: int
) -> tuple[Server, Server, dict[str, int], dict[str, object]]:
    nginx_path = installed("nginx", "nginx")
    folder = collection(articles)
    ports = {"nginx": free_port(), "feeds": free_port()}
    base_url = f"http://{HOST}:{ports['nginx']}"
    index, site, conf_dir = work / "index", work / "site", work / "nginx"
    for old in (index, site, conf_dir):
        shutil.rmtree(old, ignore_errors=True)
    (conf_dir / "tmp").mkdir(parents=True)
    log(f"feeds build of {articles} articles")
    build = run_measured(
        [*feeds_command(), "build", "--collection", str(folder), "--index", str(index)]
        + ["--out", str(site), "--base-url", base_url],
        limit=900,
        log_path=work / "build.log",
    )
    if build.returncode != 0:
        raise SystemExit(f"feeds build failed: {build.describe()}\n{build.output}")
    conf = conf_dir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=conf_dir, host=HOST, port=ports["nginx"], site=site))
    subprocess.run([nginx_path, "-t", "-q", "-c", str(conf)], check=True)
    nginx = Server([nginx_path, "-c", str(conf)], work / "nginx.log", cpus=SERVER_CPU)
    feeds = Server(
        [*feeds_command(), "serve", "--collection", str(folder), "--index", str(index)]
        + ["--host", HOST, "--port", str(ports["feeds"]), "--base-url", base_url],
        work / "feeds.log",
        cpus=SERVER_CPU,
    )
    deadline = time.monotonic() + 300
    for name, server in (("nginx", nginx), ("feeds", feeds)):
        ready, why = wait_for_200(server, ports[name], "/", deadline)
        if ready is None:
            nginx.stop()
            feeds.stop()
            raise SystemExit(f"{name} did not start: {why}; see {server.log_path}")
    facts: dict[str, object] = {
        "folder": folder,
        "index": index,
        "build": build,
        "nginx": tool_version(nginx_path, "-v"),
    }
    return nginx, feeds, ports, facts


def measure(args: argparse.Namespace) -> None:
    work = WORK / "http"
    wrk_path = installed("wrk")
    wait_until_quiet(args.quiet)
    nginx, feeds, ports, facts = setup_servers(work, args.articles)
    try:
        articles = listed(facts["folder"], facts["index"])  # type: ignore[arg-type]
        counts = topic_counts(articles)
        slug = max(counts, key=lambda s: (counts[s], s)) if counts else "all"
        path = f"/feeds/{slug}.rss"
        article = articles[0]["id"]
        checked = [path, f"/feeds/{slug}.atom", "/feeds/all.rss", "/", f"/articles/{article}"]
        if slug != "all":
            checked.insert(3, f"/topics/{slug}")
        notes = compare(ports, checked)
        for note in notes:
            log(note)
        if not get(ports["nginx"], path).body == get(ports["feeds"], path).body:
            raise SystemExit(f"{path}: the two servers send different bytes; nothing measured")
        tree = process_names(feeds.tree())
        results: dict[tuple[str, str], list[WrkRun]] = {}
        for scenario in SCENARIOS:
            headers = {n: scenario_headers(scenario, p, path) for n, p in ports.items()}
            for name in ports:  # warm-up, not recorded
                wrk(wrk_path, ports[name], path, headers[name], 1, args.connections)
            for run in range(args.runs):
                for name in ports:
                    with other_work(lambda: nginx.tree() + feeds.tree()) as others:
                        result = wrk(
                            wrk_path,
                            ports[name],
                            path,
                            headers[name],
                            args.seconds,
                            args.connections,
                        )
                    result.others = others.cores
                    results.setdefault((scenario.name, name), []).append(result)
                    log(
                        f"{scenario.name} {name} run {run + 1}: "
                        f"{result.requests_per_second:.0f} req/s, p99 {result.p99_ms:.1f} ms, "
                        f"{result.errors} errors, other processes {result.others:.2f} cores"
                    )
        feeds_log = feeds.log_text()
    finally:
        nginx.stop()
        feeds.stop()
    report(args, facts, slug, counts.get(slug, 0), notes, tree, results, feeds_log)


def report(
    args: argparse.Namespace,
    facts: dict[str, object],
    slug: str,
    topic_size: int,
    notes: list[str],
    tree: str,
    results: dict[tuple[str, str], list[WrkRun]],
    feeds_log: str,
) -> None:
    rows = []
    for scenario in SCENARIOS:
        summary = {}
        for name in ("nginx", "feeds"):
            runs = results[(scenario.name, name)]
            rate = median([r.requests_per_second for r in runs])
            p99 = median([r.p99_ms for r in runs])
            summary[name] = (rate, p99)
            rows.append(
                [
                    scenario.name,
                    name,
                    f"{rate:,.0f}",
                    f"{min(r.requests_per_second for r in runs):,.0f}–"
                    f"{max(r.requests_per_second for r in runs):,.0f}",
                    f"{p99:.1f}",
                    sum(r.errors for r in runs),
                    f"{sum(r.requests for r in runs):,}",
                    f"{median([r.bytes_per_response for r in runs]):,.0f}",
                    f"{median([r.others for r in runs]):.2f} ({max(r.others for r in runs):.2f})",
                ]
            )
        ratio_rate = summary["feeds"][0] / summary["nginx"][0] if summary["nginx"][0] else 0
        ratio_p99 = summary["feeds"][1] / summary["nginx"][1] if summary["nginx"][1] else 0
        rows.append(
            [scenario.name, "**feeds/nginx**", f"**{ratio_rate:.2f}**", "", f"{ratio_p99:.1f}×"]
            + ["", "", "", ""]
        )
    build = facts["build"]
    problems = [f"{name}: {count}" for name, count in count_log(feeds_log).items()]
    header = ["Scenario", "Server", "Requests/s", "Range", "p99 ms", "Errors", "Requests"]
    figures = table([*header, "Bytes/resp.", "Other work (max)"], rows)
    body = f"""
{args.articles:,} generated articles; the measured URL is `/feeds/{slug}.rss` (the largest topic,
{topic_size} articles; the feed holds the newest 20). `feeds build` took {build.describe()}
(`--base-url http://127.0.0.1:<nginx port>`), and `feeds serve` ran with the same base URL.
nginx: one worker, the README's static configuration (`try_files $uri $uri.html`, the media
types, `gzip_static on` for the `.gz` files `feeds build` writes, etag on) plus `gzip on`
(level 1) for the documents without a `.gz`, access log on.
feeds: `feeds serve` as shipped ({server_name(feeds_log)}; {feeds_settings()}; process
tree: {tree}), output to a file. Each server is pinned to core {SERVER_CPU} with taskset
(the whole process tree), wrk to core {CLIENT_CPU}: `wrk -t1 -c{args.connections}
-d{args.seconds}s --timeout 5s --latency`, loopback. The contenders alternate, {args.runs} runs
each after a 1 s warm-up; the table gives medians (range of requests/s over the runs), errors
(non-2xx/3xx responses plus socket errors) and requests summed over the runs, and the cores
other processes on the machine used during the runs (median and largest): work that was not
ours and competed with the measurement.

{figures}

Before measuring, both servers were asked for the same URLs:

{chr(10).join("- " + note for note in notes)}
- nginx's ETag is its own (file mtime and size), so the two ETags differ by design; each
  server's 304 scenario sends that server's current ETag for that encoding.
- feeds log after the runs: {", ".join(problems)}.
"""
    versions = {"nginx": str(facts["nginx"]), "wrk": tool_version("wrk", "-v")}
    publish("serving", "HTTP", body, versions)


def load_options(
    doc: str, runs: int, connections: int, articles: int, quiet: float
) -> argparse.Namespace:
    """The command line of a benchmark that loads a server with wrk, with its defaults."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--seconds", type=int, default=5, help="of each wrk run")
    parser.add_argument("--connections", type=int, default=connections)
    parser.add_argument("--articles", type=int, default=articles)
    parser.add_argument(
        "--quiet", type=float, default=quiet, help="seconds to wait for other work to stop"
    )
    return parser.parse_args()


def main() -> None:
    args = load_options(__doc__, runs=5, connections=256, articles=1000, quiet=120)
    if (os.cpu_count() or 1) < 2:
        log("fewer than 2 cores: server and wrk will share one")
    started = time.monotonic()
    measure(args)
    log(f"HTTP bench done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
