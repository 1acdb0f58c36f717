"""``ledger demo`` for now: exercise the event store until the domain and API exist.

Writes synthetic opaque events (no personal data: the store knows nothing of prisons)
into a demo database, then recomputes every leaf and the root from the stored rows
and compares them with the frontier the writes kept.
"""

from __future__ import annotations

import random
import time
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InfrastructureFactory, StoredEvent

from store.config import environment_for
from store.merkle import root_from_leaf_hashes

DEMO_URL = "sqlite:///var/store-demo.db"


def run_store_demo(url: str = DEMO_URL, events: int = 5_000, seed: int = 1) -> str:
    rng = random.Random(seed)
    factory: Any = InfrastructureFactory.construct(environment_for(url))
    recorder = factory.application_recorder()
    try:
        started = time.perf_counter()
        written = 0
        while written < events:
            batch_size = min(rng.randint(1, 8), events - written)
            originator = UUID(int=rng.getrandbits(128), version=4)
            recorder.insert_events(
                [
                    StoredEvent(
                        originator_id=originator,
                        originator_version=v + 1,
                        topic="demo:SyntheticEvent",
                        state=rng.randbytes(rng.randint(40, 400)),
                    )
                    for v in range(batch_size)
                ]
            )
            written += batch_size
        elapsed = time.perf_counter() - started
        leaves = []
        after = 0
        while rows := recorder.select_sealed_rows(after=after, limit=5_000):
            for row in rows:
                if row.recomputed_leaf_hash() != row.leaf_hash:
                    return f"seal broken at position {row.position}"
                leaves.append(row.leaf_hash)
            after = rows[-1].position
        frontier = recorder.frontier()
        recomputed = root_from_leaf_hashes(leaves)
        verdict = "OK" if recomputed == frontier.root() else "MISMATCH"
        return (
            f"wrote {events} events in {elapsed:.2f} s into {url}\n"
            f"log size {frontier.size}, root {frontier.root().hex()}\n"
            f"recomputed from {len(leaves)} stored rows: {verdict}"
        )
    finally:
        factory.close()
