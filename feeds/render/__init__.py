"""Output formats: one module each, behind one registry keyed by file extension.

A renderer takes a format-independent :class:`~feeds.models.Feed` and returns
the document's bytes. Each module declares its :class:`Format` (extension, name, media
type); adding a format is one module and one entry here.
"""

from __future__ import annotations

from . import atom, jsonfeed, rss
from .format import Format

__all__ = ["FORMATS", "Format"]

# Each module declares its own format; the order is the one pages list them in.
FORMATS: dict[str, Format] = {f.extension: f for f in (rss.FORMAT, atom.FORMAT, jsonfeed.FORMAT)}
