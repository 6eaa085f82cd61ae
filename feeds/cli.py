"""The ``feeds`` command: serve, check, list and build, over the same core as the web app."""

from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .config import DEFAULTS, Config
from .models import Article
from .server import SERVERS
from .timestamps import rfc3339

if TYPE_CHECKING:
    from .index.live import LiveIndex

collection_option = click.option(
    "--collection",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Folder of article files [default: {DEFAULTS['collection']}, or FEEDS_COLLECTION].",
)
index_option = click.option(
    "--index",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the persistent index [default: FEEDS_INDEX or ~/.cache/feeds/...].",
)


def load_config(**overrides: Any) -> Config:
    clean = {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}
    try:
        return Config.load(clean)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


Command = TypeVar("Command", bound=Callable[..., None])


def reports_file_errors(command: Command) -> Command:
    """File-system failures end the command with one line that names the file, never a
    traceback: a full disk, a folder that cannot be written, a file that cannot be read."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except OSError as exc:
            where = exc.filename
            if where is None:  # a write to an open file: name the folder being written
                params = click.get_current_context().params
                where = next((params[k] for k in ("out", "index", "collection") if params.get(k)),
                             "(unknown file)")  # fmt: skip
            also = f" -> {exc.filename2}" if exc.filename2 is not None else ""
            raise click.ClickException(f"{where}{also}: {exc.strerror or exc}") from None
        except sqlite3.Error as exc:  # the index heals itself; this is the last resort
            raise click.ClickException(f"index: {exc}") from None

    return run  # type: ignore[return-value]  # the same signature, as functools.wraps keeps


def open_index(config: Config) -> LiveIndex:
    from .index.live import LiveIndex  # not needed to start a server: its workers import it

    try:
        return LiveIndex(config)
    except FileNotFoundError as exc:
        raise click.ClickException(
            f"{exc}. Pass --collection DIR or set FEEDS_COLLECTION."
        ) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="feeds")
def main() -> None:
    """Publish a folder of plain-text news articles as per-topic feeds."""


@main.command()
@collection_option
@index_option
@click.option("--host", help=f"Address to listen on [default: {DEFAULTS['host']}].")
@click.option("--port", type=int, help=f"Port to listen on [default: {DEFAULTS['port']}].")
@click.option(
    "--server",
    type=click.Choice(list(SERVERS)),
    help=f"WSGI server [default: {DEFAULTS['server']}].",
)
@click.option("--workers", type=int, help=f"Worker processes [default: {DEFAULTS['workers']}].")
@click.option("--base-url", help="Public URL of the site [default: http://HOST:PORT].")
def serve(**options: Any) -> None:
    """Serve the feeds over HTTP with granian (or gunicorn)."""
    from .server import PortTaken
    from .server import serve as run_server

    config = load_config(**options)  # without a base URL, its own address: http://HOST:PORT
    if config.server not in SERVERS:
        raise click.ClickException(f"FEEDS_SERVER: choose one of {', '.join(SERVERS)}")
    if not config.collection_path.is_dir():
        raise click.ClickException(f"collection folder not found: {config.collection_path}")
    try:
        run_server(config)
    except PortTaken as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@collection_option
@index_option
@reports_file_errors
def check(**options: Any) -> None:
    """Parse every article; print each problem and exit 1 if there is any."""
    from collections import Counter

    from .collection import scan

    # The problems are printed below, once: not logged to standard error as well.
    logging.getLogger("feeds.index").setLevel(logging.ERROR)
    live = open_index(load_config(**options))
    snap = live.snapshot
    for problem in snap.problems:
        click.echo(str(problem))
    skipped: list[str] = []
    scan(live.root, skipped=skipped)
    for path in skipped:
        click.echo(f"{path}: skipped: not an article (articles are *.txt files)")
    origins = Counter(live.dater.origins.get(a.id, "first seen") for a in snap.articles)
    undated = len(snap.articles) - origins.pop("front matter", 0)
    if undated:
        sources = ", ".join(f"{n} {DATE_ORIGINS[origin]}" for origin, n in sorted(origins.items()))
        click.echo(f"{undated} articles have no date of their own: {sources}.")
    click.echo(
        f"{len(snap.articles)} articles published, {len(snap.problems)} problems"
        + (f", {len(skipped)} files skipped." if skipped else ".")
    )
    live.close()
    sys.exit(1 if snap.problems else 0)


# Where the published date of an article without one of its own came from, for `feeds check`.
DATE_ORIGINS = {
    "git history": "from the commit that added the file",
    "file time": "from the file's modification time",
    "first seen": "from the moment the index first saw the file",
}


@main.command("list")
@collection_option
@index_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per article.")
@reports_file_errors
def list_articles(as_json: bool, **options: Any) -> None:
    """List every published article, newest first."""
    live = open_index(load_config(**options))
    for article in live.snapshot.articles:
        if as_json:
            click.echo(json.dumps(article_record(article), ensure_ascii=False))
        else:
            click.echo(f"{article.published:%Y-%m-%d}  {article.id}  {article.title}")
    live.close()


def article_record(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "path": article.path,
        "title": article.title,
        "published": rfc3339(article.published),
        "updated": rfc3339(article.updated),
        "topics": list(article.topics),
    }


@main.command("topics")
@collection_option
@index_option
@click.option("--base-url", help="Public URL of the site, for the feed URLs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per topic.")
@click.option("--all", "show_all", is_flag=True, help="Also topics that have no articles.")
def list_topics(as_json: bool, show_all: bool, **options: Any) -> None:
    """List every topic with its parent, article count and feed URLs."""
    from .topic_lists import topic_records

    live = open_index(load_config(**options))
    for record in topic_records(live.snapshot):
        if not (show_all or record["articles"]):
            continue
        if as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            parent = f" (in {record['parent']})" if record["parent"] else ""
            click.echo(
                f"{record['articles']:6d}  {record['slug']}{parent}  "
                + (record["feeds"]["rss"] if record["feeds"] else "(no feed yet)")
            )
    live.close()


@main.command()
@collection_option
@index_option
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True,
    help="Folder to write the site into; replaced whole when the build succeeds.",
)  # fmt: skip
@click.option("--base-url", help="Public URL the files will be served from.")
@click.option(
    "--jobs", type=click.IntRange(min=0), default=0, show_default="every core",
    help="Processes that render documents at once.",
)  # fmt: skip
@click.option(
    "--ping", is_flag=True,
    help="Tell the hubs of FEEDS_WEBSUB_HUBS of every feed whose bytes this build changed.",
)  # fmt: skip
@reports_file_errors
def build(out: Path, jobs: int, ping: bool, **options: Any) -> None:
    """Write every feed and page as static files, the same bytes the server sends.

    A rebuild renders only what changed since the last one; on a terminal it shows its
    progress. It ends with one line: files written, kept and removed, bytes and seconds.
    """
    from . import create_app
    from .push import changed_feed_files
    from .static import BuildError, export

    began = time.monotonic()
    config = load_config(**{**options, "reload_interval": 0})
    if not config.collection_path.is_dir():
        raise click.ClickException(f"collection folder not found: {config.collection_path}")
    if ping and not config.hubs:
        raise click.ClickException("--ping needs the hubs: set FEEDS_WEBSUB_HUBS")
    app = create_app(config.__dict__, watch=False, resume=True, notify=False)
    try:
        app.extensions["feeds"].catch_up()  # the last run's snapshot, and only what changed since
        summary = export(app, out, jobs or os.cpu_count() or 1, progress=sys.stderr.isatty())
    except BuildError as exc:
        raise click.ClickException(f"build failed: {exc}") from None
    finally:
        app.extensions["feeds"].close()
    summary.seconds = time.monotonic() - began  # start-up and indexing included
    click.echo(summary.line(out))
    if ping:
        _ping(config, changed_feed_files(summary.changed, config.base_url))


def _ping(config: Config, urls: list[str]) -> None:
    from .push import ping_and_wait

    done = ping_and_wait(config, urls)
    hubs = len(config.hubs)
    click.echo(f"told {hubs} {'hub' if hubs == 1 else 'hubs'} of {len(urls)} changed feeds"
               + ("" if done else " (some pings were still waiting)"))  # fmt: skip


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--topic", "slug", help="Explain this topic only.")
@collection_option
@click.option("--json", "as_json", is_flag=True, help="The verdicts as one JSON object.")
def explain(file: Path, slug: str | None, as_json: bool, collection: Path | None) -> None:
    """Show why FILE is or is not in each topic: the terms found, where, the score, the verdict."""
    from .collection import ArticleError, parse_article
    from .index.tagging import load_configured
    from .taxonomy import TaxonomyError
    from .topics import Matcher

    config = load_config(collection=collection)
    try:
        article, _ = parse_article(file.read_bytes(), str(file))
        taxonomy = load_configured(config)
    except (ArticleError, TaxonomyError) as exc:
        raise click.ClickException(str(exc)) from None
    if slug is not None and slug not in taxonomy:
        raise click.ClickException(f"unknown topic {slug!r}; `feeds topics --all` lists them")
    matcher = Matcher(taxonomy)
    verdicts = matcher.explain(article, slug)
    if as_json:
        topics = list(matcher.topics_of(article))
        records = [v.as_record() for v in verdicts]
        click.echo(json.dumps({"path": str(file), "topics": topics, "verdicts": records}))
        return
    click.echo(f"{article.title}\ntopics: {', '.join(matcher.topics_of(article)) or 'none'}")
    for verdict in verdicts:
        click.echo("\n" + "\n".join(verdict.describe(taxonomy.topics[verdict.slug].name)))
