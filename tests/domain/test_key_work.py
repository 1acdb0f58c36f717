"""Key work sessions: the regular, structured time a key worker spends with a person
in custody, recorded as held or attempted. Synthetic data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import errors
from domain.commands import (
    CorrectEvent,
    RecordKeyWorkSession,
    RecordRelease,
    StartTemporaryRelease,
)
from domain.events import KeyWorkSessionRecorded
from domain.ledger import JourneyLedger
from tests.ledgers import ctx, receive

PN = "A1234BC"
AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def session(held: bool = True, minutes: int = 45) -> RecordKeyWorkSession:
    return RecordKeyWorkSession(
        officer_id="JSMITH_GEN",
        duration_minutes=minutes,
        held=held,
        narrative="Talked about family contact and the induction plan.",
    )


def test_a_held_session_is_the_cases_last(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    ledger.record(ctx(occurred_at=AT), PN, session())
    ledger.record(ctx(occurred_at=AT + timedelta(days=7)), PN, session(held=False))
    case = ledger.case(PN)
    # An attempt that was not held is recorded, but is not a session held.
    assert case.last_key_work_session == AT
    events = [e for e in ledger.events.get(case.id)]
    assert isinstance(events[-1], KeyWorkSessionRecorded)
    assert events[-1].summary() == "Key work session attempted with JSMITH_GEN (45 min)"


def test_a_session_needs_the_person_in_the_prison(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    ledger.record(
        ctx(),
        PN,
        StartTemporaryRelease(rotl_type="RO", expected_return=AT + timedelta(hours=8)),
    )
    with pytest.raises(errors.OnTemporaryRelease):
        ledger.record(ctx(), PN, session())
    receive(ledger, "B2345CD")
    ledger.record(
        ctx(), "B2345CD", RecordRelease(movement_reason="CR", accommodation="settled")
    )
    with pytest.raises(errors.CaseIsReleased):
        ledger.record(ctx(), "B2345CD", session())


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 24 * 60 + 1}, "duration_minutes"),
        ({"officer_id": "j smith"}, "officer_id"),
        ({"held": "yes"}, "held"),
        ({"narrative": " "}, "narrative"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    fields: dict[str, object], field: str
) -> None:
    good = {
        "officer_id": "JSMITH_GEN",
        "duration_minutes": 45,
        "held": True,
        "narrative": "A short account.",
    }
    with pytest.raises(errors.InvalidValue) as refused:
        RecordKeyWorkSession.from_fields({**good, **fields})
    assert refused.value.field == field


def test_a_correction_of_when_it_was_held_moves_the_last_session(
    ledger: JourneyLedger,
) -> None:
    receive(ledger, PN)
    version = ledger.record(ctx(occurred_at=AT), PN, session()).version
    earlier = AT - timedelta(days=3)
    ledger.record(
        ctx(),
        PN,
        CorrectEvent(
            version=version,
            reason="keyed against the wrong day",
            corrected_fields={"occurred_at": earlier.isoformat()},
        ),
    )
    assert ledger.case(PN).last_key_work_session == earlier
    with pytest.raises(errors.InvalidValue) as refused:
        ledger.record(
            ctx(),
            PN,
            CorrectEvent(
                version=version, reason="x", corrected_fields={"duration_minutes": -5}
            ),
        )
    assert refused.value.field == "duration_minutes"


def test_a_new_booking_starts_without_a_session(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    ledger.record(ctx(occurred_at=AT), PN, session())
    ledger.record(
        ctx(), PN, RecordRelease(movement_reason="CR", accommodation="settled")
    )
    receive(ledger, PN, booking_no="20002B")
    assert ledger.case(PN).last_key_work_session is None
