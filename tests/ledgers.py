"""Test helpers for the ledger: contexts, the commands tests record most (receptions,
risk assessments, incidents), a JourneyLedger on a store."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from typing import Any

from api.settings import LedgerSettings
from api.wiring import open_ledger
from domain.commands import (
    IncidentPerson,
    ReceivePrisoner,
    RecordIncident,
    RecordRiskAssessment,
)
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


def reception(**overrides: Any) -> ReceivePrisoner:
    """A new reception of a synthetic person on remand, but for ``overrides``."""
    fields: dict[str, Any] = {
        "booking_no": "10001A",
        "movement_reason": "N",
        "legal_status": "remand",
        "personal_details": {"first_name": "Testy", "last_name": "McTestface"},
    }
    fields.update(overrides)
    return ReceivePrisoner(**fields)


def receive(
    ledger: JourneyLedger,
    number: str,
    prison: str = "LEI",
    *,
    occurred_at: datetime | None = None,
    **kw: Any,
) -> int:
    """Receive a person on remand (``reception`` with ``kw``); returns the case's
    version."""
    context = ctx(prison=prison, occurred_at=occurred_at)
    return ledger.record(context, number, reception(**kw)).version


def risk_assessment(**overrides: Any) -> RecordRiskAssessment:
    """Tier B, two levels of change, high risk of serious harm, but for
    ``overrides``."""
    fields: dict[str, Any] = {
        "tier": "B",
        "tier_change_level": 2,
        "rosh": "high",
        "likelihood_of_reoffending": "medium",
        "assessor": "Dr Synthetic",
    }
    fields.update(overrides)
    return RecordRiskAssessment(**fields)


def incident(*people: IncidentPerson, **overrides: Any) -> RecordIncident:
    """A serious self-harm in Healthcare involving ``people``, but for
    ``overrides``."""
    fields: dict[str, Any] = {
        "incident_ref": "IR-2025-000001",
        "incident_type": "self_harm",
        "location": "Healthcare",
        "severity": "serious",
        "narrative": "Synthetic.",
        "people": people,
    }
    fields.update(overrides)
    return RecordIncident(**fields)


def ledger_on(url: str, **settings: str) -> JourneyLedger:
    """The ledger on ``url`` as the composition root builds it, with ``settings``
    (``LEDGER_*`` names) as the environment would give them."""
    environ = {"LEDGER_DATABASE_URL": url, **settings}
    return open_ledger(LedgerSettings.from_environment(environ))
