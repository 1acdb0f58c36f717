"""Aggregates folded forward event by event, so read models see each case's state.

Read models derive their rows from the domain's own state (corrections and merges
applied by the aggregate itself), never from a second copy of the rules. A rebuild
from position 0 meets every aggregate's first event, so it never reads the store
again; a follower that restarts mid-stream loads each aggregate once, at the version
just before the first event it sees (snapshots make that cheap).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ledger import JourneyLedger

MAX_CACHED = 200_000


class AggregateFolder:
    def __init__(self, ledger: JourneyLedger, max_cached: int = MAX_CACHED) -> None:
        self.ledger = ledger
        self.max_cached = max_cached
        self.cache: OrderedDict[UUID, Aggregate] = OrderedDict()
        self.last: Aggregate | None = None
        """The aggregate folded last, the newest in the cache."""

    def fold(self, event: Any) -> Aggregate:
        """The aggregate just after ``event`` (which must be its next event)."""
        originator_id: UUID = event.originator_id
        version: int = event.originator_version
        # Most events follow one of the same aggregate (nine in ten in a seeded
        # estate): that one is the newest in the cache already, so it is folded
        # without taking it out and putting it back (two hashes of a UUID).
        last = self.last
        if (
            last is not None
            and last.version == version - 1
            and last.id == originator_id
        ):
            try:
                event.mutate(last)
            except BaseException:
                # Perhaps half changed: as on the other path, loaded again next time.
                self.last = None
                del self.cache[originator_id]
                raise
            return last
        aggregate = self.cache.pop(originator_id, None)
        if version == 1:
            aggregate = event.mutate(None)
        else:
            if aggregate is None or aggregate.version != version - 1:
                aggregate = self.ledger.repository.get(
                    originator_id, version=version - 1
                )
            event.mutate(aggregate)
        assert aggregate is not None
        self.cache[originator_id] = aggregate
        self.last = aggregate
        if len(self.cache) > self.max_cached:
            _, evicted = self.cache.popitem(last=False)
            if evicted is aggregate:
                self.last = None
        return aggregate
