"""What each event's fields may hold, checked before anything is stored.

One table serves both the commands and corrections, so a correction can never put a
value into the history that the original command would have refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from domain import codes
from domain.errors import InvalidValue
from domain.identifiers import (
    BookingNumber,
    DrugTestReference,
    IncidentReference,
    OfficerId,
    PrisonCode,
    PrisonerNumber,
)

Check = Callable[[str, Any], None]

MAX_NARRATIVE = 4000
MAX_TEXT = 200
MAX_ITEMS = 20
PERSONAL_DETAIL_KEYS = frozenset({"first_name", "last_name", "date_of_birth"})


def code(codes_list: type[StrEnum]) -> Check:
    allowed = {c.value for c in codes_list}

    def check(field: str, value: Any) -> None:
        if value not in allowed:
            raise InvalidValue(
                field,
                f"{field} {value!r} is not one of: {', '.join(sorted(allowed))}",
            )

    return check


def codes_of(codes_list: type[StrEnum]) -> Check:
    one = code(codes_list)

    def check(field: str, value: Any) -> None:
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise InvalidValue(field, f"{field} must be a list of at most {MAX_ITEMS}")
        for item in value:
            one(field, item)

    return check


def text(max_length: int = MAX_TEXT, *, optional: bool = False) -> Check:
    def check(field: str, value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            raise InvalidValue(field, f"{field} must be 1-{max_length} characters")

    return check


def texts(field: str, value: Any) -> None:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise InvalidValue(field, f"{field} must be a list of at most {MAX_ITEMS}")
    for item in value:
        text()(field, item)


def boolean(field: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidValue(field, f"{field} must be true or false")


def whole_number(low: int, high: int, *, optional: bool = False) -> Check:
    def check(field: str, value: Any) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue(field, f"{field} must be a whole number")
        if not low <= value <= high:
            raise InvalidValue(field, f"{field} must be between {low} and {high}")

    return check


def a_date(field: str, value: Any) -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidValue(field, f"{field} must be a date")


def a_moment(field: str, value: Any) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidValue(field, f"{field} must be a date and time with a time zone")


def identifier(kind: type[str]) -> Check:
    def check(field: str, value: Any) -> None:
        kind(value)

    return check


def personal_details(field: str, value: Any) -> None:
    if not isinstance(value, dict) or set(value) - PERSONAL_DETAIL_KEYS:
        raise InvalidValue(
            field, f"{field} may hold only: {', '.join(sorted(PERSONAL_DETAIL_KEYS))}"
        )
    for key, item in value.items():
        text(100)(f"{field}.{key}", item)


FIELDS: dict[str, dict[str, Check]] = {
    "PrisonerReceived": {
        "booking_no": identifier(BookingNumber),
        "received_into": identifier(PrisonCode),
        "movement_reason": code(codes.AdmissionReason),
        "legal_status": code(codes.LegalStatus),
        "sentence_days": whole_number(1, 365 * 100, optional=True),
        "personal_details": personal_details,
    },
    "HealthScreened": {
        "stage": code(codes.ScreeningStage),
        "outcome": text(),
        "referrals": texts,
    },
    "NeedsAssessed": {
        "substance_misuse": boolean,
        "learning_difficulty_or_disability": boolean,
        "literacy_level": code(codes.LiteracyLevel),
        "numeracy_level": code(codes.LiteracyLevel),
        "has_id": boolean,
        "has_bank_account": boolean,
        "housing_on_release": code(codes.AccommodationStatus),
        "caring_responsibilities": boolean,
    },
    "RiskAssessed": {
        "tier": code(codes.Tier),
        "tier_change_level": whole_number(
            codes.TIER_CHANGE_LEVELS.start, codes.TIER_CHANGE_LEVELS.stop - 1
        ),
        "rosh": code(codes.RiskOfSeriousHarm),
        "likelihood_of_reoffending": code(codes.LikelihoodOfReoffending),
        "assessor": text(),
    },
    "SentencePlanAgreed": {
        "objectives": texts,
        "interventions_required": codes_of(codes.Intervention),
        "interventions_available": codes_of(codes.Intervention),
    },
    "OfficerAllocated": {
        "officer_id": identifier(OfficerId),
        "role": code(codes.OfficerRole),
        "reason": text(),
        "override_reason": text(optional=True),
    },
    "OfficerDeallocated": {
        "officer_id": identifier(OfficerId),
        "role": code(codes.OfficerRole),
        "reason": text(),
    },
    "IncidentRecorded": {
        "incident_ref": identifier(IncidentReference),
        "incident_type": code(codes.IncidentType),
        "role": code(codes.IncidentRole),
        "location": text(),
        "severity": code(codes.IncidentSeverity),
        "narrative": text(MAX_NARRATIVE),
    },
    "AcctOpened": {"triggers": texts},
    "AcctReviewed": {"outcome": code(codes.AcctReviewOutcome)},
    "AcctClosed": {"reason": text()},
    "DrugTestRecorded": {
        "test_ref": identifier(DrugTestReference),
        "reason": code(codes.DrugTestReason),
        "result": code(codes.DrugTestResult),
        "substances": codes_of(codes.Substance),
    },
    "Transferred": {
        "from_prison": identifier(PrisonCode),
        "to_prison": identifier(PrisonCode),
        "movement_reason": code(codes.TransferReason),
    },
    "TemporaryReleaseStarted": {
        "rotl_type": code(codes.TemporaryReleaseType),
        "expected_return": a_moment,
    },
    "TemporaryReleaseEnded": {"failed_to_return": boolean},
    "ResettlementStepRecorded": {
        "element": code(codes.PassportElement),
        "status": code(codes.ResettlementStatus),
        "detail": text(MAX_NARRATIVE),
    },
    "ReleaseDateSet": {
        "date_type": code(codes.ReleaseDateType),
        "release_date": a_date,
        "flagged": boolean,
        "release_on": a_date,
        "earliest_allowed": a_date,
        "flag_reason": text(optional=True),
    },
    "EarlyReleaseDayApproved": {
        "date_type": code(codes.ReleaseDateType),
        "approved_date": a_date,
    },
    "Released": {
        "movement_reason": code(codes.ReleaseReason),
        "release_type": code(codes.ReleaseType),
        "accommodation": code(codes.AccommodationStatus),
    },
    "IncentiveLevelReviewed": {
        "level": code(codes.IncentiveLevel),
        "review_type": code(codes.IncentiveReviewType),
        "reason": text(),
    },
    "CasesMerged": {
        "retired_number": identifier(PrisonerNumber),
        "survivor_number": identifier(PrisonerNumber),
    },
}
FIELDS["CasesUnmerged"] = FIELDS["CasesMerged"]


def validate(kind: str, fields: Mapping[str, Any]) -> None:
    """Check every field an event of ``kind`` is given; raise InvalidValue on the first
    bad one, naming the field."""
    checks = FIELDS.get(kind, {})
    for name, value in fields.items():
        check = checks.get(name)
        if check is None:
            if name == "occurred_at":
                a_moment(name, value)
                continue
            raise InvalidValue(name, f"{kind} has no field {name!r}")
        check(name, value)
