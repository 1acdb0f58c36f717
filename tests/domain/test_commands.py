"""Every command, and every rule that guards one, on both stores."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain import errors
from domain.commands import (
    AgreeSentencePlan,
    ApproveEarlyReleaseDay,
    CloseAcct,
    EndTemporaryRelease,
    IncidentPerson,
    OpenAcct,
    RecordDrugTest,
    RecordHealthScreening,
    RecordNeedsAssessment,
    RecordRelease,
    RecordResettlementStep,
    RecordRiskAssessment,
    RecordTransfer,
    ReviewAcct,
    ReviewIncentiveLevel,
    SetReleaseDate,
    StartTemporaryRelease,
)
from domain.events import CASE_EVENTS
from domain.ledger import JourneyLedger
from tests.ledgers import ctx, incident, receive, reception, risk_assessment

PN = "A1234BC"


def stored_topics(ledger: JourneyLedger) -> list[str]:
    return [n.topic for n in ledger.recorder.select_notifications(1, 10_000)]


def count_stored(ledger: JourneyLedger) -> int:
    return len(stored_topics(ledger))


def test_first_reception_opens_a_case_with_a_booking(ledger: JourneyLedger) -> None:
    result = ledger.record(
        ctx(prison="MDI"),
        PN,
        reception(
            booking_no="38412A",
            movement_reason="I",
            legal_status="sentenced",
            sentence_days=730,
            personal_details={"first_name": "Alex", "last_name": "Example"},
        ),
    )
    assert (result.version, result.position, result.duplicate) == (2, 2, False)
    case = ledger.case(PN)
    assert case.status == "in_custody"
    assert case.prison == "MDI"
    assert case.booking_no == "38412A"
    assert case.bookings[0]["sentence_days"] == 730
    assert stored_topics(ledger) == [
        CASE_EVENTS["CaseOpened"].TOPIC,
        CASE_EVENTS["PrisonerReceived"].TOPIC,
    ]


def test_every_event_carries_the_recording_metadata(ledger: JourneyLedger) -> None:
    when = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    ledger.record(
        ctx(
            recorded_by="AOFFICER_GEN",
            prison="LEI",
            source="nomis-sync",
            source_ref="nomis-991",
            correlation_id="corr-abc",
            authority="GOV_LEI",
            occurred_at=when,
        ),
        PN,
        reception(personal_details=None),
    )
    event = list(ledger.events.get(ledger.case(PN).id))[-1]
    assert event.occurred_at == when
    assert event.timestamp > when  # record time is the store's, not the source's
    assert (event.recorded_by, event.prison, event.source) == (
        "AOFFICER_GEN",
        "LEI",
        "nomis-sync",
    )
    assert (event.source_ref, event.correlation_id, event.authority) == (
        "nomis-991",
        "corr-abc",
        "GOV_LEI",
    )


def test_a_resent_command_stores_nothing_and_returns_the_first_result(
    ledger: JourneyLedger,
) -> None:
    receive(ledger, PN)
    assessment = risk_assessment()
    first = ledger.record(ctx(source_ref="oasys-17"), PN, assessment)
    stored = count_stored(ledger)
    again = ledger.record(ctx(source_ref="oasys-17"), PN, assessment)
    assert again.duplicate
    assert (again.version, again.position) == (first.version, first.position)
    assert count_stored(ledger) == stored


def test_a_reference_reused_for_another_request_is_refused(
    ledger: JourneyLedger,
) -> None:
    receive(ledger, PN)
    ledger.record(ctx(source_ref="oasys-17"), PN, OpenAcct(triggers=["low mood"]))
    stored = count_stored(ledger)
    other_fields = OpenAcct(triggers=["a different trigger"])
    other_command = RecordDrugTest(
        test_ref="MDT-LEI-000001", reason="random", result="negative"
    )
    for command in (other_fields, other_command):
        with pytest.raises(errors.ReferenceReused, match="oasys-17"):
            ledger.record(ctx(source_ref="oasys-17"), PN, command)
    with pytest.raises(errors.ReferenceReused):
        # The same fields from another recorder are another request.
        ledger.record(
            ctx(source_ref="oasys-17", recorded_by="OTHER_GEN"),
            PN,
            OpenAcct(triggers=["low mood"]),
        )
    assert count_stored(ledger) == stored
    assert ledger.case(PN).acct_open


def test_a_stale_expected_version_is_refused(ledger: JourneyLedger) -> None:
    version = receive(ledger, PN)
    ledger.record(
        ctx(), PN, OpenAcct(triggers=["self-harm disclosed"]), expected_version=2
    )
    stored = count_stored(ledger)
    with pytest.raises(errors.StaleVersion) as refused:
        ledger.record(
            ctx(), PN, ReviewAcct(outcome="continue"), expected_version=version
        )
    assert refused.value.current_version == 3
    assert count_stored(ledger) == stored


def test_health_screening_stages_in_order(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    with pytest.raises(errors.ScreeningOutOfOrder):
        ledger.record(
            ctx(),
            PN,
            RecordHealthScreening(stage="comprehensive", outcome="no concerns"),
        )
    ledger.record(
        ctx(), PN, RecordHealthScreening(stage="initial", outcome="no concerns")
    )
    with pytest.raises(errors.ScreeningOutOfOrder):
        ledger.record(
            ctx(), PN, RecordHealthScreening(stage="initial", outcome="again")
        )
    ledger.record(
        ctx(),
        PN,
        RecordHealthScreening(
            stage="comprehensive", outcome="referred", referrals=["mental health"]
        ),
    )
    assert set(ledger.case(PN).screenings) == {"initial", "comprehensive"}


def test_assessments_and_plans_update_the_case(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    ledger.record(
        ctx(),
        PN,
        RecordNeedsAssessment(
            substance_misuse=True,
            learning_difficulty_or_disability=False,
            literacy_level="entry_3",
            numeracy_level="level_1",
            has_id=False,
            has_bank_account=True,
            housing_on_release="no_fixed_abode",
            caring_responsibilities=False,
        ),
    )
    ledger.record(
        ctx(),
        PN,
        risk_assessment(
            tier="A",
            tier_change_level=3,
            rosh="very_high",
            likelihood_of_reoffending="high",
        ),
    )
    ledger.record(
        ctx(),
        PN,
        AgreeSentencePlan(
            objectives=["address substance misuse"],
            interventions_required=["substance_misuse_treatment", "thinking_skills"],
            interventions_available=["thinking_skills"],
        ),
    )
    ledger.record(
        ctx(),
        PN,
        ReviewIncentiveLevel(
            level="ENH", review_type="review", reason="good behaviour"
        ),
    )
    case = ledger.case(PN)
    assert case.needs is not None and case.needs["has_id"] is False
    assert (case.tier, case.tier_change_level, case.rosh) == ("A", 3, "very_high")
    assert case.sentence_plan is not None
    assert case.sentence_plan["interventions_available"] == ["thinking_skills"]
    assert case.incentive_level == "ENH"


def test_bad_codes_are_refused_naming_the_field(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    stored = count_stored(ledger)
    with pytest.raises(errors.InvalidValue) as refused:
        ledger.record(
            ctx(),
            PN,
            RecordRiskAssessment(
                tier="E",
                tier_change_level=0,
                rosh="low",
                likelihood_of_reoffending="low",
                assessor="x",
            ),
        )
    assert refused.value.field == "tier"
    with pytest.raises(errors.InvalidValue) as refused:
        ledger.record(
            ctx(),
            "a1234bc",
            reception(personal_details=None),
        )
    assert refused.value.field == "prisoner_number"
    assert count_stored(ledger) == stored


def test_incident_with_several_people_is_one_event_per_case_in_one_save(
    ledger: JourneyLedger,
) -> None:
    for number in ("A1111AA", "B2222BB", "C3333CC"):
        receive(ledger, number)
    results = ledger.record_incident(
        ctx(),
        incident(
            IncidentPerson(prisoner_number="A1111AA", role="perpetrator"),
            IncidentPerson(prisoner_number="B2222BB", role="victim"),
            IncidentPerson(prisoner_number="C3333CC", role="involved"),
            incident_ref="IR-2025-000042",
            incident_type="fight",
            location="A wing landing 2",
            narrative="Synthetic narrative of a fight.",
        ),
    )
    positions = sorted(r.position or 0 for r in results)
    assert positions == [7, 8, 9]  # consecutive: one atomic save
    roles = {
        r.prisoner_number: list(ledger.events.get(ledger.case(r.prisoner_number).id))[
            -1
        ].role
        for r in results
    }
    assert roles == {
        "A1111AA": "perpetrator",
        "B2222BB": "victim",
        "C3333CC": "involved",
    }


def test_incident_is_all_or_nothing(ledger: JourneyLedger) -> None:
    receive(ledger, "A1111AA")
    stored = count_stored(ledger)
    with pytest.raises(errors.CaseNotFound):
        ledger.record_incident(
            ctx(),
            incident(
                IncidentPerson(prisoner_number="A1111AA", role="perpetrator"),
                IncidentPerson(prisoner_number="Z9999ZZ", role="victim"),
                incident_ref="IR-2025-000043",
                incident_type="assault_on_prisoner",
                location="Gym",
                severity="minor",
            ),
        )
    assert count_stored(ledger) == stored


def test_acct_open_review_close(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    with pytest.raises(errors.NoOpenAcct):
        ledger.record(ctx(), PN, ReviewAcct(outcome="continue"))
    ledger.record(ctx(), PN, OpenAcct(triggers=["low mood"]))
    with pytest.raises(errors.AcctAlreadyOpen):
        ledger.record(ctx(), PN, OpenAcct(triggers=["again"]))
    ledger.record(ctx(), PN, ReviewAcct(outcome="ready_to_close"))
    ledger.record(ctx(), PN, CloseAcct(reason="risk reduced"))
    assert not ledger.case(PN).acct_open
    with pytest.raises(errors.NoOpenAcct):
        ledger.record(ctx(), PN, CloseAcct(reason="twice"))


def test_drug_tests(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    ledger.record(
        ctx(),
        PN,
        RecordDrugTest(
            test_ref="MDT-LEI-000001",
            reason="random",
            result="positive",
            substances=["synthetic_cannabinoids"],
        ),
    )
    ledger.record(
        ctx(),
        PN,
        RecordDrugTest(test_ref="MDT-LEI-000002", reason="random", result="refused"),
    )
    with pytest.raises(errors.InvalidValue) as refused:
        ledger.record(
            ctx(),
            PN,
            RecordDrugTest(
                test_ref="MDT-LEI-000003",
                reason="random",
                result="negative",
                substances=["cocaine"],
            ),
        )
    assert refused.value.field == "substances"


def test_transfers(ledger: JourneyLedger) -> None:
    receive(ledger, PN, prison="LEI")
    with pytest.raises(errors.TransferToSamePrison):
        ledger.record(
            ctx(), PN, RecordTransfer(to_prison="LEI", movement_reason="NOTR")
        )
    ledger.record(ctx(), PN, RecordTransfer(to_prison="MDI", movement_reason="OVCROW"))
    assert ledger.case(PN).prison == "MDI"
    event = list(ledger.events.get(ledger.case(PN).id))[-1]
    assert (event.from_prison, event.to_prison) == ("LEI", "MDI")


def test_temporary_release(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    with pytest.raises(errors.NotOnTemporaryRelease):
        ledger.record(ctx(), PN, EndTemporaryRelease())
    back = datetime(2025, 6, 1, 18, 0, tzinfo=UTC)
    ledger.record(
        ctx(), PN, StartTemporaryRelease(rotl_type="R2", expected_return=back)
    )
    assert ledger.case(PN).status == "on_rotl"
    with pytest.raises(errors.OnTemporaryRelease):
        ledger.record(
            ctx(), PN, RecordTransfer(to_prison="MDI", movement_reason="NOTR")
        )
    with pytest.raises(errors.OnTemporaryRelease):
        ledger.record(
            ctx(), PN, RecordRelease(movement_reason="CR", accommodation="settled")
        )
    ledger.record(ctx(), PN, EndTemporaryRelease(failed_to_return=False))
    assert ledger.case(PN).status == "in_custody"


def test_resettlement_steps(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    ledger.record(
        ctx(),
        PN,
        RecordResettlementStep(
            element="id", status="in_progress", detail="birth certificate ordered"
        ),
    )
    ledger.record(
        ctx(),
        PN,
        RecordResettlementStep(
            element="id", status="done", detail="provisional licence issued"
        ),
    )
    assert ledger.case(PN).resettlement == {"id": "done"}


def test_release_closes_the_booking_and_stops_further_events(
    ledger: JourneyLedger,
) -> None:
    with pytest.raises(errors.CaseNotFound):
        ledger.record(
            ctx(), PN, RecordRelease(movement_reason="CR", accommodation="settled")
        )
    receive(ledger, PN)
    ledger.record(
        ctx(),
        PN,
        RecordRelease(movement_reason="HR", accommodation="approved_premises"),
    )
    case = ledger.case(PN)
    assert case.status == "released"
    assert case.bookings[-1]["release_reason"] == "HR"
    assert case.last_release is not None and case.last_release["release_type"] == "hdc"
    with pytest.raises(errors.NoOpenBooking):
        ledger.record(
            ctx(), PN, RecordRelease(movement_reason="CR", accommodation="settled")
        )
    with pytest.raises(errors.CaseIsReleased):
        ledger.record(ctx(), PN, OpenAcct(triggers=["x"]))
    with pytest.raises(errors.CaseIsReleased):
        ledger.record(
            ctx(), PN, RecordTransfer(to_prison="MDI", movement_reason="NOTR")
        )
    # A new reception opens a new booking.
    receive(ledger, PN, booking_no="10002B", movement_reason="L", legal_status="recall")
    case = ledger.case(PN)
    assert case.status == "in_custody" and len(case.bookings) == 2


def test_a_second_reception_while_in_custody_is_refused(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    with pytest.raises(errors.AlreadyInCustody):
        receive(ledger, PN, booking_no="10009Z")


def test_release_date_on_a_friday_is_flagged(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    ledger.record(
        ctx(), PN, SetReleaseDate(date_type="CRD", release_date=date(2025, 6, 13))
    )
    flagged = ledger.case(PN).release_dates["CRD"]
    assert flagged["flagged"] is True
    assert flagged["earliest_allowed"] == date(2025, 6, 11)  # Wednesday
    with pytest.raises(errors.AuthorityRequired):
        ledger.record(
            ctx(),
            PN,
            ApproveEarlyReleaseDay(date_type="CRD", approved_date=date(2025, 6, 11)),
        )
    with pytest.raises(errors.EarlyReleaseDayNotAllowed):
        ledger.record(
            ctx(authority="GOV_LEI"),
            PN,
            ApproveEarlyReleaseDay(date_type="CRD", approved_date=date(2025, 6, 10)),
        )
    ledger.record(
        ctx(authority="GOV_LEI"),
        PN,
        ApproveEarlyReleaseDay(date_type="CRD", approved_date=date(2025, 6, 11)),
    )
    assert ledger.case(PN).release_dates["CRD"]["approved_date"] == date(2025, 6, 11)


def test_release_date_midweek_is_not_flagged(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    ledger.record(
        ctx(), PN, SetReleaseDate(date_type="SLED", release_date=date(2025, 6, 11))
    )
    assert ledger.case(PN).release_dates["SLED"]["flagged"] is False
    with pytest.raises(errors.NoFlaggedReleaseDate):
        ledger.record(
            ctx(authority="GOV_LEI"),
            PN,
            ApproveEarlyReleaseDay(date_type="SLED", approved_date=date(2025, 6, 10)),
        )


def test_occurred_at_needs_a_time_zone() -> None:
    with pytest.raises(errors.InvalidValue) as refused:
        ctx(occurred_at=datetime(2025, 1, 1, 12, 0))
    assert refused.value.field == "occurred_at"
    assert ctx(occurred_at=datetime.now(UTC) - timedelta(days=1)).occurred_at
