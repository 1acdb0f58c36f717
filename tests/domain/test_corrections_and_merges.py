"""Corrections keep the original and change what the case shows; merges and unmerges."""

from __future__ import annotations

from datetime import date

import pytest

from domain import errors
from domain.commands import (
    CorrectEvent,
    MergeCases,
    OpenAcct,
    RecordRelease,
    SetReleaseDate,
    UnmergeCases,
)
from domain.events import EventCorrected, RiskAssessed
from domain.ledger import JourneyLedger
from tests.ledgers import ctx, receive, risk_assessment

PN = "A1234BC"


def assess(ledger: JourneyLedger, tier: str) -> int:
    assessment = risk_assessment(tier=tier, tier_change_level=1, rosh="medium")
    return ledger.record(ctx(), PN, assessment).version


def test_a_correction_changes_the_case_and_keeps_the_original(
    ledger: JourneyLedger,
) -> None:
    receive(ledger, PN)
    version = assess(ledger, "B")
    result = ledger.record(
        ctx(),
        PN,
        CorrectEvent(
            version=version, reason="keyed wrong", corrected_fields={"tier": "C"}
        ),
    )
    assert ledger.case(PN).tier == "C"
    history = list(ledger.events.get(ledger.case(PN).id))
    original, correction = history[version - 1], history[result.version - 1]
    assert isinstance(original, RiskAssessed) and original.tier == "B"
    assert isinstance(correction, EventCorrected)
    assert correction.corrects_version == version
    assert correction.corrects_topic == RiskAssessed.TOPIC
    assert correction.corrected_fields == {"tier": "C"}


def test_correcting_an_older_event_does_not_override_a_newer_one(
    ledger: JourneyLedger,
) -> None:
    receive(ledger, PN)
    older = assess(ledger, "B")
    assess(ledger, "A")
    ledger.record(
        ctx(),
        PN,
        CorrectEvent(
            version=older, reason="keyed wrong", corrected_fields={"tier": "D"}
        ),
    )
    assert ledger.case(PN).tier == "A"


def test_correcting_a_release_date_recomputes_its_flag(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    version = ledger.record(
        ctx(), PN, SetReleaseDate(date_type="CRD", release_date=date(2025, 6, 11))
    ).version
    assert not ledger.case(PN).release_dates["CRD"]["flagged"]
    with pytest.raises(errors.InvalidValue):
        ledger.record(
            ctx(),
            PN,
            CorrectEvent(
                version=version, reason="x", corrected_fields={"flagged": True}
            ),
        )
    ledger.record(
        ctx(),
        PN,
        CorrectEvent(
            version=version,
            reason="calculation error",
            corrected_fields={"release_date": date(2025, 6, 13)},
        ),
    )
    assert ledger.case(PN).release_dates["CRD"]["flagged"]


def test_correction_rules(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    version = assess(ledger, "B")

    def correct(target: int, fields: dict[str, str]) -> int:
        command = CorrectEvent(version=target, reason="x", corrected_fields=fields)
        return ledger.record(ctx(), PN, command).version

    for refusal, target, fields in (
        (errors.CorrectionTargetMissing, 99, {"tier": "C"}),
        (errors.CorrectionNotCorrectable, 1, {"prisoner_number": "x"}),
        (errors.IdentityFieldNotCorrectable, 2, {"booking_no": "20002B"}),
        (errors.IdentityFieldNotCorrectable, version, {"prison": "MDI"}),
        (errors.InvalidValue, version, {"tier": "Z"}),
    ):
        with pytest.raises(refusal):
            correct(target, fields)
    correction = correct(version, {"tier": "C"})
    for refusal, target in (
        (errors.AlreadyCorrected, version),
        (errors.CorrectionNotCorrectable, correction),
    ):
        with pytest.raises(refusal):
            correct(target, {"tier": "D"})


def test_a_released_case_can_still_be_corrected(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    released = ledger.record(
        ctx(), PN, RecordRelease(movement_reason="CR", accommodation="not_known")
    ).version
    ledger.record(
        ctx(),
        PN,
        CorrectEvent(
            version=released,
            reason="accommodation confirmed late",
            corrected_fields={"accommodation": "settled", "movement_reason": "HR"},
        ),
    )
    release = ledger.case(PN).last_release
    assert release is not None
    assert (release["accommodation"], release["release_type"]) == ("settled", "hdc")


def test_merge_and_unmerge(ledger: JourneyLedger) -> None:
    receive(ledger, "A1111AA")
    receive(ledger, "B2222BB")
    with pytest.raises(errors.MergeNotAllowed):
        ledger.execute(ctx(), "A1111AA", MergeCases(survivor_number="A1111AA"))
    ledger.execute(ctx(), "B2222BB", MergeCases(survivor_number="A1111AA"))
    assert ledger.case("B2222BB").merged_into == "A1111AA"
    assert ledger.case("A1111AA").absorbed == ["B2222BB"]
    assert ledger.resolve_case("B2222BB").prisoner_number == "A1111AA"
    with pytest.raises(errors.CaseRetired):
        ledger.record(ctx(), "B2222BB", OpenAcct(triggers=["x"]))
    with pytest.raises(errors.MergeNotAllowed):
        ledger.execute(ctx(), "A1111AA", MergeCases(survivor_number="B2222BB"))
    with pytest.raises(errors.NotMerged):
        ledger.execute(ctx(), "A1111AA", UnmergeCases(survivor_number="B2222BB"))
    ledger.execute(ctx(), "B2222BB", UnmergeCases(survivor_number="A1111AA"))
    assert ledger.case("B2222BB").merged_into is None
    assert ledger.case("A1111AA").absorbed == []
    # Both histories stay readable under their own numbers.
    for number in ("A1111AA", "B2222BB"):
        topics = [type(e).__name__ for e in ledger.events.get(ledger.case(number).id)]
        assert topics[-2:] == ["CasesMerged", "CasesUnmerged"]
    ledger.record(ctx(), "B2222BB", OpenAcct(triggers=["after unmerge"]))
