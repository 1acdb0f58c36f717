"""The domain's rules are unit tests: each runs on the library's in-memory store, in
milliseconds. What the stores themselves must do is tested in tests/store (both
stores), and the HTTP edge end to end in tests/api."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.ledger import JourneyLedger


@pytest.fixture
def ledger() -> Iterator[JourneyLedger]:
    """A JourneyLedger on the library's in-memory (POPO) store."""
    app = JourneyLedger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app
    app.close()
