"""The one place the parts are put together: the ledger on the configured store."""

from __future__ import annotations

import os

from domain.ledger import JourneyLedger
from domain.prisons import SETTING as PRISONS_SETTING
from domain.prisons import PrisonRegister
from store.config import environment_for


def open_ledger(url: str | None = None) -> JourneyLedger:
    """The JourneyLedger on the store ``url`` names (default: LEDGER_DATABASE_URL).

    ``LEDGER_CIPHER_KEY``, ``LEDGER_CASELOAD_LIMITS`` and ``LEDGER_SNAPSHOT_INTERVAL``
    are read from the environment by the ledger itself.
    """
    return JourneyLedger(env=environment_for(url))


def open_prison_register() -> PrisonRegister:
    """The register of prisons: the built-in estate, with the JSON file
    ``LEDGER_PRISONS`` names if it is set. Raises ``PrisonRegisterError`` for a file
    that cannot be used."""
    return PrisonRegister.from_setting(os.environ.get(PRISONS_SETTING))
