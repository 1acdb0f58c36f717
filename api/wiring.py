"""The one place the parts are put together: the ledger on the configured store."""

from __future__ import annotations

from domain.ledger import JourneyLedger
from store.config import environment_for


def open_ledger(url: str | None = None) -> JourneyLedger:
    """The JourneyLedger on the store ``url`` names (default: LEDGER_DATABASE_URL).

    ``LEDGER_CIPHER_KEY``, ``LEDGER_CASELOAD_LIMITS`` and ``LEDGER_SNAPSHOT_INTERVAL``
    are read from the environment by the ledger itself.
    """
    return JourneyLedger(env=environment_for(url))
