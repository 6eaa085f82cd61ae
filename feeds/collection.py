"""Reading the collection: the only module that opens article files.

``parse_article`` turns the text of one file into a :class:`Parsed` article and does
no I/O; ``scan`` and ``read_article`` walk the folder and read the bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from .models import SLUG, Parsed, Problem

MAX_FILE_BYTES = 2 * 1024 * 1024  # an article is text; anything larger is a mistake
MAX_TITLE_CHARS = 300
MAX_MTIME_NS = 2**63 - 1  # what SQLite can store: a file dated after 2262 is kept as then
MAX_NOT_TEXT_SHARE = 0.1  # text with more undecodable or control characters is not readable
MAX_FRONT_MATTER_CHARS = 64 * 1024
MAX_FRONT_MATTER_DEPTH = 20
NOT_SKIPPED = {"topics.toml"}  # files of the collection that are not articles but are read
FRONT_MATTER_KEYS = {"title", "date", "updated", "topics", "id", "author", "link", "source"}

# libyaml's safe loader when PyYAML has it: the same safety, ten times the speed.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_ILLEGAL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
# Undecodable bytes (U+FFFD once decoded) and control characters other than white space.
_NOT_TEXT = re.compile("[\ufffd\x00-\x08\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]+")
_SOURCE_LINE = re.compile(r"^original source:\s*(\S.*)$", re.IGNORECASE)
_FILE_ID = re.compile(r"(?:^|[_-])([0-9a-f]{16})$")
_VALID_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$")


class ArticleError(ValueError):
    """The file cannot be published; the message says why."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    """An article file found in the collection, with what ``stat`` said of it."""

    path: str  # relative POSIX path
    size: int
    mtime_ns: int


def clean_text(text: str) -> str:
    """Drop characters XML 1.0 cannot carry and normalise to NFC."""
    return unicodedata.normalize("NFC", _ILLEGAL_CHARS.sub("", text))


def decode(data: bytes) -> tuple[str, str | None]:
    """Decode file bytes; return the text and a warning when bytes had to be guessed."""
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if data.startswith(bom):
            text = data[len(bom) :].decode(codec, errors="replace")
            return text, ("undecodable bytes replaced" if "\ufffd" in text else None)
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", errors="replace")
    if any(ord(ch) > 0x7F and ch != "\ufffd" for ch in lenient):
        return lenient, "invalid UTF-8: undecodable bytes replaced with U+FFFD"
    # Not UTF-8 at all: the usual legacy encoding of Western news text.
    return data.decode("cp1252", errors="replace"), "not UTF-8: read as Windows-1252"


def not_text(text: str) -> str | None:
    """Why decoded file content is not text (binary data, a damaged file), or None."""
    if "\x00" in text:
        return "it holds NUL bytes"
    bad = len(_NOT_TEXT.findall(text))
    if bad > max(len(text) * MAX_NOT_TEXT_SHARE, 2):
        share = bad / len(text)
        return f"{share:.0%} of its characters are undecodable bytes or control characters"
    return None


def file_id(path: str) -> str:
    """The id derived from a file: its 16-hex suffix, else a hash of its path."""
    stem = PurePosixPath(path).stem
    match = _FILE_ID.search(stem)
    if match:
        return match.group(1)
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def parse_article(data: bytes, path: str) -> tuple[Parsed, list[Problem]]:
    """Parse one article file's bytes; raise :class:`ArticleError` if it cannot be published."""
    warnings: list[Problem] = []
    text, decode_warning = decode(data)
    reason = not_text(text)
    if reason:
        raise ArticleError(f"not text: {reason}; an article is a plain-text file")
    if decode_warning:
        warnings.append(Problem(path, decode_warning, "warning"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta, text = split_front_matter(text)
    meta = check_front_matter(meta, path, warnings)
    # Cleaned whole, then split: neither cleaning touches a line break, and two passes over
    # the text cost far less than two per line.
    lines = [line.strip() for line in _one_space(clean_text(text)).split("\n")]
    lines = [line for line in lines if line]
    if not lines and not meta.get("title"):
        raise ArticleError("empty file: no title line")
    source = meta.get("source")
    if lines and (match := _SOURCE_LINE.match(lines[-1])):
        source = source or match.group(1).strip()
        lines.pop()
    title = meta.get("title") or (lines.pop(0) if lines else "")
    if not lines:
        raise ArticleError("no summary paragraph after the title line")
    if len(title) > MAX_TITLE_CHARS:
        warnings.append(Problem(path, f"title longer than {MAX_TITLE_CHARS} characters", "warning"))
        title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    article = Parsed(
        id=meta.get("id") or file_id(path),
        path=path,
        title=title,
        summary=lines[0],
        body=tuple(lines[1:]),
        digest=hashlib.sha256(data).hexdigest(),
        source=source,
        author=meta.get("author"),
        link=meta.get("link"),
        published=meta.get("date"),
        updated=meta.get("updated"),
        declared_topics=tuple(meta.get("topics", ())),
    )
    return article, warnings


def _one_space(text: str) -> str:
    """Runs of spaces, tabs and the wide Unicode spaces as one space."""
    if text.isascii() and "  " not in text and "\t" not in text:
        return text  # as most texts are: the pattern would replace each space by itself
    return _SPACES.sub(" ", text)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split a leading ``---`` YAML block from the text (safe loader only)."""
    if not text.startswith("---\n"):
        return {}, text
    end = re.search(r"^(?:---|\.\.\.)[ \t]*$", text[4:], re.MULTILINE)
    if end is None:
        raise ArticleError("front matter starts with '---' but has no closing '---' line")
    block, rest = text[4 : 4 + end.start()], text[4 + end.end() :]
    if len(block) > MAX_FRONT_MATTER_CHARS or _nesting(block) > MAX_FRONT_MATTER_DEPTH:
        raise ArticleError("front matter is too large or nests too deeply")
    try:
        meta = _load_yaml(block)
    except ArticleError:
        # One bad field (a lone surrogate escape, an impossible date) costs that field only.
        meta = _load_fields_apart(block)
        if meta is None:
            raise
    if meta is None:
        return {}, rest
    if not isinstance(meta, dict):
        raise ArticleError("front matter must be a mapping of keys to values")
    return meta, rest


def _load_yaml(block: str) -> Any:
    try:
        return yaml.load(block, Loader=SafeLoader)  # noqa: S506  # the safe loader, in C
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise ArticleError(f"front matter is not valid YAML{where}") from None
    except (ValueError, OverflowError, RecursionError) as exc:
        # The YAML is well formed but a value cannot be built, e.g. 2025-02-30.
        raise ArticleError(f"front matter is not valid YAML: {str(exc)[:80]}") from None


_TOP_KEY = re.compile(r"^[A-Za-z_][\w-]*[ \t]*:(?:[ \t]|$)")


def _load_fields_apart(block: str) -> dict[str, Any] | None:
    """The fields of a mapping that does not load whole, each loaded alone; a field that
    still fails becomes ``{key: <the error>}``, for the field check to report and drop.
    None when the block is not a plain mapping of top-level keys."""
    fields: list[list[str]] = []
    for line in block.split("\n"):
        if _TOP_KEY.match(line):
            fields.append([line])
        elif fields and (not line.strip() or line[:1] in " \t"):
            fields[-1].append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            return None
    meta: dict[str, Any] = {}
    for lines in fields:
        key = lines[0].split(":", 1)[0].strip()
        try:
            loaded = _load_yaml("\n".join(lines))
        except ArticleError:
            meta[key] = _BadField()
            continue
        if not isinstance(loaded, dict):
            return None
        meta.update(loaded)
    return meta or None


class _BadField:
    """A front matter value that could not be read."""


def _nesting(block: str) -> int:
    """The deepest bracket nesting in a YAML block (a cheap guard before parsing)."""
    depth = deepest = 0
    for char in block:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def check_front_matter(meta: dict[Any, Any], path: str, warnings: list[Problem]) -> dict[str, Any]:
    """Validate and normalise front matter values; unusable values become warnings."""
    clean: dict[str, Any] = {}
    for key, value in meta.items():
        if key not in FRONT_MATTER_KEYS:
            warnings.append(Problem(path, f"unknown front matter key {key!r} ignored", "warning"))
            continue
        if isinstance(value, _BadField):
            warnings.append(Problem(path, f"front matter {key!r} ignored: not valid YAML",
                                    "warning"))  # fmt: skip
            continue
        try:
            normalised = _FIELD_CHECKS[key](value)
        except (TypeError, ValueError, OverflowError) as exc:
            warnings.append(Problem(path, f"front matter {key!r} ignored: {exc}", "warning"))
            continue
        if normalised not in (None, "", ()):
            clean[key] = normalised
    if "updated" in clean and "date" in clean and clean["updated"] < clean["date"]:
        warnings.append(Problem(path, "front matter 'updated' is before 'date'", "warning"))
        del clean["updated"]
    return clean


def _text_field(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return _SPACES.sub(" ", clean_text(str(value))).strip()


def _id_field(value: Any) -> str:
    text = _text_field(value)
    if not _VALID_ID.match(text):
        raise ValueError("an id is 1-128 letters, digits, '.', '_', '~' or '-'")
    return text


def _link_field(value: Any) -> str:
    text = _text_field(value)
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", text):
        raise ValueError("a link must be an absolute http(s) URL")
    return text


def _topics_field(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise TypeError("expected a list of topic slugs")
    slugs = tuple(dict.fromkeys(_text_field(item).lower() for item in items))
    bad = [slug for slug in slugs if not SLUG.match(slug)]
    if bad:
        raise ValueError(f"not topic slugs: {', '.join(map(repr, bad))}")
    return slugs


def parse_date(value: Any) -> datetime:
    """A timezone-aware UTC datetime from a YAML date, datetime or date string."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0, 0))
    elif isinstance(value, str):
        moment = _parse_date_text(value.strip())
    else:
        raise TypeError(f"expected a date, got {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("date out of range") from None
    if moment.year < 1900:
        raise ValueError(f"implausible year {moment.year}")
    if moment > datetime.now(UTC):
        # A feed never shows a date in the future; the article is dated as if undated.
        raise ValueError(f"{moment:%Y-%m-%d %H:%M} is in the future")
    return moment


def _parse_date_text(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"not an ISO 8601 or RFC 2822 date: {text[:40]!r}") from None


_FIELD_CHECKS = {
    "title": _text_field,
    "author": _text_field,
    "source": _text_field,
    "id": _id_field,
    "link": _link_field,
    "topics": _topics_field,
    "date": parse_date,
    "updated": parse_date,
}


def scan(
    root: Path,
    under: str = "",
    skipped: list[str] | None = None,
    unread: set[str] | None = None,
) -> tuple[list[FileEntry], list[Problem]]:
    """Every article file under ``root`` (or its sub-folder ``under``): regular ``*.txt``
    files, never leaving the collection. Paths are relative to ``root``. Other files are
    added to ``skipped`` when it is given (the collection's ``topics.toml`` aside), and the
    folders that could not be read to ``unread``, as path prefixes ("" for the root itself,
    "2025/" for a sub-folder): what they hold is unknown, not gone."""
    entries: list[FileEntry] = []
    problems: list[Problem] = []
    start = root / under if under else root
    prefix = under.strip("/") + "/" if under else ""
    unread = set() if unread is None else unread
    for entry, relpath in _walk(start, root.resolve(), prefix, set(), problems, unread):
        if not entry.name.endswith(".txt"):
            if skipped is not None and relpath not in NOT_SKIPPED:
                skipped.append(display_path(relpath))
            continue
        try:
            info = entry.stat()  # follows symlinks already checked to stay inside
        except OSError as exc:
            problems.append(Problem(display_path(relpath), f"cannot stat: {exc.strerror}"))
            continue
        if not stat.S_ISREG(info.st_mode):
            problems.append(Problem(display_path(relpath), "not a regular file"))
        elif info.st_size > MAX_FILE_BYTES:
            problems.append(Problem(display_path(relpath), f"larger than {MAX_FILE_BYTES} bytes"))
        else:
            entries.append(FileEntry(relpath, info.st_size, min(info.st_mtime_ns, MAX_MTIME_NS)))
    entries.sort(key=lambda e: e.path)
    return entries, problems


def _walk(
    folder: Path,
    root: Path,
    prefix: str,
    seen: set[tuple[int, int]],
    problems: list[Problem],
    unread: set[str],
) -> Iterator[tuple[os.DirEntry[str], str]]:
    try:
        info = folder.stat()
        if (info.st_dev, info.st_ino) in seen:
            problems.append(Problem(prefix.rstrip("/") or ".", "folder loop skipped"))
            return
        seen.add((info.st_dev, info.st_ino))
        with os.scandir(folder) as it:
            children = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        problems.append(Problem(prefix.rstrip("/") or ".", f"cannot read folder: {exc.strerror}"))
        unread.add(prefix)
        return
    for entry in children:
        if entry.name.startswith("."):
            continue  # hidden files and folders (.git, editor swap files) are not articles
        relpath = prefix + entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if entry.is_symlink() and not _inside(entry.path, root):
            if is_dir or entry.name.endswith(".txt"):
                problems.append(
                    Problem(
                        display_path(relpath), "symbolic link to outside the collection skipped"
                    )
                )
            continue
        if is_dir:
            yield from _walk(Path(entry.path), root, relpath + "/", seen, problems, unread)
        else:
            yield entry, relpath


def file_identity(path: Path) -> tuple[int, int] | None:
    """Which file or folder is at ``path`` now, links followed (device and inode), or None
    when there is none."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _inside(path: str, root: Path) -> bool:
    try:
        return Path(os.path.realpath(path)).is_relative_to(root)
    except (OSError, ValueError):
        return False


def display_path(path: str) -> str:
    """A file name that is valid text: undecodable bytes become U+FFFD."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_article(root: Path, entry: FileEntry) -> tuple[Parsed | None, list[Problem]]:
    """Read and parse one file; a failure becomes a problem, never an exception."""
    shown = display_path(entry.path)
    try:
        with open(root / entry.path, "rb", opener=_open_nonblocking) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [Problem(shown, f"cannot read: {exc.strerror or exc}")]
    if len(data) > MAX_FILE_BYTES:
        return None, [Problem(shown, f"larger than {MAX_FILE_BYTES} bytes")]
    try:
        article, warnings = parse_article(data, shown)
    except ArticleError as exc:
        return None, [Problem(shown, str(exc))]
    return article, warnings


def _open_nonblocking(path: str, flags: int) -> int:
    # O_NONBLOCK: a FIFO swapped in after the scan must not hang the reader.
    return os.open(path, flags | os.O_NONBLOCK)
