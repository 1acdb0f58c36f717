"""The command endpoints: each command's effect, refusals, idempotency, If-Match,
incidents all or nothing, corrections, merges, and who may record where.

All data is synthetic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from api.http.routers import commands
from domain.commands import (
    AllocateOfficer,
    MergeCases,
    OpenAcct,
    ReceivePrisoner,
    RecordKeyWorkSession,
    RecordNeedsAssessment,
    RegisterOfficer,
    SetReleaseDate,
    StartTemporaryRelease,
)
from domain.context import RequestContext
from domain.events import AcctReviewed, DrugTestRecorded, IncidentRecorded
from domain.identifiers import case_id
from domain.ledger import JourneyLedger
from tests.api.conftest import Api, bearer

PN = "A1234BC"
OTHER = "B2345CD"
OFFICER = "JSMITH_GEN"
HERE = {"prison": "LEI"}


def ledger_of(api: Api) -> JourneyLedger:
    found: JourneyLedger = api.client.app.state.services.ledger  # type: ignore[attr-defined]
    return found


def last_position(api: Api) -> int:
    return ledger_of(api).recorder.max_notification_id() or 0


def state(api: Api, reply: Any, number: str = PN) -> dict[str, Any]:
    """The case as the read models show it once they include ``reply``'s event."""
    assert reply.status_code in (200, 201), reply.text
    body = reply.json()
    position = (body[0] if isinstance(body, list) else body)["position"]
    got = api.as_("inspector")(
        "GET", f"/cases/{number}", params={"min_position": position}
    )
    assert got.status_code == 200, got.text
    found: dict[str, Any] = got.json()
    return found


def last_event(api: Api, number: str = PN) -> Any:
    return list(ledger_of(api).events.get(case_id(number)))[-1]


# --- setting up state through the ledger itself ---------------------------------------


def setup_ctx(**given: Any) -> RequestContext:
    return RequestContext(
        recorded_by="SETUP_USER",
        prison="LEI",
        source="tests",
        correlation_id="test-setup",
        **given,
    )


def received(ledger: JourneyLedger, *numbers: str) -> None:
    for number in numbers or (PN,):
        ledger.record(
            setup_ctx(),
            number,
            ReceivePrisoner(
                booking_no="38412A", movement_reason="N", legal_status="remand"
            ),
        )


def with_officer(ledger: JourneyLedger, officer_id: str = OFFICER) -> None:
    ledger.register_officer(
        setup_ctx(),
        RegisterOfficer(
            officer_id=officer_id,
            name="Jo Example",
            roles=["key_worker"],
            home_prison="LEI",
        ),
    )


def case_and_officer(ledger: JourneyLedger) -> None:
    received(ledger)
    with_officer(ledger)


def allocated(ledger: JourneyLedger) -> None:
    case_and_officer(ledger)
    ledger.record(
        setup_ctx(),
        PN,
        AllocateOfficer(officer_id=OFFICER, role="key_worker", reason="Wing move"),
    )


def acct_open(ledger: JourneyLedger) -> None:
    received(ledger)
    ledger.record(setup_ctx(), PN, OpenAcct(triggers=["Self-harm on the wing"]))


def on_rotl(ledger: JourneyLedger) -> None:
    received(ledger)
    ledger.record(
        setup_ctx(),
        PN,
        StartTemporaryRelease(
            rotl_type="RO",
            expected_return=datetime.fromisoformat("2025-03-02T18:00:00+00:00"),
        ),
    )


def friday_release(ledger: JourneyLedger) -> None:
    received(ledger)
    ledger.record(
        setup_ctx(),
        PN,
        SetReleaseDate(
            date_type="CRD", release_date=datetime.fromisoformat("2025-06-13").date()
        ),
    )


def both_received(ledger: JourneyLedger) -> None:
    received(ledger, PN, OTHER)


def merged(ledger: JourneyLedger) -> None:
    both_received(ledger)
    ledger.execute(setup_ctx(), PN, MergeCases(survivor_number=OTHER))


def nothing(ledger: JourneyLedger) -> None:
    pass


# --- one realistic body per command, and the state it needs ---------------------------


@dataclass(frozen=True)
class Command:
    path: str
    body: dict[str, Any]
    prepare: Callable[[JourneyLedger], None] = received
    prison_field: str = "prison"


def on_case(suffix: str) -> str:
    return f"/cases/{PN}/{suffix}"


COMMANDS: dict[str, Command] = {
    "receptions": Command(
        on_case("receptions"),
        {"booking_no": "38412A", "movement_reason": "N", "legal_status": "remand"},
        prepare=nothing,
    ),
    "health-screenings": Command(
        on_case("health-screenings"),
        {"stage": "initial", "outcome": "No concerns", "referrals": ["dentist"]},
    ),
    "needs-assessments": Command(
        on_case("needs-assessments"),
        {**RecordNeedsAssessment.example, "caring_responsibilities": False},
    ),
    "risk-assessments": Command(
        on_case("risk-assessments"),
        {
            "tier": "B",
            "tier_change_level": 2,
            "rosh": "medium",
            "likelihood_of_reoffending": "high",
            "assessor": "Probation practitioner",
        },
    ),
    "sentence-plans": Command(
        on_case("sentence-plans"),
        {
            "objectives": ["Complete a thinking skills programme"],
            "interventions_required": ["thinking_skills", "kaizen"],
            "interventions_available": ["thinking_skills"],
        },
    ),
    "allocations": Command(
        on_case("allocations"),
        {"officer_id": OFFICER, "role": "key_worker", "reason": "New on the wing"},
        prepare=case_and_officer,
    ),
    "deallocations": Command(
        on_case("deallocations"),
        {"officer_id": OFFICER, "role": "key_worker", "reason": "Officer moved"},
        prepare=allocated,
    ),
    "acct-openings": Command(
        on_case("acct-openings"), {"triggers": ["Self-harm on the wing"]}
    ),
    "acct-reviews": Command(
        on_case("acct-reviews"), {"outcome": "continue"}, prepare=acct_open
    ),
    "acct-closures": Command(
        on_case("acct-closures"), {"reason": "No longer at risk"}, prepare=acct_open
    ),
    "drug-tests": Command(
        on_case("drug-tests"),
        {
            "test_ref": "MDT-LEI-000123",
            "reason": "random",
            "result": "positive",
            "substances": ["synthetic_cannabinoids"],
        },
    ),
    "transfers": Command(
        on_case("transfers"), {"to_prison": "MDI", "movement_reason": "NOTR"}
    ),
    "temporary-releases": Command(
        on_case("temporary-releases"),
        {"rotl_type": "RO", "expected_return": "2025-03-02T18:00:00Z"},
    ),
    "temporary-release-returns": Command(
        on_case("temporary-release-returns"),
        {"failed_to_return": False},
        prepare=on_rotl,
    ),
    "resettlement-steps": Command(
        on_case("resettlement-steps"),
        {"element": "bank_account", "status": "done", "detail": "Account opened"},
    ),
    "release-dates": Command(
        on_case("release-dates"), {"date_type": "CRD", "release_date": "2025-06-13"}
    ),
    "early-release-days": Command(
        on_case("early-release-days"),
        {
            "date_type": "CRD",
            "approved_date": "2025-06-12",
            "authority": "Governor Example",
        },
        prepare=friday_release,
    ),
    "releases": Command(
        on_case("releases"), {"movement_reason": "CR", "accommodation": "settled"}
    ),
    "incentive-reviews": Command(
        on_case("incentive-reviews"),
        {"level": "ENH", "review_type": "review", "reason": "Good behaviour"},
    ),
    "key-work-sessions": Command(
        on_case("key-work-sessions"), dict(RecordKeyWorkSession.example)
    ),
    "corrections": Command(
        on_case("corrections"),
        {
            "version": 3,
            "reason": "Keyed against the wrong date",
            "corrected_fields": {"release_date": "2025-06-18"},
        },
        prepare=friday_release,
    ),
    "merges": Command(
        on_case("merges"), {"survivor_number": OTHER}, prepare=both_received
    ),
    "unmerges": Command(
        on_case("unmerges"), {"survivor_number": OTHER}, prepare=merged
    ),
    "incidents": Command(
        "/incidents",
        {
            "incident_ref": "IR-2025-000123",
            "incident_type": "fight",
            "location": "A wing, landing 2",
            "severity": "minor",
            "narrative": "Two people fought on the landing; separated by staff.",
            "people": [
                {"prisoner_number": PN, "role": "perpetrator"},
                {"prisoner_number": OTHER, "role": "victim"},
            ],
        },
        prepare=both_received,
    ),
    "officers": Command(
        "/officers",
        {"officer_id": "NEW_OFFICER", "name": "Sam Example", "roles": ["pom"]},
        prepare=nothing,
        prison_field="home_prison",
    ),
}


def body_of(command: Command, prison: str = "LEI", **more: Any) -> dict[str, Any]:
    return {**command.body, command.prison_field: prison, **more}


def send(api: Api, name: str, role: str = "recorder", **more: Any) -> Any:
    command = COMMANDS[name]
    return api.as_(role, ("LEI", "MDI"))(
        "POST", command.path, json=body_of(command, **more)
    )


# --- every command and its effect ---------------------------------------------------


def test_assessments_and_plans(api: Api) -> None:
    received(ledger_of(api))
    seen = state(api, send(api, "health-screenings"))
    assert seen["initial_screening_at"] is not None
    send(api, "health-screenings", stage="comprehensive", outcome="Seen by GP")
    send(api, "needs-assessments").raise_for_status()
    seen = state(api, send(api, "risk-assessments"))
    assert (seen["tier"], seen["tier_change_level"], seen["rosh"]) == ("B", 2, "medium")
    assert seen["comprehensive_screening_at"] is not None
    send(api, "sentence-plans").raise_for_status()
    case = ledger_of(api).case(PN)
    assert case.needs is not None and case.needs["literacy_level"] == "entry_3"
    assert case.sentence_plan is not None
    assert case.sentence_plan["interventions_required"] == ["thinking_skills", "kaizen"]
    seen = state(api, send(api, "incentive-reviews"))
    assert seen["incentive_level"] == "ENH"
    seen = state(api, send(api, "resettlement-steps"))
    assert seen["resettlement_finished"] == 1


def test_registering_an_officer_then_allocating_and_deallocating(api: Api) -> None:
    received(ledger_of(api))
    registered = send(api, "officers", officer_id=OFFICER, roles=["key_worker"])
    assert registered.status_code == 201, registered.text
    assert registered.json()["officer_id"] == OFFICER
    assert registered.json()["position"] >= 1
    again = send(api, "officers", officer_id=OFFICER, roles=["key_worker"])
    assert (again.status_code, again.json()["rule"]) == (409, "officer-registered-once")

    reply = send(api, "allocations")
    assert reply.status_code == 201, reply.text
    assert reply.headers["ETag"] == f'"{reply.json()["version"]}"'
    assert state(api, reply)["key_worker"] == OFFICER
    assert PN in ledger_of(api).officer(OFFICER).caseload
    assert state(api, send(api, "deallocations"))["key_worker"] is None
    assert PN not in ledger_of(api).officer(OFFICER).caseload


def test_over_the_caseload_limit_needs_a_reason_and_the_body_s_authority(
    api: Api,
) -> None:
    ledger = ledger_of(api)
    with_officer(ledger)
    held = [f"C{n:04d}DE" for n in range(6)]
    received(ledger, *held, PN)
    for number in held:
        ledger.record(
            setup_ctx(),
            number,
            AllocateOfficer(officer_id=OFFICER, role="key_worker", reason="Wing"),
        )
    refused = send(api, "allocations")
    assert (refused.status_code, refused.json()["rule"]) == (409, "caseload-limit")
    no_authority = send(api, "allocations", override_reason="Continuity of care")
    assert no_authority.json()["rule"] == "override-needs-reason-and-authority"
    allowed = send(
        api,
        "allocations",
        override_reason="Continuity of care",
        authority="Custodial manager Example",
    )
    assert allowed.status_code == 201, allowed.text
    held_now = ledger.officer(OFFICER).caseload[PN]
    assert held_now["override_reason"] == "Continuity of care"
    assert held_now["authority"] == "Custodial manager Example"


def test_acct_drug_tests_and_incidents(api: Api) -> None:
    both_received(ledger_of(api))
    assert state(api, send(api, "acct-openings"))["acct_open"] is True
    send(api, "acct-reviews").raise_for_status()
    assert isinstance(last_event(api), AcctReviewed)
    assert state(api, send(api, "acct-closures"))["acct_open"] is False

    send(api, "drug-tests").raise_for_status()
    tested = last_event(api)
    assert isinstance(tested, DrugTestRecorded)
    assert (tested.result, tested.substances) == (
        "positive",
        ["synthetic_cannabinoids"],
    )

    reply = send(api, "incidents")
    assert reply.status_code == 201, reply.text
    assert [r["prisoner_number"] for r in reply.json()] == [PN, OTHER]
    roles = {}
    for number in (PN, OTHER):
        event = last_event(api, number)
        assert isinstance(event, IncidentRecorded)
        assert event.incident_ref == "IR-2025-000123"
        roles[number] = event.role
    assert roles == {PN: "perpetrator", OTHER: "victim"}


def test_movements_release_days_and_release(api: Api) -> None:
    received(ledger_of(api))
    seen = state(api, send(api, "temporary-releases"))
    assert seen["status"] == "on_rotl"
    assert state(api, send(api, "temporary-release-returns"))["status"] == "in_custody"

    seen = state(api, send(api, "release-dates"))
    assert (seen["release_date"], seen["release_flagged"]) == ("2025-06-13", True)
    seen = state(api, send(api, "early-release-days"))
    assert seen["early_release_date"] == "2025-06-12"

    seen = state(api, send(api, "transfers"))
    assert seen["prison"] == "MDI"
    # Recorded at MDI now: the case is there.
    reply = send(api, "releases", prison="MDI")
    seen = state(api, reply)
    assert (seen["status"], seen["prison"]) == ("released", "MDI")


# --- refusals ------------------------------------------------------------------------


def test_a_refused_rule_is_409_naming_it(api: Api) -> None:
    received(ledger_of(api))
    reply = send(api, "transfers", to_prison="LEI")
    assert reply.status_code == 409
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["rule"] == "no-transfer-to-current-prison"
    reply = send(api, "health-screenings", stage="comprehensive")
    assert reply.json()["rule"] == "screening-stages-in-order"
    reply = send(api, "early-release-days")
    assert (reply.status_code, reply.json()["rule"]) == (
        409,
        "early-release-day-needs-flag",
    )


@pytest.mark.parametrize(
    ("name", "bad", "field_named"),
    [
        ("drug-tests", {"result": "maybe"}, "result"),
        ("transfers", {"movement_reason": "XYZ"}, "movement_reason"),
        ("risk-assessments", {"tier_change_level": 4}, "tier_change_level"),
        (
            "sentence-plans",
            {"interventions_required": ["juggling"]},
            "interventions_required.0",
        ),
        (
            "temporary-releases",
            {"expected_return": "2025-03-02T18:00:00"},
            "expected_return",
        ),
        ("allocations", {"officer_id": "lower_case"}, "officer_id"),
        ("incidents", {"people": []}, "people"),
        (
            "incidents",
            {"people": [{"prisoner_number": PN, "role": "bystander"}]},
            "people.0.role",
        ),
        ("officers", {"roles": ["governor"]}, "roles.0"),
        ("acct-closures", {"reason": "x" * 201}, "reason"),
    ],
)
def test_a_bad_code_or_size_is_422_naming_the_field(
    api: Api, name: str, bad: dict[str, Any], field_named: str
) -> None:
    received(ledger_of(api))
    before = last_position(api)
    reply = send(api, name, **bad)
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["field"] == field_named
    assert last_position(api) == before


def test_an_incident_names_each_person_once(api: Api) -> None:
    both_received(ledger_of(api))
    twice = [{"prisoner_number": PN, "role": "victim"}] * 2
    reply = send(api, "incidents", people=twice)
    assert (reply.status_code, reply.json()["field"]) == (422, "people")


def test_an_incident_is_all_or_nothing(api: Api) -> None:
    received(ledger_of(api))
    before = last_position(api)
    version = ledger_of(api).case(PN).version
    reply = send(api, "incidents")  # OTHER has no case
    assert reply.status_code == 404, reply.text
    assert reply.json()["rule"] == "case-exists"
    assert last_position(api) == before
    assert ledger_of(api).case(PN).version == version
    assert ledger_of(api).find_case(OTHER) is None


# --- idempotency and If-Match --------------------------------------------------------


def test_a_retry_with_the_same_key_stores_nothing_new(api: Api) -> None:
    both_received(ledger_of(api))
    recorder = api.as_("recorder")
    key = {"Idempotency-Key": "mdt-system-7781"}
    command = COMMANDS["drug-tests"]
    first = recorder("POST", command.path, json=body_of(command), headers=key)
    again = recorder("POST", command.path, json=body_of(command), headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    assert again.headers["ETag"] == first.headers["ETag"]

    # Incidents: the body's source_ref, across both cases.
    before = last_position(api)
    first = send(api, "incidents", source_ref="nomis-incident-991")
    again = send(api, "incidents", source_ref="nomis-incident-991")
    assert (first.status_code, again.status_code) == (201, 200)
    assert [r["duplicate"] for r in again.json()] == [True, True]
    assert [r["position"] for r in again.json()] == [
        r["position"] for r in first.json()
    ]
    assert last_position(api) == before + 2


def test_a_stale_if_match_is_412(api: Api) -> None:
    received(ledger_of(api))
    recorder = api.as_("recorder")
    command = COMMANDS["risk-assessments"]
    current = ledger_of(api).case(PN).version
    stale = recorder(
        "POST", command.path, json=body_of(command), headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == current
    fresh = recorder(
        "POST",
        command.path,
        json=body_of(command),
        headers={"If-Match": f'"{current}"'},
    )
    assert fresh.status_code == 201, fresh.text
    assert fresh.headers["ETag"] == f'"{current + 1}"'


# --- corrections and merges -----------------------------------------------------------


def test_a_correction_of_a_date_and_a_time(api: Api) -> None:
    friday_release(ledger_of(api))
    seen = state(api, send(api, "corrections"))
    assert (seen["release_date"], seen["release_flagged"]) == ("2025-06-18", False)

    screened = send(api, "health-screenings")
    version = screened.json()["version"]
    reply = send(
        api,
        "corrections",
        version=version,
        corrected_fields={"occurred_at": "2025-03-01T08:15:00+00:00"},
    )
    seen = state(api, reply)
    assert datetime.fromisoformat(
        seen["initial_screening_at"]
    ) == datetime.fromisoformat("2025-03-01T08:15:00+00:00")
    bad = send(
        api,
        "corrections",
        version=3,
        corrected_fields={"release_date": "18/06/2025"},
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "release_date")
    twice = send(api, "corrections")
    assert (twice.status_code, twice.json()["rule"]) == (409, "correct-once")


def test_merge_then_the_retired_number_refuses_commands_until_unmerged(
    api: Api,
) -> None:
    both_received(ledger_of(api))
    stale = api.as_("recorder")(
        "POST",
        f"/cases/{PN}/merges",
        json=body_of(COMMANDS["merges"]),
        headers={"If-Match": '"1"'},
    )
    assert stale.status_code == 412
    reply = send(api, "merges")
    assert reply.status_code == 201, reply.text
    assert [r["prisoner_number"] for r in reply.json()] == [PN, OTHER]
    seen = state(api, reply)
    assert (seen["requested_number"], seen["prisoner_number"]) == (PN, OTHER)

    refused = send(api, "drug-tests")
    assert refused.status_code == 409
    assert refused.json()["rule"] == "no-events-on-merged-record"

    parted = send(api, "unmerges")
    assert parted.status_code == 201, parted.text
    assert ledger_of(api).case(PN).merged_into is None
    assert send(api, "drug-tests").status_code == 201


# --- who may record where ------------------------------------------------------------

CALLERS: dict[str, tuple[str, tuple[str, ...], str] | None] = {
    # caller: (role, the token's caseload, the prison the body names)
    "recorder": ("recorder", ("LEI",), "LEI"),
    "recorder, body outside caseload": ("recorder", ("MDI",), "LEI"),
    "recorder, case outside caseload": ("recorder", ("MDI",), "MDI"),
    "inspector": ("inspector", ("LEI",), "LEI"),
    "investigator": ("investigator", ("LEI",), "LEI"),
    "consumer": ("consumer", ("LEI",), "LEI"),
    "admin": ("admin", ("LEI",), "LEI"),
    "no token": None,
}
ON_A_CASE = (201, 403, 403, 403, 403, 403, 403, 401)
EXPECTED: dict[str, tuple[int, ...]] = {
    #                            rec  body case insp inv  cons adm  none
    # A reception brings a new case into the recorder's own prison.
    "receptions":                (201, 403, 201, 403, 403, 403, 403, 401),
    "health-screenings":         ON_A_CASE,
    "needs-assessments":         ON_A_CASE,
    "risk-assessments":          ON_A_CASE,
    "sentence-plans":            ON_A_CASE,
    "allocations":               ON_A_CASE,
    "deallocations":             ON_A_CASE,
    "acct-openings":             ON_A_CASE,
    "acct-reviews":              ON_A_CASE,
    "acct-closures":             ON_A_CASE,
    "drug-tests":                ON_A_CASE,
    "transfers":                 ON_A_CASE,
    "temporary-releases":        ON_A_CASE,
    "temporary-release-returns": ON_A_CASE,
    "resettlement-steps":        ON_A_CASE,
    "release-dates":             ON_A_CASE,
    "early-release-days":        ON_A_CASE,
    "releases":                  ON_A_CASE,
    "incentive-reviews":         ON_A_CASE,
    "key-work-sessions":         ON_A_CASE,
    "corrections":               ON_A_CASE,
    "merges":                    ON_A_CASE,
    "unmerges":                  ON_A_CASE,
    "incidents":                 ON_A_CASE,
    # An officer's home prison is the only place: MDI's recorder registers at MDI.
    "officers":                  (201, 403, 201, 403, 403, 403, 403, 401),
}  # fmt: skip


def test_the_matrix_covers_every_command_endpoint() -> None:
    paths = {route.path for route in commands.router.routes}  # type: ignore[attr-defined]
    covered = {
        COMMANDS[name].path.replace(PN, "{prisoner_number}") for name in EXPECTED
    }
    assert paths == covered


@pytest.mark.parametrize("name", list(EXPECTED))
def test_who_may_record(api: Api, name: str) -> None:
    command = COMMANDS[name]
    command.prepare(ledger_of(api))
    got: dict[str, int] = {}
    stored_on_refusal = []
    # The allowed recorder goes last, so every refusal meets a valid command.
    for caller, expected in reversed(list(zip(CALLERS, EXPECTED[name], strict=True))):
        spec = CALLERS[caller]
        headers = bearer(spec[0], spec[1]) if spec else {}
        prison = spec[2] if spec else "LEI"
        more = {"officer_id": f"OFFICER_{len(got)}"} if name == "officers" else {}
        # Each caller's reception is of another person.
        path = command.path.replace(PN, f"R{len(got):04d}AA")
        path = path if name == "receptions" else command.path
        before = last_position(api)
        reply = api.client.post(
            path, json=body_of(command, prison, **more), headers=headers
        )
        got[caller] = reply.status_code
        if expected >= 400 and last_position(api) != before:
            stored_on_refusal.append(caller)
    assert tuple(got[c] for c in CALLERS) == EXPECTED[name], got
    assert stored_on_refusal == []
