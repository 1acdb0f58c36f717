"""Each read model, given events, holds the rows people expect: on both stores."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from domain.commands import (
    AgreeSentencePlan,
    AllocateOfficer,
    CorrectEvent,
    IncidentPerson,
    MergeCases,
    OpenAcct,
    RecordDrugTest,
    RecordHealthScreening,
    RecordRelease,
    RecordTransfer,
    RegisterOfficer,
    SetReleaseDate,
)
from domain.ledger import JourneyLedger
from tests.ledgers import ctx, incident, receive, risk_assessment
from tests.projections.conftest import ReadModels

PN = "A1234BC"
DAY = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # a Monday


def at(days: float) -> datetime:
    return DAY + timedelta(days=days)


def assess(ledger: JourneyLedger, tier: str, when: datetime) -> int:
    assessment = risk_assessment(tier=tier, tier_change_level=1)
    return ledger.record(ctx(occurred_at=when), PN, assessment).version


def test_case_state_follows_the_case_with_corrections(
    ledger: JourneyLedger, read_models: ReadModels
) -> None:
    receive(ledger, PN, legal_status="sentenced", movement_reason="I")
    version = assess(ledger, "B", at(1))
    ledger.record(
        ctx(), PN, SetReleaseDate(date_type="CRD", release_date=date(2025, 6, 13))
    )
    ledger.record(ctx(), PN, OpenAcct(triggers=["low mood"]))
    state = read_models.catch_up().case_state(PN)
    assert state is not None
    assert (state["status"], state["prison"], state["tier"], state["rosh"]) == (
        "in_custody",
        "LEI",
        "B",
        "high",
    )
    assert (state["release_date"], state["release_flagged"]) == ("2025-06-13", 1)
    assert state["acct_open"] == 1
    ledger.record(
        ctx(),
        PN,
        CorrectEvent(
            version=version, reason="wrong form", corrected_fields={"tier": "D"}
        ),
    )
    state = read_models.catch_up().case_state(PN)
    assert state is not None and state["tier"] == "D"
    assert state["version"] == ledger.case(PN).version


def test_timeline_is_the_audit_trail(
    ledger: JourneyLedger, read_models: ReadModels
) -> None:
    receive(ledger, PN)
    version = assess(ledger, "C", at(1))
    ledger.record(
        ctx(authority="GOV_LEI"),
        PN,
        CorrectEvent(
            version=version, reason="wrong form", corrected_fields={"tier": "A"}
        ),
    )
    receive(ledger, "B2222BB")
    ledger.execute(ctx(), "B2222BB", MergeCases(survivor_number=PN))
    rows = read_models.catch_up().timeline(PN)
    kinds = [r["kind"] for r in rows]
    assert kinds == [
        "CaseOpened",
        "PrisonerReceived",
        "RiskAssessed",
        "EventCorrected",
        "CasesMerged",
    ]
    assessed, correction, merge = rows[2], rows[3], rows[4]
    assert assessed["occurred_at"].startswith("2025-06-03T09:00")
    assert assessed["recorded_at"] > assessed["occurred_at"]
    assert assessed["recorded_by"] == "TSTAFF_GEN" and assessed["prison"] == "LEI"
    assert assessed["corrected_by_version"] == correction["case_version"]
    # The data recorded, not as corrected later in the same page.
    assert json.loads(assessed["data"])["tier"] == "C"
    assert correction["corrects_version"] == version
    assert correction["authority"] == "GOV_LEI"
    assert merge["related_number"] == "B2222BB"
    sealed = {
        r.position: r.leaf_hash.hex()
        for r in ledger.recorder.select_sealed_rows(0, 100)  # type: ignore[attr-defined]
    }
    assert all(r["leaf_hash"] == sealed[r["position"]] for r in rows)


def test_caseloads_with_overrides(
    ledger: JourneyLedger, read_models: ReadModels
) -> None:
    ledger.register_officer(
        ctx(),
        RegisterOfficer(
            officer_id="KW1_LEI", name="Kay", roles=["key_worker"], home_prison="LEI"
        ),
    )
    numbers = [f"A{i:04d}AA" for i in range(1, 9)]
    for number in numbers:
        receive(ledger, number)
    for number in numbers[:6]:
        ledger.record(
            ctx(),
            number,
            AllocateOfficer(officer_id="KW1_LEI", role="key_worker", reason="new"),
        )
    ledger.record(
        ctx(authority="CUSTMGR_LEI"),
        numbers[6],
        AllocateOfficer(
            officer_id="KW1_LEI",
            role="key_worker",
            reason="new",
            override_reason="staff sickness",
        ),
    )
    ledger.record(
        ctx(), numbers[0], RecordRelease(movement_reason="CR", accommodation="settled")
    )
    queries = read_models.catch_up()
    assert [r["prisoner_number"] for r in queries.caseload("KW1_LEI")] == numbers[1:7]
    [override] = queries.over_limit_allocations("LEI")
    assert override["prisoner_number"] == numbers[6]
    assert (override["override_reason"], override["authority"]) == (
        "staff sickness",
        "CUSTMGR_LEI",
    )


def test_roll_now_and_on_past_days(
    ledger: JourneyLedger, read_models: ReadModels
) -> None:
    receive(ledger, PN, occurred_at=at(0), personal_details=None)
    moved = ledger.record(
        ctx(occurred_at=at(5)),
        PN,
        RecordTransfer(to_prison="MDI", movement_reason="NOTR"),
    ).version
    ledger.record(
        ctx(occurred_at=at(9)),
        PN,
        RecordRelease(movement_reason="BL", accommodation="settled"),
    )
    # A duplicate record of the same person, merged: never counted twice.
    receive(
        ledger, "B2222BB", occurred_at=at(1), booking_no="10002B", personal_details=None
    )
    ledger.execute(ctx(), "B2222BB", MergeCases(survivor_number=PN))
    queries = read_models.catch_up()
    assert queries.roll_on("LEI", at(3).date()) == [PN]
    assert queries.roll_on("MDI", at(3).date()) == []
    assert queries.roll_on("MDI", at(6).date()) == [PN]
    assert queries.roll("MDI", at(10)) == []
    ledger.record(
        ctx(),
        PN,
        CorrectEvent(
            version=moved,
            reason="moved a day earlier",
            corrected_fields={"occurred_at": at(2)},
        ),
    )
    queries = read_models.catch_up()
    assert queries.roll_on("LEI", at(3).date()) == []
    assert queries.roll_on("MDI", at(3).date()) == [PN]


def test_overdue_checks(ledger: JourneyLedger, read_models: ReadModels) -> None:
    now = at(30)
    receive(
        ledger,
        PN,
        occurred_at=at(28),
        movement_reason="I",
        legal_status="sentenced",
        personal_details=None,
    )
    ledger.record(
        ctx(occurred_at=at(29)),
        PN,
        AgreeSentencePlan(
            objectives=["work"],
            interventions_required=["resolve", "education"],
            interventions_available=["education"],
        ),
    )
    ledger.record(
        ctx(),
        PN,
        SetReleaseDate(date_type="CRD", release_date=(now + timedelta(weeks=8)).date()),
    )
    overdue = {r["check_name"]: r for r in read_models.catch_up().overdue("LEI", now)}
    assert set(overdue) == {
        "initial_screening",
        "untiered",
        "resettlement_passport",
        "interventions_unavailable",
    }
    assert overdue["interventions_unavailable"]["detail"] == "resolve"
    ledger.record(ctx(), PN, RecordHealthScreening(stage="initial", outcome="ok"))
    assess(ledger, "C", at(29))
    overdue = {r["check_name"] for r in read_models.catch_up().overdue("LEI", now)}
    assert overdue == {"resettlement_passport", "interventions_unavailable"}
    later = {r["check_name"] for r in read_models.queries.overdue("LEI", at(40))}
    assert "comprehensive_screening" in later


def test_indicators_and_league_table(
    ledger: JourneyLedger, read_models: ReadModels
) -> None:
    for i, prison in enumerate(("LEI", "MDI")):
        number = f"A{i:04d}AA"
        receive(ledger, number, prison, occurred_at=at(0), personal_details=None)
        ledger.record(
            ctx(prison=prison, occurred_at=at(0.5)),
            number,
            RecordHealthScreening(stage="initial", outcome="ok"),
        )
    ledger.record_incident(
        ctx(occurred_at=at(2)),
        incident(IncidentPerson(prisoner_number="A0000AA", role="involved")),
    )
    for n, result in enumerate(("positive", "negative", "refused", "negative")):
        ledger.record(
            ctx(occurred_at=at(3)),
            "A0000AA",
            RecordDrugTest(
                test_ref=f"MDT-LEI-00000{n}",
                reason="random",
                result=result,
                substances=["cocaine"] if result == "positive" else [],
            ),
        )
    ledger.record(
        ctx(prison="MDI", occurred_at=at(11)),
        "A0001AA",
        RecordRelease(movement_reason="CR", accommodation="settled"),
    )
    queries = read_models.catch_up()
    lei = queries.indicators("LEI", "2025-06").as_dict()
    assert lei["counts"]["incidents"] == 1 and lei["counts"]["self_harm"] == 1
    assert lei["drug_tests_positive_rate"] == 0.25
    assert lei["drug_tests_refused_rate"] == 0.25
    assert lei["initial_screening_on_time_rate"] == 1.0
    # One person for 29 of June's 30 days (from 09:00 on the 2nd).
    adp = queries.average_daily_population("LEI", "2025-06")
    assert adp == (30 - 1 - 9 / 24) / 30
    mdi = queries.indicators("MDI", "2025-06").as_dict()
    assert mdi["counts"]["releases"] == 1 and mdi["friday_releases"] == 1
    assert mdi["released_with_accommodation_rate"] == 1.0
    league = queries.league_table("2025-06")
    assert [(r["rank"], r["prison"]) for r in league] == [(1, "MDI"), (2, "LEI")]
