"""The change log: when each feed last gained or lost an article, and the articles that left
feeds, as the index records them, so validators and archive pages never go back."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from ..models import Article, Indexed
from ..snapshot import EVERYTHING, Snapshot, departures
from ..store import IndexStore, Seen


class ChangeLog:
    """Dates changes and records them in the index."""

    def __init__(self, store: IndexStore) -> None:
        self.store = store

    def moment(self) -> datetime:
        """When a change is dated: the next whole second, and after every earlier change, so
        a client that saw the previous state never has a date as late as this change."""
        latest = max((t.timestamp() for t in self.store.changes().values()), default=0.0)
        return datetime.fromtimestamp(max(int(time.time()) + 1, int(latest) + 1), UTC)

    def applied(self, snapshot: Snapshot) -> None:
        """Record what :meth:`Snapshot.apply` dated."""
        self.store.record_gone(snapshot.departed)
        self.store.record_changes(snapshot.stamped)

    def whole(self, before: Snapshot, after: Snapshot) -> None:
        """Date a change found by comparing whole snapshots (new topics, a rebuilt index)."""
        removed = [a for a in before.articles if after.by_id.get(a.id) != a]
        added = [a for a in after.articles if before.by_id.get(a.id) != a]
        retitled = before.taxonomy != after.taxonomy  # names and links may differ anywhere
        if not removed and not added and not retitled:
            return
        also = set(before.taxonomy.topics) | set(after.taxonomy.topics) if retitled else set()
        at = self._record(removed, added, also)
        after.changes, after.gone = self.store.changes(), self.store.gone()
        after.last_change = max(after.last_change, at)

    def offline(
        self, before: Mapping[str, Indexed], after: Mapping[str, Article], seen: Mapping[str, Seen]
    ) -> None:
        """Date the changes made while no server followed the collection, found by comparing
        what the index knew (by path) with what the files hold now, as a change seen now."""
        moved = [
            p
            for p, a in before.items()
            if p not in after or (after[p].digest, after[p].topics) != (a.digest, a.topics)
        ]
        arrived = [after[p] for p in after.keys() - before.keys()]
        if not moved and not arrived:
            return
        removed = []
        for p in moved:  # as they were: dated by front matter or when first seen
            old = before[p]
            published = old.published or (seen[old.id].first_seen if old.id in seen else None)
            if published is not None:
                removed.append(old.dated(published, old.updated or published))
        self._record(removed, arrived + [after[p] for p in moved if p in after])

    def _record(
        self, removed: list[Article], added: list[Article], also: Iterable[str] = ()
    ) -> datetime:
        at = self.moment()
        touched = Snapshot.touched_by(removed, added) | set(also)
        stamped = {s: at for s in touched if not s.startswith("@")}
        self.store.record_changes(stamped | {EVERYTHING: at})
        self.store.record_gone(departures(removed, added, at))
        return at
