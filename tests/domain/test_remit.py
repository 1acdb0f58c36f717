"""A recorder records only in its caseload's prisons, on cases held there now.

The ledger checks the remit as it loads each case for the command, so a transfer that
commits between that check and the save makes the save collide; the command re-runs,
sees where the person is now, and is refused with nothing stored.
"""

from __future__ import annotations

from typing import Any

import pytest

from domain import errors
from domain.case import Case
from domain.commands import (
    ReceivePrisoner,
    RecordDrugTest,
    RecordRelease,
    RecordTransfer,
)
from domain.ledger import JourneyLedger
from store.config import environment_for
from tests.ledgers import ctx, ledger_on, receive

PN = "A1234BC"
LEI_ONLY = frozenset({"LEI"})


def drug_test(ledger: JourneyLedger, **context: Any) -> None:
    ledger.record(
        ctx(**context),
        PN,
        RecordDrugTest(test_ref="MDT-LEI-000001", reason="random", result="negative"),
    )


def stored(ledger: JourneyLedger) -> int:
    return ledger.recorder.max_notification_id() or 0


def test_a_recorder_acts_on_cases_held_in_its_caseload(ledger: JourneyLedger) -> None:
    receive(ledger, PN, prison="MDI")
    before = stored(ledger)
    with pytest.raises(errors.OutsideRemit) as refused:
        drug_test(ledger, remit=LEI_ONLY)
    assert refused.value.rule == "recorder-caseload"
    assert "MDI" in refused.value.message
    assert stored(ledger) == before
    drug_test(ledger, prison="MDI", remit=frozenset({"MDI"}))
    assert stored(ledger) == before + 1


def test_the_recording_prison_must_be_in_the_remit() -> None:
    with pytest.raises(errors.OutsideRemit):
        ctx(prison="MDI", remit=LEI_ONLY)
    with pytest.raises(errors.InvalidValue):
        ctx(remit=frozenset({"leeds"}))


def test_a_reception_may_bring_a_released_person_into_the_remit(
    ledger: JourneyLedger,
) -> None:
    receive(ledger, PN, prison="MDI")
    ledger.record(
        ctx(prison="MDI"),
        PN,
        RecordRelease(movement_reason="CR", accommodation="settled"),
    )
    again = ledger.record(
        ctx(remit=LEI_ONLY),
        PN,
        ReceivePrisoner(
            booking_no="10002B", movement_reason="N", legal_status="remand"
        ),
    )
    assert ledger.case(PN).prison == "LEI" and again.version > 0


class TransferredMeanwhile(JourneyLedger):
    """Another writer transfers the person to MDI just after this ledger loads the
    case for a command (the window a check-then-save would leave open)."""

    def __init__(self, url: str, other: JourneyLedger) -> None:
        super().__init__(env=environment_for(url))
        self._other = other
        self._moved = False

    def find_case(self, prisoner_number: str) -> Case | None:
        case = super().find_case(prisoner_number)
        if not self._moved:
            self._moved = True
            self._other.record(
                ctx(),
                prisoner_number,
                RecordTransfer(to_prison="MDI", movement_reason="OVCROW"),
            )
        return case


def test_a_transfer_between_check_and_save_refuses_the_command(store_url: str) -> None:
    other = ledger_on(store_url)
    receive(other, PN, prison="LEI")
    racing = TransferredMeanwhile(store_url, other)
    before = stored(other)
    with pytest.raises(errors.OutsideRemit):
        drug_test(racing, remit=LEI_ONLY)
    (last,) = other.recorder.select_notifications(before + 1, 10)
    assert last.topic.endswith("Transferred")  # the transfer, and nothing after it
    assert other.case(PN).prison == "MDI"
