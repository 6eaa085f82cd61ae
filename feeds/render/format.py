"""What a format module declares about itself: its extension, name and media type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..models import Feed, Story


@dataclass(frozen=True)
class Format:
    extension: str
    label: str  # shown to people: "RSS 2.0"
    link_type: str  # the bare media type, for <link type="...">
    render: Callable[[Feed[Story]], bytes]

    @property
    def media_type(self) -> str:
        """The Content-Type: every format is written in UTF-8."""
        return f"{self.link_type}; charset=utf-8"
