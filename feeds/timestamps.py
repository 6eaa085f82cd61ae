"""How moments are written out: RFC 3339, in UTC."""

from __future__ import annotations

from datetime import datetime


def rfc3339(moment: datetime, *, offset: bool = False) -> str:
    """An aware UTC moment in RFC 3339, UTC spelled ``Z`` as pages, ``status.json`` and
    ``feeds list`` write it; with ``offset``, spelled ``+00:00`` as feedgen writes Atom's
    dates, so that the JSON Feed and Atom of one feed give the same strings."""
    text = moment.isoformat()
    return text if offset else text.replace("+00:00", "Z")
