"""A few synthetic journeys written through the ledger, for the query and feed tests.

Every name here is made up. Times are relative to now so rolls, overdue checks and
indicators have something to find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.commands import (
    AllocateOfficer,
    IncidentPerson,
    RecordHealthScreening,
    RegisterOfficer,
)
from domain.ledger import JourneyLedger
from tests.api.conftest import Api
from tests.ledgers import ctx, incident, receive, reception, risk_assessment

A = "A1234BC"  # at LEI: screened, tiered, an incident, a key worker
B = "B2345CD"  # at LEI: received 3 days ago, never screened (overdue)
C = "C3456DE"  # at MDI
OFFICER = "JSMITH_GEN"
NARRATIVE = "Synthetic narrative: found with a ligature, talked down."
FIRST_NAME = "Alexandra"


@dataclass(frozen=True)
class Seeded:
    position: int
    """The last event's position (the read models have reached it by the time
    ``seed`` returns)."""
    now: datetime
    received_a: datetime
    received_b: datetime


def ledger_of(api: Api) -> JourneyLedger:
    ledger: JourneyLedger = api.client.app.state.services.ledger  # type: ignore[attr-defined]
    return ledger


def seed(api: Api) -> Seeded:
    ledger = ledger_of(api)
    now = datetime.now(UTC)
    days = [now - timedelta(days=n) for n in range(21)]
    receive(
        ledger,
        A,
        occurred_at=days[20],
        booking_no="38412A",
        movement_reason="I",
        legal_status="sentenced",
        sentence_days=700,
        personal_details={"first_name": FIRST_NAME, "last_name": "Example"},
    )
    ledger.record(
        ctx(occurred_at=days[20] + timedelta(hours=3)),
        A,
        RecordHealthScreening(stage="initial", outcome="screened"),
    )
    ledger.record(ctx(occurred_at=days[15]), A, risk_assessment())
    ledger.record_incident(
        ctx(occurred_at=days[10]),
        incident(
            IncidentPerson(prisoner_number=A, role="involved"),
            incident_ref="IR-2025-000123",
            location="A wing",
            narrative=NARRATIVE,
        ),
    )
    ledger.register_officer(
        ctx(),
        RegisterOfficer(
            officer_id=OFFICER, name="Jo Smith", roles=["key_worker"], home_prison="LEI"
        ),
    )
    ledger.record(
        ctx(),
        A,
        AllocateOfficer(officer_id=OFFICER, role="key_worker", reason="new arrival"),
    )
    receive(
        ledger,
        B,
        occurred_at=days[3],
        booking_no="38413B",
        personal_details={"first_name": "Bo", "last_name": "Example"},
    )
    last = ledger.record(
        ctx(prison="MDI", occurred_at=days[5]),
        C,
        reception(booking_no="38414C", personal_details=None),
    )
    assert last.position is not None
    # Reads without min_position answer from the read models: let them catch up
    # first, so no test races the follower (a loaded machine lags it by seconds).
    runner = api.client.app.state.services.runner  # type: ignore[attr-defined]
    assert runner.wait_for(last.position, timeout=30)
    return Seeded(last.position, now, days[20], days[3])
