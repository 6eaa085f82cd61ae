"""Static export: every document of a snapshot, written as files, the bytes `feeds serve` sends.

Documents are rendered straight from the snapshot by the functions the routes use (under an
application context, with no request). The subscription feeds, topic pages and the directory
documents are also written as ``<file>.gz`` with the gzip bytes the server sends, for web
servers that serve precompressed files (nginx ``gzip_static``); archive and article pages,
fetched once by a reader if at all, are not.

A rebuild is incremental: a record of the last build (``.<out>-build.json`` beside the
output) holds a fingerprint of the settings, taxonomy and code, one of each article and one of
each archive page, and the output's files, each under what its document depends on; only the
documents that depend on what changed are listed and rendered, every other file is left as it
is (same inode and modification time, so web servers keep their validators) without being
looked at, and a rebuild with nothing changed does nothing.

Safety without copying: the first build is staged in a folder beside the output and renamed
to it; a rebuild stages only the files whose bytes change, then commits a journal
(``.<out>-journal.json``) naming them and the files to remove, and applies it by renames. A
build that fails or is killed before the journal is whole leaves the output as it was; one
killed while applying it is finished by the next build (:func:`recover`). Each file is
replaced by a rename, so a web server reading the folder meanwhile sends either the old bytes
or the new, never a mix.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from .compose import (
    ARCHIVE_FORMAT,
    FeedRequest,
    archive_items,
    archive_modified,
    archive_pages,
    full,
    render_document,
)
from .images import IMAGE_PATHS
from .models import Article, Rendered, Selection, Story
from .render import FORMATS
from .server import exit_with_parent
from .snapshot import Snapshot
from .urls import archive_path, article_path, feed_path, selection_key, topic_path
from .web import (
    render_article,
    render_image,
    render_listing,
    render_opml,
    render_stylesheet,
    render_topics_json,
)

RECORD_VERSION = 3
EVERYTHING = "*"  # the owner of the documents that depend on everything
CHUNK = 32  # documents a process renders at a time: a few of a topic's archive pages, say
TEXTS_KEPT = 2048  # articles' texts a process keeps while it renders feeds


class BuildError(Exception):
    """A build that could not finish; the previous output is left as it was."""


@dataclass(frozen=True)
class Document:
    """One file of the export and how to render it."""

    url: str
    make: Callable[[bool], Rendered]  # called with whether to make the gzip form
    depends_on: frozenset[str] | None  # topic slugs and "@<id>" marks; None: everything
    compressed: bool = True  # also written as <file>.gz
    archive: str = ""  # "<selection>/<page>" of an archive page, whose items are fingerprinted

    @functools.cached_property
    def file(self) -> str:
        return file_for(self.url)

    @functools.cached_property
    def owner(self) -> str:
        """What the record files the document's files under: an archive page's own key,
        ``*`` for what depends on everything, else what it depends on (one topic, or one
        article's mark)."""
        if self.archive:
            return self.archive
        return EVERYTHING if self.depends_on is None else " ".join(sorted(self.depends_on))


def file_for(url: str) -> str:
    """The file a URL is written to: pages get ``.html`` (serve with ``try_files $uri.html``)."""
    if url == "/":
        return "index.html"
    name = url.lstrip("/")
    return name if "." in name.rsplit("/", 1)[-1] else name + ".html"


def site_documents(
    snap: Snapshot, touched: set[str] | None = None, unchanged: Callable[[str], bool] | None = None
) -> list[Document]:
    """Every page and feed of a snapshot (searches, ``?limit=`` variants and combinations
    aside); topics without articles have none, as `feeds serve` answers them 404. With
    ``touched`` (topic slugs and ``@<id>`` marks), only the documents that depend on them,
    and of their archive pages only those ``unchanged`` (given a page's key) says are not."""
    topics = [slug for slug in snap.taxonomy.topics if snap.by_topic[slug]
              and (touched is None or slug in touched)]  # fmt: skip
    docs = [
        Document("/", partial(_listing, snap, Selection()), None),
        Document("/topics.json", partial(render_topics_json, snap), None),
        Document("/feeds.opml", partial(render_opml, snap, "rss", None, False), None),
    ]
    if touched is None:  # what depends on nothing is written once, then kept
        docs.append(Document("/style.css", partial(render_stylesheet, snap), frozenset()))
        docs += [Document(path, partial(render_image, snap, path), frozenset(), False)
                 for path in IMAGE_PATHS]  # fmt: skip
    for slug in topics:
        selection = Selection(all_of=(slug,))
        docs.append(Document(topic_path(slug), partial(_listing, snap, selection),
                             frozenset((slug,))))  # fmt: skip
    articles = snap.articles if touched is None else [
        snap.by_id[mark[1:]] for mark in sorted(touched)
        if mark.startswith("@") and mark[1:] in snap.by_id
    ]  # fmt: skip
    for a in articles:
        maker = partial(_article, snap, a.id)
        docs.append(Document(article_path(a.id), maker, frozenset(("@" + a.id,)), False))
    # Archive pages go by time (below): the articles of one are those of the pages around it,
    # of other topics. A few thousand texts (a few MB) are read once for all of them.
    text_of = functools.lru_cache(maxsize=TEXTS_KEPT)(partial(full, snap))
    selections = [Selection()] + [Selection(all_of=(slug,)) for slug in topics]
    pages: list[tuple[float, int, list[Document]]] = []
    for selection in selections:
        docs += feed_documents(snap, selection, 0, text_of)
        slots = snap.slots(selection)
        pages += [(_newest(archive_items(slots, n)), len(pages),
                   feed_documents(snap, selection, n, text_of))
                  for n in range(1, archive_pages(len(slots)) + 1)
                  if unchanged is None or not unchanged(f"{selection_key(selection)}/{n}")
                  ]  # fmt: skip
    # Archive pages by time, whatever their topic: the pages that hold an article follow each
    # other, and its entries, written once, are at hand for them all (render.common).
    for _, _, group in sorted(pages, key=lambda page: page[:2]):
        docs += group
    return docs


def _newest(items: tuple[Article, ...]) -> float:
    """When the newest article of an archive page (its first) was published."""
    first = items[0].published if items else None
    return first.timestamp() if first else 0.0


def feed_documents(
    snap: Snapshot,
    selection: Selection,
    page: int = 0,
    text_of: Callable[[Article], Story] | None = None,
) -> list[Document]:
    """A selection's subscription feeds (``page`` 0), in every format, one after the other
    (``text_of`` may remember the articles' text for the next), or an archive page, in its
    one format."""
    depends_on = None if selection.is_everything else frozenset(selection.slugs)
    if page:
        request = FeedRequest(selection, ARCHIVE_FORMAT, snap.config.feed_items, page=page)
        maker = partial(render_document, snap, request, text_of=text_of)
        return [Document(archive_path(selection, page, ARCHIVE_FORMAT), maker, depends_on,
                         False, f"{selection_key(selection)}/{page}")]  # fmt: skip
    docs = []
    for ext in FORMATS:
        request = FeedRequest(selection, ext, snap.config.feed_items)
        maker = partial(render_document, snap, request, text_of=text_of)
        docs.append(Document(feed_path(selection, ext), maker, depends_on))
    return docs


def site_urls(snap: Snapshot) -> list[str]:
    """Every URL the export writes."""
    return [doc.url for doc in site_documents(snap)]


def _listing(snap: Snapshot, selection: Selection, compress: bool) -> Rendered:
    template = "index.html" if selection.is_everything else "topic.html"
    return render_listing(snap, selection, template, compress=compress)


def _article(snap: Snapshot, article_id: str, compress: bool) -> Rendered:
    return render_article(snap, snap.by_id[article_id], compress)


# Fingerprints: what a document's bytes are made of, without rendering it -------------------


# Settings that say where things are or how the server runs, not what the documents hold.
NOT_IN_DOCUMENTS = {"collection", "index", "host", "port", "server", "workers", "threads",
                    "access_log", "reload_interval"}  # fmt: skip


def settings_fingerprint(snap: Snapshot) -> str:
    """What every document depends on: the settings, the taxonomy and this code."""
    settings = sorted((k, v) for k, v in vars(snap.config).items() if k not in NOT_IN_DOCUMENTS)
    digest = hashlib.sha256()
    digest.update(repr((RECORD_VERSION, settings)).encode())
    digest.update(repr(snap.taxonomy).encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix not in (".pyc",):
            digest.update(path.relative_to(package).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def article_fingerprints(snap: Snapshot) -> dict[str, str]:
    """Each article's content and dates in a few bytes, followed by its topics (dates as
    numbers: writing a date out costs more than the rest)."""
    blake2b = hashlib.blake2b
    found = {}
    for a in snap.articles:
        made = f"{a.digest}|{a.path}|{a.published.timestamp()}|{a.updated.timestamp()}"
        mark = blake2b(made.encode(), digest_size=8).hexdigest()
        found[a.id] = f"{mark} {' '.join(a.topics)}" if a.topics else mark
    return found


def archive_fingerprint(snap: Snapshot, doc_key: str, articles: dict[str, str]) -> str:
    """An archive page's items and links, without composing it: its bytes change only when
    one of its articles changes or leaves it, or when the page after it first appears (its
    ``next-archive`` link); what every page shares is in :func:`settings_fingerprint`."""
    selection_text, number = doc_key.rsplit("/", 1)
    selection = Selection() if selection_text == "all" else Selection(all_of=(selection_text,))
    page, slots = int(number), snap.slots(selection)
    items = archive_items(slots, page)
    live = snap.by_id  # as Snapshot.is_live, without a call per item of every page
    parts = [str(page < archive_pages(len(slots)))]
    parts += [articles[a.id] if live.get(a.id) is a else "gone " + a.id for a in items]
    if not any(live.get(a.id) is a for a in items):  # dated by the departures, then
        parts.append(str(archive_modified(snap, selection, page)))
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=8).hexdigest()


# The record of the last build ---------------------------------------------------------------


@dataclass
class Record:
    """What the last build was made of; it stands for the output folder it names."""

    folder: tuple[int, int]  # st_dev, st_ino of the output folder
    settings: str
    articles: dict[str, str]
    archives: dict[str, str]  # "<selection>/<page>" -> fingerprint
    # Every file of the output, by the owner of its document (:attr:`Document.owner`): a
    # rebuild lists the documents of what changed, and keeps the files of every other owner.
    files: dict[str, list[str]]

    def all_files(self) -> list[str]:
        return [name for names in self.files.values() for name in names]

    def count(self) -> int:
        return sum(map(len, self.files.values()))

    @classmethod
    def load(cls, path: Path, out: Path) -> Record | None:
        """The record of ``out``'s build, or None when there is none that can be trusted."""
        try:
            data = json.loads(path.read_bytes())
            record = cls(tuple(data["folder"]), data["settings"], data["articles"],  # type: ignore[arg-type]
                         data["archives"], data["files"])  # fmt: skip
            stat = out.stat()
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if data.get("version") != RECORD_VERSION or not isinstance(record.files, dict):
            return None
        if record.folder != (stat.st_dev, stat.st_ino):
            return None  # a build that stopped between its swap and its record, say
        return record

    def save(self, path: Path) -> None:
        data = {"version": RECORD_VERSION, **vars(self)}
        path.write_text(json.dumps(data, separators=(",", ":")))


# The plan: which documents to render, which files to keep ------------------------------------


@dataclass
class Plan:
    documents: list[Document]
    render: list[Document]  # to render; every other document's files are kept
    record: Record
    changed: bool = True  # False: nothing to do at all


def _owned(touched: set[str], owner: str) -> bool:
    """Whether a rebuild that touched these lists the documents of this owner again."""
    if owner == EVERYTHING:
        return True
    return bool(owner) and not touched.isdisjoint(owner.split(" "))


def plan(snap: Snapshot, previous: Record | None) -> Plan:
    """The documents of the snapshot, and those among them that may have changed."""
    articles = article_fingerprints(snap)
    record = Record((0, 0), settings_fingerprint(snap), articles, {}, {})
    if previous is None or previous.settings != record.settings:
        docs = site_documents(snap)
        keys = dict.fromkeys(d.archive for d in docs if d.archive)  # each once, not per format
        record.archives = {key: archive_fingerprint(snap, key, articles) for key in keys}
        return Plan(docs, docs, record)
    touched = _touched(previous.articles, articles)
    if not touched:  # nothing to do: not even a list of the documents
        record.archives, record.files = previous.archives, previous.files
        return Plan([], [], record, changed=False)
    # The archive pages of the selections touched, each fingerprinted: listed only if that
    # changed (or the page is new). Those of other selections stay as they are.
    pages: dict[str, str] = {}

    def unchanged(key: str) -> bool:
        pages[key] = new = archive_fingerprint(snap, key, articles)
        return previous.archives.get(key) == new

    docs = site_documents(snap, touched, unchanged)  # what changed: the others' files stay
    listed = {doc.archive for doc in docs if doc.archive}
    record.archives = {key: value for key, value in previous.archives.items()
                       if not _owned(touched, _selection_owner(key))} | pages  # fmt: skip
    record.files = {owner: names for owner, names in previous.files.items()
                    if _kept(touched, owner, pages, listed)}  # fmt: skip
    return Plan(docs, docs, record)


def _selection_owner(key: str) -> str:
    """The owner of the documents of the selection of the archive page ``<selection>/<page>``."""
    selection = key.rsplit("/", 1)[0]
    return EVERYTHING if selection == selection_key(Selection()) else selection


def _kept(touched: set[str], owner: str, pages: dict[str, str], listed: set[str]) -> bool:
    """Whether a rebuild keeps an owner's files as the last build left them: those of what
    it did not touch, and of the archive pages still there that it did not list."""
    if "/" in owner:  # an archive page
        if not _owned(touched, _selection_owner(owner)):
            return True
        return owner in pages and owner not in listed
    return not _owned(touched, owner)


def _touched(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """The topics (before and after) and ``@<id>`` marks of the articles added, removed or
    changed since the last build."""
    touched: set[str] = set()
    if before == after:  # compared in C: the usual rebuild with nothing to do
        return touched
    changed = [i for i, new in after.items() if before.get(i) != new]
    for i in [*changed, *(before.keys() - after.keys())]:
        touched.add("@" + i)
        touched.update(before.get(i, "").split()[1:], after.get(i, "").split()[1:])
    return touched


# Writing ------------------------------------------------------------------------------------


@dataclass
class Summary:
    """What a build did. ``written`` names the files whose bytes are new, ``changed`` those
    of them that the last build had, with other bytes (what WebSub hubs are told of)."""

    written: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept: int = 0
    removed: int = 0
    bytes: int = 0  # of the files written
    seconds: float = 0.0
    processes: int = 0  # that rendered documents

    def line(self, out: Path) -> str:
        line = (
            f"{len(self.written):,} files written, {self.kept:,} kept, {self.removed:,} removed, "
            f"{self.bytes / 1e6:,.1f} MB, {self.seconds:.1f} s: {out}"
        )
        if self.processes:
            line += f" ({self.processes} {'process' if self.processes == 1 else 'processes'})"
        return line


@dataclass(frozen=True)
class _Paths:
    """The files beside the output folder ``out`` that a build uses."""

    out: Path

    @property
    def record(self) -> Path:
        return self.out.parent / f".{self.out.name}-build.json"

    @property
    def pending(self) -> Path:  # the next record, until the build that wrote it is applied
        return self.out.parent / f".{self.out.name}-build.json.new"

    @property
    def journal(self) -> Path:
        return self.out.parent / f".{self.out.name}-journal.json"

    def staging(self) -> Path:
        return Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))

    def leftovers(self) -> list[Path]:
        """What a build that was killed before its journal was complete left behind."""
        found = [self.pending, self.journal.with_name(self.journal.name + ".new")]
        return list(self.out.parent.glob(f".{self.out.name}.*")) + [p for p in found if p.exists()]


def export(app: Any, out: Path, jobs: int = 1, progress: bool = False) -> Summary:
    """Build the site into ``out``, or leave it alone when nothing changed since the last
    build. Raises :class:`BuildError` when it cannot, leaving the previous output whole.

    The first build is staged in a folder beside ``out`` and renamed to it. Later builds
    stage only the files whose bytes change, then write a journal naming them and the files
    to remove, and apply it by renames; a build killed while applying it is finished by the
    next one, before anything else."""
    began = time.monotonic()
    snap = app.extensions["feeds"].snapshot
    paths = _Paths(out.resolve())
    try:
        recover(paths.out)
    except OSError as exc:
        raise BuildError(_describe(exc, paths.out, "finishing the last build")) from exc
    previous = Record.load(paths.record, paths.out) if paths.out.is_dir() else None
    work = plan(snap, previous)
    if not work.changed and previous is not None:
        return Summary(kept=previous.count(), seconds=time.monotonic() - began)
    try:
        summary = _build(app, work, paths, jobs, progress, previous)
    except OSError as exc:
        raise BuildError(_describe(exc, paths.out)) from exc
    summary.seconds = time.monotonic() - began
    return summary


def _describe(exc: OSError, out: Path, doing: str = "") -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    if doing:
        return f"{doing}: {exc.strerror or exc}{where}; run the build again"
    return f"{exc.strerror or exc}{where}; the previous output in {out} is unchanged"


def recover(out: Path) -> None:
    """Finish the build of ``out`` that was killed while applying its journal, and clear what
    builds killed before that left behind."""
    paths = _Paths(out.resolve())
    if paths.journal.is_file():
        journal = json.loads(paths.journal.read_bytes())
        staging = paths.out.parent / journal["staging"]
        _apply(paths.out, staging, journal["moves"], journal["removes"])
        if paths.pending.exists():
            os.replace(paths.pending, paths.record)
        paths.journal.unlink()
    for leftover in paths.leftovers():
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _build(
    app: Any, work: Plan, paths: _Paths, jobs: int, progress: bool, previous: Record | None
) -> Summary:
    paths.out.parent.mkdir(parents=True, exist_ok=True)
    last = paths.out if paths.out.is_dir() else None
    # Without a record to trust, the folder holds what it holds.
    before = previous.all_files() if previous is not None else _files_in(last)
    staging = paths.staging()
    committed = False
    try:
        writer = _Writer(staging, last)
        processes = _write_site(app, work, writer, jobs, progress, set(before))
        _file_by_owner(work, writer.present | writer.kept)
        removes = sorted(set(before).difference(*work.record.files.values()))
        if last is None:
            _swap_in(staging, paths, work.record)
            committed = True
        else:
            stat = last.stat()
            work.record.folder = (stat.st_dev, stat.st_ino)
            work.record.save(paths.pending)
            _commit(paths, staging, writer.written, removes)
            committed = True
            try:
                recover(paths.out)
            except OSError as exc:  # the output is part old, part new: say how to finish it
                raise BuildError(_describe(exc, paths.out, "applying the build")) from exc
    except BaseException:
        if not committed:
            shutil.rmtree(staging, ignore_errors=True)
            paths.pending.unlink(missing_ok=True)
        raise
    kept = work.record.count() - len(writer.written)
    return Summary(writer.written, writer.changed, kept, len(removes), writer.bytes, 0,
                   processes)  # fmt: skip


def _file_by_owner(work: Plan, files: set[str]) -> None:
    """Add the files of the plan's documents to its record, each under its owner."""
    owners = {}
    for doc in work.documents:
        owners[doc.file] = owners[doc.file + ".gz"] = doc.owner
    grouped: dict[str, list[str]] = {}
    for name in sorted(files):
        grouped.setdefault(owners[name], []).append(name)
    work.record.files.update(grouped)


def _swap_in(staging: Path, paths: _Paths, record: Record) -> None:
    """The first build: its staging folder becomes the output, then its record is written."""
    os.chmod(staging, 0o755)
    stat = staging.stat()
    record.folder = (stat.st_dev, stat.st_ino)
    record.save(paths.pending)
    staging.rename(paths.out)
    os.replace(paths.pending, paths.record)


def _commit(paths: _Paths, staging: Path, moves: list[str], removes: list[str]) -> None:
    """Write the journal: from the moment it has its name, the build is done, and applying it
    (here, or by the next build if this one is killed) only renames and removes files."""
    journal = {"staging": staging.name, "moves": moves, "removes": removes}
    draft = paths.journal.with_name(paths.journal.name + ".new")
    with open(draft, "w") as file:
        json.dump(journal, file, separators=(",", ":"))
        file.flush()
        os.fsync(file.fileno())
    os.replace(draft, paths.journal)


def _apply(out: Path, staging: Path, moves: list[str], removes: list[str]) -> None:
    """Rename the staged files into ``out`` and remove the files no document has any more;
    each step can be done again, so a build killed half way through is finished later."""
    folders: set[str] = set()
    for name in moves:
        folder = name.rpartition("/")[0]
        if folder and folder not in folders:
            (out / folder).mkdir(parents=True, exist_ok=True)
            folders.add(folder)
        try:
            os.replace(staging / name, out / name)
        except FileNotFoundError:
            if not (out / name).exists():
                raise
    for name in removes:
        (out / name).unlink(missing_ok=True)
        _prune(out, name)
    shutil.rmtree(staging, ignore_errors=True)


def _prune(out: Path, name: str) -> None:
    """Remove the folders a removed file leaves empty."""
    folder = (out / name).parent
    while folder != out:
        try:
            folder.rmdir()
        except OSError:  # not empty
            return
        folder = folder.parent


def _files_in(folder: Path | None) -> list[str]:
    found: list[str] = []
    if folder is None:
        return found
    for root, _, files in os.walk(folder):
        prefix = Path(root).relative_to(folder).as_posix()
        found += [name if prefix == "." else f"{prefix}/{name}" for name in files]
    return found


class _Writer:
    """Stages the files whose bytes differ from those of the output (or every file, for a
    first build)."""

    def __init__(self, staging: Path, last: Path | None) -> None:
        self.staging, self.last = staging, last
        self.folders: set[str] = set()
        self.written: list[str] = []
        self.changed: list[str] = []
        self.present: set[str] = set()  # the files of the rendered documents
        self.kept: set[str] = set()  # the files of the documents not rendered
        self.bytes = 0

    def absorb(self, part: _Writer) -> None:
        """Count what another writer (of another process, say) staged."""
        self.written += part.written
        self.changed += part.changed
        self.present |= part.present
        self.bytes += part.bytes

    def _folder(self, name: str) -> None:
        folder = name.rpartition("/")[0]
        if folder and folder not in self.folders:
            (self.staging / folder).mkdir(parents=True, exist_ok=True)
            self.folders.add(folder)

    def put(self, name: str, data: bytes) -> None:
        """Stage a file, unless the output has it with the same bytes."""
        self.present.add(name)
        old: bytes | None = None
        if self.last is not None:
            try:
                old = (self.last / name).read_bytes()
            except OSError:
                old = None
        if old == data:
            return
        self._folder(name)
        (self.staging / name).write_bytes(data)
        self.written.append(name)
        if old is not None:
            self.changed.append(name)
        self.bytes += len(data)


def _write_site(
    app: Any, work: Plan, writer: _Writer, jobs: int, progress: bool, before: set[str]
) -> int:
    """Render the documents that may have changed; returns how many processes rendered."""
    from tqdm import tqdm

    rendering = {id(doc) for doc in work.render}
    todo = list(work.render)
    for doc in work.documents:
        if id(doc) not in rendering:
            if doc.file not in before:
                todo.append(doc)  # the last build lacks it: render it after all
            else:
                writer.kept.add(doc.file)
                if doc.compressed and doc.file + ".gz" in before:
                    writer.kept.add(doc.file + ".gz")
    jobs = usable_jobs(jobs, len(todo))  # before the bar: no thread may run when forking
    tqdm.monitor_interval = 0  # nor the bar's own
    bar = tqdm(total=len(todo), unit="doc", desc="rendering", disable=not progress,
               dynamic_ncols=True, smoothing=0.1)  # fmt: skip
    with bar:
        for count, part in _render_all(app, todo, jobs, writer):
            writer.absorb(part)
            bar.update(count)
    return jobs if todo else 0


# Rendering, on several processes ---------------------------------------------------------------

# What forked processes render: the application, the documents, and where they are written.
_job: tuple[Any, list[Document], _Writer] | None = None


def usable_jobs(jobs: int, documents: int) -> int:
    """How many processes can render: one where forking is unsafe (threads running) or
    unavailable, or where there is too little to share."""
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return max(1, min(jobs, -(-documents // CHUNK)))


def _write_chunk(docs: list[Document], like: _Writer) -> _Writer:
    """Render documents and stage their files; what was staged, to add to ``like``."""
    writer = _Writer(like.staging, like.last)
    for doc in docs:
        rendered = doc.make(doc.compressed)
        writer.put(doc.file, rendered.body)
        if rendered.gzip is not None:
            writer.put(doc.file + ".gz", rendered.gzip)
    return writer


def _render_all(
    app: Any, docs: list[Document], jobs: int, writer: _Writer
) -> Iterator[tuple[int, _Writer]]:
    """Render and stage the documents on ``jobs`` processes, each writing its own files (the
    bytes never travel between processes); yields how many were done and what was staged."""
    spans = [(i, min(i + CHUNK, len(docs))) for i in range(0, len(docs), CHUNK)]
    if jobs <= 1:
        with app.app_context():
            for start, end in spans:
                yield end - start, _write_chunk(docs[start:end], writer)
        return
    global _job
    _job = (app, docs, writer)
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_child, initargs=(os.getpid(),)
    )
    with pool:
        pending: deque[tuple[int, Future[_Writer]]] = deque()
        for start, end in spans:
            pending.append((end - start, pool.submit(_render_in_child, start, end)))
            if len(pending) > 2 * jobs:  # a few chunks ahead: the bar moves as they finish
                count, future = pending.popleft()
                yield count, future.result()
        while pending:
            count, future = pending.popleft()
            yield count, future.result()


def _start_child(parent: int) -> None:
    assert _job is not None
    app = _job[0]
    app.extensions["feeds"].store.reopen()
    app.app_context().push()  # templates need the application, not a request
    # A killed build must not leave its processes waiting for work that never comes.
    exit_with_parent(parent)


def _render_in_child(start: int, end: int) -> _Writer:
    assert _job is not None
    return _write_chunk(_job[1][start:end], _job[2])
