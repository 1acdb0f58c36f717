"""The one place the parts are put together: the ledger on the configured store."""

from __future__ import annotations

import os

from domain.ledger import JourneyLedger
from domain.prisons import SETTING as PRISONS_SETTING
from domain.prisons import PrisonRegister
from store.config import environment_for


def open_ledger(
    url: str | None = None, *, prisons: PrisonRegister | None = None
) -> JourneyLedger:
    """The JourneyLedger on the store ``url`` names (default: LEDGER_DATABASE_URL),
    refusing prisons outside ``prisons`` (default: the configured register)."""
    return JourneyLedger(
        env=environment_for(url),
        prisons=prisons if prisons is not None else open_prison_register(),
    )


def open_prison_register() -> PrisonRegister:
    """The register of prisons: the built-in estate, with the JSON file
    ``LEDGER_PRISONS`` names if it is set. Raises ``PrisonRegisterError`` for a file
    that cannot be used."""
    return PrisonRegister.from_setting(os.environ.get(PRISONS_SETTING))
