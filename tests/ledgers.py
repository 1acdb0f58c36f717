"""Test helpers for the ledger: contexts, receptions, a JourneyLedger on a store."""

from __future__ import annotations

from itertools import count
from typing import Any

from api.settings import LedgerSettings
from api.wiring import open_ledger
from domain.commands import ReceivePrisoner
from domain.context import RequestContext
from domain.ledger import JourneyLedger

_refs = count(1)


def ctx(**overrides: Any) -> RequestContext:
    """A recording context at Leeds (LEI) by a synthetic officer."""
    values: dict[str, Any] = {
        "recorded_by": "TSTAFF_GEN",
        "prison": "LEI",
        "source": "tests",
        "correlation_id": f"corr-{next(_refs)}",
    }
    values.update(overrides)
    return RequestContext(**values)


def receive(ledger: JourneyLedger, number: str, prison: str = "LEI", **kw: Any) -> int:
    """Receive a person on remand; returns the case's version."""
    fields: dict[str, Any] = {
        "booking_no": "10001A",
        "movement_reason": "N",
        "legal_status": "remand",
        "personal_details": {"first_name": "Testy", "last_name": "McTestface"},
    }
    fields.update(kw)
    return ledger.record(ctx(prison=prison), number, ReceivePrisoner(**fields)).version


def ledger_on(url: str, **settings: str) -> JourneyLedger:
    """The ledger on ``url`` as the composition root builds it, with ``settings``
    (``LEDGER_*`` names) as the environment would give them."""
    environ = {"LEDGER_DATABASE_URL": url, **settings}
    return open_ledger(LedgerSettings.from_environment(environ))
