"""Commands: one endpoint per domain command, shaped like the reception.

Each body extends ``Recording`` (prison, occurred_at, source_ref, authority); each
takes ``Idempotency-Key`` and ``If-Match``; each replies ``CommandAccepted`` (201 when
stored, 200 when the source_ref / key was already applied) with ``ETag: "<version>"``.
Only the recorder role writes, and only where it works: the body's prison and the
prison every case touched is in now must both be in the token's caseload (DESIGN
section 8). Domain refusals become problem+json in ``api.problems``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from api.auth import Principal
from api.problems import PROBLEM_RESPONSES
from api.routers.cases import Found, Number, Recorder
from api.routers.parameters import (
    PRISON_CODE,
    PRISONER_NUMBER,
    SOURCE,
    CommandAccepted,
    IdempotencyKey,
    IfMatch,
    Recording,
    accepted_reply,
    expected_version,
    recording_context,
)
from api.services import Services, services_of
from domain import codes
from domain.context import RequestContext
from domain.errors import InvalidValue
from domain.ledger import CommandResult, JourneyLedger
from domain.validation import (
    FIELDS,
    MAX_ITEMS,
    MAX_NARRATIVE,
    MAX_TEXT,
    a_date,
    a_moment,
)

router = APIRouter(tags=["commands"], responses=PROBLEM_RESPONSES)

OFFICER_ID = r"^[A-Z][A-Z0-9_]{1,29}$"
INCIDENT_REF = r"^IR-\d{4}-\d{6}$"
DRUG_TEST_REF = r"^MDT-[A-Z]{3}-\d{6}$"
MAX_PEOPLE = 50

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NARRATIVE)]
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def duplicate(model: Any) -> dict[int | str, dict[str, Any]]:
    """The 200 reply: what a re-sent command gets."""
    return {
        200: {
            "model": model,
            "description": "Already applied (same source_ref or Idempotency-Key): "
            "the first answer, nothing stored",
        }
    }


ON_A_CASE: dict[str, Any] = {
    "status_code": 201,
    "response_model": CommandAccepted,
    "responses": duplicate(CommandAccepted),
}
ON_CASES: dict[str, Any] = {
    "status_code": 201,
    "response_model": list[CommandAccepted],
    "responses": duplicate(list[CommandAccepted]),
}


def example(**fields: Any) -> ConfigDict:
    """A body model's config: codes as plain strings, and one example for /docs."""
    return ConfigDict(
        use_enum_values=True,
        json_schema_extra={"examples": [{"prison": "LEI", **fields}]},
    )


# --- who may record where ---------------------------------------------------------


@dataclass
class CaseCommand:
    """A command on the case in the path: who asks, and the headers they sent."""

    prisoner_number: str
    request: Request
    principal: Principal
    found: Services
    idempotency_key: str | None
    if_match: str | None

    @property
    def ledger(self) -> JourneyLedger:
        return self.found.ledger

    def context(self, body: Recording) -> RequestContext:
        """The recording context: the recorder works at the body's prison, and the
        ledger checks where each case is held as it runs the command (the context's
        remit), so the check and the save are one step."""
        self.principal.require_recorder_at(body.prison)
        return recording_context(
            self.request, self.principal, body, self.idempotency_key
        )

    @property
    def expected_version(self) -> int | None:
        return expected_version(self.if_match)

    def accepted(self, result: CommandResult) -> Response:
        return accepted_reply(result)

    def all_accepted(self, results: list[CommandResult]) -> Response:
        """Several cases: 200 only if all were already applied; ETag of this case."""
        return accepted_reply(results)


async def case_command(  # a coroutine: no hand-off to the thread pool (api.auth)
    prisoner_number: Number,
    request: Request,
    principal: Recorder,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> CaseCommand:
    return CaseCommand(
        prisoner_number,
        request,
        principal,
        services_of(request),
        idempotency_key,
        if_match,
    )


OnCase = Annotated[CaseCommand, Depends(case_command)]


# --- assessments and plans --------------------------------------------------------


class HealthScreening(Recording):
    stage: codes.ScreeningStage = Field(
        description="initial (due within 24 h of reception), then comprehensive "
        "(within 7 days)"
    )
    outcome: Text
    referrals: list[Text] = Field(default_factory=list, max_length=MAX_ITEMS)

    model_config = example(
        stage="initial",
        outcome="No immediate health concerns",
        referrals=["mental_health_in_reach"],
    )


@router.post(
    "/cases/{prisoner_number}/health-screenings",
    summary="Record a health screening",
    **ON_A_CASE,
)
def record_health_screening(body: HealthScreening, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.record_health_screening(
            ctx,
            on.prisoner_number,
            stage=body.stage,
            outcome=body.outcome,
            referrals=body.referrals,
            expected_version=on.expected_version,
        )
    )


class NeedsAssessment(Recording):
    substance_misuse: bool
    learning_difficulty_or_disability: bool
    literacy_level: codes.LiteracyLevel
    numeracy_level: codes.LiteracyLevel
    has_id: bool
    has_bank_account: bool
    housing_on_release: codes.AccommodationStatus
    caring_responsibilities: bool

    model_config = example(
        substance_misuse=True,
        learning_difficulty_or_disability=False,
        literacy_level="entry_3",
        numeracy_level="level_1",
        has_id=False,
        has_bank_account=True,
        housing_on_release="not_known",
        caring_responsibilities=True,
    )


@router.post(
    "/cases/{prisoner_number}/needs-assessments",
    summary="Record a needs assessment",
    **ON_A_CASE,
)
def record_needs_assessment(body: NeedsAssessment, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.record_needs_assessment(
            ctx,
            on.prisoner_number,
            substance_misuse=body.substance_misuse,
            learning_difficulty_or_disability=body.learning_difficulty_or_disability,
            literacy_level=body.literacy_level,
            numeracy_level=body.numeracy_level,
            has_id=body.has_id,
            has_bank_account=body.has_bank_account,
            housing_on_release=body.housing_on_release,
            caring_responsibilities=body.caring_responsibilities,
            expected_version=on.expected_version,
        )
    )


class RiskAssessment(Recording):
    tier: codes.Tier = Field(description="A (highest risk of harm) to D")
    tier_change_level: int = Field(
        ge=codes.TIER_CHANGE_LEVELS.start, le=codes.TIER_CHANGE_LEVELS.stop - 1
    )
    rosh: codes.RiskOfSeriousHarm = Field(description="Risk of serious harm")
    likelihood_of_reoffending: codes.LikelihoodOfReoffending
    assessor: Text

    model_config = example(
        tier="B",
        tier_change_level=2,
        rosh="medium",
        likelihood_of_reoffending="high",
        assessor="Probation practitioner (synthetic)",
    )


@router.post(
    "/cases/{prisoner_number}/risk-assessments",
    summary="Record a risk assessment (tier, RoSH)",
    **ON_A_CASE,
)
def record_risk_assessment(body: RiskAssessment, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.record_risk_assessment(
            ctx,
            on.prisoner_number,
            tier=body.tier,
            tier_change_level=body.tier_change_level,
            rosh=body.rosh,
            likelihood_of_reoffending=body.likelihood_of_reoffending,
            assessor=body.assessor,
            expected_version=on.expected_version,
        )
    )


class SentencePlan(Recording):
    objectives: list[Text] = Field(max_length=MAX_ITEMS)
    interventions_required: list[codes.Intervention] = Field(
        max_length=MAX_ITEMS, description="What the person needs"
    )
    interventions_available: list[codes.Intervention] = Field(
        max_length=MAX_ITEMS, description="What the prison offers"
    )

    model_config = example(
        objectives=["Complete a thinking skills programme", "Open a bank account"],
        interventions_required=["thinking_skills", "substance_misuse_treatment"],
        interventions_available=["thinking_skills"],
    )


@router.post(
    "/cases/{prisoner_number}/sentence-plans",
    summary="Agree a sentence plan",
    **ON_A_CASE,
)
def agree_sentence_plan(body: SentencePlan, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.agree_sentence_plan(
            ctx,
            on.prisoner_number,
            objectives=body.objectives,
            interventions_required=body.interventions_required,
            interventions_available=body.interventions_available,
            expected_version=on.expected_version,
        )
    )


# --- officers -------------------------------------------------------------------


class Allocation(Recording):
    officer_id: str = Field(pattern=OFFICER_ID)
    role: codes.OfficerRole
    reason: Text
    override_reason: Text | None = Field(
        default=None,
        description="Needed (with `authority`) only when the officer is at the "
        "caseload limit for the role",
    )

    model_config = example(
        officer_id="JSMITH_GEN",
        role="key_worker",
        reason="New reception on the wing",
    )


@router.post(
    "/cases/{prisoner_number}/allocations",
    summary="Allocate an officer (the case and the officer's caseload change together)",
    **ON_A_CASE,
)
def allocate_officer(body: Allocation, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.allocate_officer(
            ctx,
            on.prisoner_number,
            officer_id=body.officer_id,
            role=body.role,
            reason=body.reason,
            override_reason=body.override_reason,
            expected_version=on.expected_version,
        )
    )


class Deallocation(Recording):
    officer_id: str = Field(pattern=OFFICER_ID)
    role: codes.OfficerRole
    reason: Text

    model_config = example(
        officer_id="JSMITH_GEN", role="key_worker", reason="Officer moved wing"
    )


@router.post(
    "/cases/{prisoner_number}/deallocations",
    summary="Deallocate an officer",
    **ON_A_CASE,
)
def deallocate_officer(body: Deallocation, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.deallocate_officer(
            ctx,
            on.prisoner_number,
            officer_id=body.officer_id,
            role=body.role,
            reason=body.reason,
            expected_version=on.expected_version,
        )
    )


class OfficerRegistration(BaseModel):
    officer_id: str = Field(pattern=OFFICER_ID)
    name: str = Field(min_length=1, max_length=100)
    roles: list[codes.OfficerRole] = Field(
        min_length=1, max_length=len(codes.OfficerRole)
    )
    home_prison: str = Field(
        pattern=PRISON_CODE, description="Must be in the token's caseload"
    )
    occurred_at: datetime | None = Field(
        default=None, description="When it happened, with a time zone; default now"
    )

    model_config = ConfigDict(
        use_enum_values=True,
        json_schema_extra={
            "examples": [
                {
                    "officer_id": "JSMITH_GEN",
                    "name": "Jo Smith (synthetic)",
                    "roles": ["key_worker"],
                    "home_prison": "LEI",
                }
            ]
        },
    )


class OfficerRegistered(BaseModel):
    officer_id: str = Field(examples=["JSMITH_GEN"])
    position: int = Field(description="The event's position in the feed")


@router.post(
    "/officers",
    status_code=201,
    response_model=OfficerRegistered,
    summary="Register an officer (409 officer-registered-once if already registered)",
)
def register_officer(
    body: OfficerRegistration,
    request: Request,
    principal: Recorder,
    found: Found,
) -> OfficerRegistered:
    principal.require_recorder_at(body.home_prison)
    ctx = RequestContext(
        recorded_by=principal.user,
        prison=body.home_prison,
        source=SOURCE,
        correlation_id=request.state.correlation_id,
        occurred_at=body.occurred_at,
    )
    position = found.ledger.register_officer(
        ctx,
        officer_id=body.officer_id,
        name=body.name,
        roles=body.roles,
        home_prison=body.home_prison,
    )
    return OfficerRegistered(officer_id=body.officer_id, position=position)


# --- incidents, ACCT, drug tests -----------------------------------------------------


class IncidentPerson(BaseModel):
    prisoner_number: str = Field(pattern=PRISONER_NUMBER, examples=["A1234BC"])
    role: codes.IncidentRole

    model_config = ConfigDict(use_enum_values=True)


class Incident(Recording):
    incident_ref: str = Field(pattern=INCIDENT_REF)
    incident_type: codes.IncidentType
    location: Text
    severity: codes.IncidentSeverity
    narrative: LongText
    people: list[IncidentPerson] = Field(min_length=1, max_length=MAX_PEOPLE)

    @field_validator("people")
    @classmethod
    def distinct_people(cls, people: list[IncidentPerson]) -> list[IncidentPerson]:
        numbers = [p.prisoner_number for p in people]
        if len(set(numbers)) != len(numbers):
            raise ValueError("each person may be named only once")
        return people

    model_config = example(
        incident_ref="IR-2025-000123",
        incident_type="fight",
        location="A wing, landing 2",
        severity="minor",
        narrative="Two people fought on the landing; separated by staff (synthetic).",
        people=[
            {"prisoner_number": "A1234BC", "role": "perpetrator"},
            {"prisoner_number": "B2345CD", "role": "victim"},
        ],
    )


@router.post(
    "/incidents",
    **ON_CASES,
    summary="Record an incident: one event on each person's case, all or nothing",
)
def record_incident(
    body: Incident,
    request: Request,
    principal: Recorder,
    found: Found,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    people = {p.prisoner_number: p.role for p in body.people}
    principal.require_recorder_at(body.prison)
    results = found.ledger.record_incident(
        recording_context(request, principal, body, idempotency_key),
        incident_ref=body.incident_ref,
        incident_type=body.incident_type,
        location=body.location,
        severity=body.severity,
        narrative=body.narrative,
        people=people,
    )
    return accepted_reply(results)


class AcctOpening(Recording):
    triggers: list[Text] = Field(max_length=MAX_ITEMS)

    model_config = example(triggers=["Self-harm on the wing", "Recent bereavement"])


@router.post(
    "/cases/{prisoner_number}/acct-openings",
    summary="Open an ACCT (self-harm case management)",
    **ON_A_CASE,
)
def open_acct(body: AcctOpening, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.open_acct(
            ctx,
            on.prisoner_number,
            triggers=body.triggers,
            expected_version=on.expected_version,
        )
    )


class AcctReview(Recording):
    outcome: codes.AcctReviewOutcome

    model_config = example(outcome="continue")


@router.post(
    "/cases/{prisoner_number}/acct-reviews",
    summary="Review the open ACCT",
    **ON_A_CASE,
)
def review_acct(body: AcctReview, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.review_acct(
            ctx,
            on.prisoner_number,
            outcome=body.outcome,
            expected_version=on.expected_version,
        )
    )


class AcctClosure(Recording):
    reason: Text

    model_config = example(reason="No longer at raised risk")


@router.post(
    "/cases/{prisoner_number}/acct-closures",
    summary="Close the open ACCT",
    **ON_A_CASE,
)
def close_acct(body: AcctClosure, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.close_acct(
            ctx,
            on.prisoner_number,
            reason=body.reason,
            expected_version=on.expected_version,
        )
    )


class DrugTest(Recording):
    test_ref: str = Field(pattern=DRUG_TEST_REF)
    reason: codes.DrugTestReason
    result: codes.DrugTestResult
    substances: list[codes.Substance] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Only with a positive result",
    )

    model_config = example(
        test_ref="MDT-LEI-000123",
        reason="random",
        result="positive",
        substances=["synthetic_cannabinoids"],
    )


@router.post(
    "/cases/{prisoner_number}/drug-tests",
    summary="Record a mandatory drug test",
    **ON_A_CASE,
)
def record_drug_test(body: DrugTest, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.record_drug_test(
            ctx,
            on.prisoner_number,
            test_ref=body.test_ref,
            reason=body.reason,
            result=body.result,
            substances=body.substances,
            expected_version=on.expected_version,
        )
    )


# --- movements ------------------------------------------------------------------


class Transfer(Recording):
    to_prison: str = Field(pattern=PRISON_CODE)
    movement_reason: codes.TransferReason

    model_config = example(to_prison="MDI", movement_reason="NOTR")


@router.post(
    "/cases/{prisoner_number}/transfers",
    summary="Record a transfer to another prison",
    **ON_A_CASE,
)
def record_transfer(body: Transfer, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.record_transfer(
            ctx,
            on.prisoner_number,
            to_prison=body.to_prison,
            movement_reason=body.movement_reason,
            expected_version=on.expected_version,
        )
    )


class TemporaryRelease(Recording):
    rotl_type: codes.TemporaryReleaseType
    expected_return: AwareDatetime

    model_config = example(rotl_type="RO", expected_return="2025-03-02T18:00:00Z")


@router.post(
    "/cases/{prisoner_number}/temporary-releases",
    summary="Start a release on temporary licence (ROTL)",
    **ON_A_CASE,
)
def start_temporary_release(body: TemporaryRelease, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.start_temporary_release(
            ctx,
            on.prisoner_number,
            rotl_type=body.rotl_type,
            expected_return=body.expected_return,
            expected_version=on.expected_version,
        )
    )


class TemporaryReleaseReturn(Recording):
    failed_to_return: bool = False

    model_config = example(failed_to_return=False)


@router.post(
    "/cases/{prisoner_number}/temporary-release-returns",
    summary="End the ROTL (returned, or failed to return)",
    **ON_A_CASE,
)
def end_temporary_release(body: TemporaryReleaseReturn, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.end_temporary_release(
            ctx,
            on.prisoner_number,
            failed_to_return=body.failed_to_return,
            expected_version=on.expected_version,
        )
    )


class ResettlementStep(Recording):
    element: codes.PassportElement
    status: codes.ResettlementStatus
    detail: LongText

    model_config = example(
        element="bank_account", status="done", detail="Basic account opened"
    )


@router.post(
    "/cases/{prisoner_number}/resettlement-steps",
    summary="Record a resettlement passport step",
    **ON_A_CASE,
)
def record_resettlement_step(body: ResettlementStep, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.record_resettlement_step(
            ctx,
            on.prisoner_number,
            element=body.element,
            status=body.status,
            detail=body.detail,
            expected_version=on.expected_version,
        )
    )


class ReleaseDate(Recording):
    date_type: codes.ReleaseDateType
    release_date: date = Field(
        description="A Friday, weekend or pre-bank-holiday date is flagged with the "
        "earliest working day policy allows"
    )

    model_config = example(date_type="CRD", release_date="2025-06-13")


@router.post(
    "/cases/{prisoner_number}/release-dates",
    summary="Set a release date",
    **ON_A_CASE,
)
def set_release_date(body: ReleaseDate, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.set_release_date(
            ctx,
            on.prisoner_number,
            date_type=body.date_type,
            release_date=body.release_date,
            expected_version=on.expected_version,
        )
    )


class EarlyReleaseDay(Recording):
    date_type: codes.ReleaseDateType
    approved_date: date

    model_config = example(
        date_type="CRD", approved_date="2025-06-12", authority="Governor (synthetic)"
    )


@router.post(
    "/cases/{prisoner_number}/early-release-days",
    summary="Approve an earlier release day for a flagged date (needs `authority`)",
    **ON_A_CASE,
)
def approve_early_release_day(body: EarlyReleaseDay, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.approve_early_release_day(
            ctx,
            on.prisoner_number,
            date_type=body.date_type,
            approved_date=body.approved_date,
            expected_version=on.expected_version,
        )
    )


class Release(Recording):
    movement_reason: codes.ReleaseReason
    accommodation: codes.AccommodationStatus

    model_config = example(movement_reason="CR", accommodation="settled")


@router.post(
    "/cases/{prisoner_number}/releases",
    summary="Record a release (the officers' caseloads lose the case)",
    **ON_A_CASE,
)
def record_release(body: Release, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.record_release(
            ctx,
            on.prisoner_number,
            movement_reason=body.movement_reason,
            accommodation=body.accommodation,
            expected_version=on.expected_version,
        )
    )


class IncentiveReview(Recording):
    level: codes.IncentiveLevel
    review_type: codes.IncentiveReviewType
    reason: Text

    model_config = example(
        level="ENH", review_type="review", reason="Consistently good behaviour"
    )


@router.post(
    "/cases/{prisoner_number}/incentive-reviews",
    summary="Review the incentive level",
    **ON_A_CASE,
)
def review_incentive_level(body: IncentiveReview, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.accepted(
        on.ledger.review_incentive_level(
            ctx,
            on.prisoner_number,
            level=body.level,
            review_type=body.review_type,
            reason=body.reason,
            expected_version=on.expected_version,
        )
    )


# --- corrections and merges ---------------------------------------------------------


class Correction(Recording):
    version: int = Field(ge=1, le=2**31, description="The case version to correct")
    reason: Text
    corrected_fields: dict[FieldName, Any] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="Field -> corrected value, as the event's own field names; dates "
        "and times as ISO 8601 text (times with a zone)",
    )

    model_config = example(
        version=4,
        reason="Keyed against the wrong date",
        corrected_fields={"release_date": "2025-06-20"},
    )


def parse_times(
    ledger: JourneyLedger, prisoner_number: str, version: int, fields: dict[str, Any]
) -> dict[str, Any]:
    """ISO text to ``date`` / ``datetime`` where the event at ``version`` holds one
    (by the domain's own field table); anything else is left for the domain to check."""
    case = ledger.find_case(prisoner_number)
    facts = case.facts if case is not None else []
    fact = next((f for f in facts if f["version"] == version), None)
    if fact is None:
        return fields
    checks = {**FIELDS.get(fact["kind"], {}), "occurred_at": a_moment}
    parsed = dict(fields)
    for name, value in fields.items():
        check = checks.get(name)
        if not isinstance(value, str) or check not in (a_date, a_moment):
            continue
        try:
            parsed[name] = (
                date.fromisoformat(value)
                if check is a_date
                else datetime.fromisoformat(value)
            )
        except ValueError:
            kind = "a date (YYYY-MM-DD)" if check is a_date else "an ISO 8601 time"
            raise InvalidValue(name, f"{name} must be {kind}") from None
    return parsed


@router.post(
    "/cases/{prisoner_number}/corrections",
    summary="Correct fields of an earlier event (the original stays)",
    **ON_A_CASE,
)
def correct_event(body: Correction, on: OnCase) -> Response:
    ctx = on.context(body)
    fields = parse_times(
        on.ledger, on.prisoner_number, body.version, body.corrected_fields
    )
    return on.accepted(
        on.ledger.correct_event(
            ctx,
            on.prisoner_number,
            version=body.version,
            reason=body.reason,
            corrected_fields=fields,
            expected_version=on.expected_version,
        )
    )


class Merge(Recording):
    survivor_number: str = Field(
        pattern=PRISONER_NUMBER,
        description="The record that stays; the number in the path is retired",
    )

    model_config = example(survivor_number="B2345CD")


@router.post(
    "/cases/{prisoner_number}/merges",
    **ON_CASES,
    summary="Merge this duplicate record into the survivor (both cases record it); "
    "replies for the retired case, then the survivor; If-Match is the retired case's",
)
def merge_cases(body: Merge, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.all_accepted(
        on.ledger.merge_cases(
            ctx,
            retired_number=on.prisoner_number,
            survivor_number=body.survivor_number,
            expected_version=on.expected_version,
        )
    )


@router.post(
    "/cases/{prisoner_number}/unmerges",
    **ON_CASES,
    summary="Part a wrongly merged record from its survivor; replies for the retired "
    "case, then the survivor",
)
def unmerge_cases(body: Merge, on: OnCase) -> Response:
    ctx = on.context(body)
    return on.all_accepted(
        on.ledger.unmerge_cases(
            ctx,
            retired_number=on.prisoner_number,
            survivor_number=body.survivor_number,
            expected_version=on.expected_version,
        )
    )
