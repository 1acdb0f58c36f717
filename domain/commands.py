"""Every command the ledger takes, declared once, as a frozen dataclass.

A command's fields are typed with the domain's own checked types (identifiers, code
lists, bounded text and numbers, aware times), and a command checks them as it is
made: whoever builds one (the HTTP edge, the command line, the synthetic estate, a
test) gets the same refusal for the same value, naming the field. The HTTP edge
derives each route's request model, its JSON Schema and its example from these
declarations, so a field is written once.

A command on one person's case (:class:`CaseCommand`) names the collection it adds to
under ``/cases/{prisoner_number}/`` (``resource``), says in its docstring's first line
what it does, and gives one example. The case's method that carries it out is
registered against it in :mod:`domain.case`; the ledger runs every such command
through one load-check-save loop (:meth:`domain.ledger.JourneyLedger.execute`).

What a command carries besides its fields (who records, where, when it happened, the
client's own reference, the authority) is the :class:`~domain.context.RequestContext`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self

from domain import codes
from domain.context import RequestContext
from domain.errors import InvalidValue
from domain.identifiers import (
    BookingNumber,
    DrugTestReference,
    IncidentReference,
    OfficerId,
    PrisonCode,
    PrisonerNumber,
)
from domain.values import (
    Check,
    CorrectedFields,
    EventVersion,
    Minutes,
    Name,
    Narrative,
    PersonalDetails,
    SentenceDays,
    Text,
    TierChangeLevel,
    checker,
    declared_fields,
)

MAX_PEOPLE = 50


@dataclass(frozen=True)
class Described:
    """What a field means, for the API's documentation (it checks nothing)."""

    text: str

    def check(self, field: str, value: Any) -> Any:
        return value

    def schema(self) -> dict[str, Any]:
        return {"description": self.text}


@dataclass(frozen=True)
class Command:
    """A request to record something; its fields are checked as it is made."""

    example: ClassVar[Mapping[str, Any]] = {}
    """One valid set of fields, for the API's documentation."""

    def __post_init__(self) -> None:
        for name, check in _checks(type(self)):
            object.__setattr__(self, name, check(name, getattr(self, name)))

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> Self:
        """The command from a mapping of its fields; an unknown field is refused."""
        known = command_fields(cls)
        for name in fields:
            if name not in known:
                raise InvalidValue(name, f"{cls.__name__} has no field {name!r}")
        return cls(**fields)

    @classmethod
    def check(cls, field: str, value: Any) -> Self:
        """A command nested in another's field (an incident's people)."""
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise InvalidValue(field, f"{field} must be an object")
        return cls.from_fields(value)

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in command_fields(type(self))}


def command_fields(cls: type[Command]) -> dict[str, Any]:
    """Each field of a command class and its declared type, in declaration order."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = declared_fields(cls)
        found = _FIELDS[cls] = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return found


_FIELDS: dict[type[Command], dict[str, Any]] = {}
_CHECKS: dict[type[Command], tuple[tuple[str, Check], ...]] = {}


def _checks(cls: type[Command]) -> tuple[tuple[str, Check], ...]:
    found = _CHECKS.get(cls)
    if found is None:
        found = _CHECKS[cls] = tuple(
            (name, checker(hint)) for name, hint in command_fields(cls).items()
        )
    return found


def plain(value: Any) -> Any:
    """A checked value as an event stores it: codes and identifiers as plain text,
    lists as lists, nested commands as mappings."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool | int):
        return value if isinstance(value, bool) else int(value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Command):
        return {k: plain(v) for k, v in value.fields().items()}
    return value


_PLAIN = frozenset({str, int, bool, float, type(None), datetime, date})
"""Types an event stores as they are."""


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def request_digest(ctx: RequestContext, command: Command, *, on: str = "") -> str:
    """What identifies one request: who sent which command with which fields, where,
    when they said it happened and on whose authority. A re-sent request has the same
    digest; another request under a reused ``source_ref`` has another."""
    request = {
        "command": type(command).__name__,
        "on": on,
        "fields": plain(command.fields()),
        "recorded_by": ctx.recorded_by,
        "prison": ctx.prison,
        "occurred_at": ctx.occurred_at,
        "authority": ctx.authority,
    }
    text = json.dumps(request, sort_keys=True, default=_canonical)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Recording(Command):
    """What a client sends with every command besides its fields."""

    example = {"prison": "LEI"}

    prison: Annotated[
        Annotated[str, PrisonCode],
        Described("Where this is recorded (must be in the token's caseload)"),
    ]
    occurred_at: Annotated[
        datetime | None,
        Described(
            "When it happened (valid time), with a time zone; default now. At most the "
            "ledger's allowed clock skew in the future"
        ),
    ] = None
    source_ref: Annotated[
        Annotated[str, Text] | None,
        Described(
            "The sending system's own id for this message; a re-send of the same "
            "request with the same source_ref stores nothing and returns the first "
            "answer"
        ),
    ] = None
    authority: Annotated[
        Annotated[str, Text] | None,
        Described("Who authorised this, where a rule needs it (e.g. an override)"),
    ] = None


@dataclass(frozen=True)
class CaseCommand(Command):
    """A command on one person's case: the case is named beside it (the path)."""

    resource: ClassVar[str]
    """The collection under ``/cases/{prisoner_number}/`` the command adds to."""
    on_several_cases: ClassVar[bool] = False
    """True when the command records on this case and another (merges)."""


# --- reception and assessments --------------------------------------------------------


@dataclass(frozen=True)
class ReceivePrisoner(CaseCommand):
    """Record a reception (opens the case on a first reception)."""

    resource = "receptions"
    example = {
        "booking_no": "38412A",
        "movement_reason": "N",
        "legal_status": "remand",
        "personal_details": {
            "first_name": "Alex",
            "last_name": "Example",
            "date_of_birth": "1990-01-31",
        },
    }

    booking_no: Annotated[str, BookingNumber]
    movement_reason: Annotated[str, codes.AdmissionReason]
    legal_status: Annotated[str, codes.LegalStatus]
    sentence_days: Annotated[int, SentenceDays] | None = None
    personal_details: Annotated[
        Annotated[Mapping[str, str], PersonalDetails] | None,
        Described(
            "first_name, last_name and date_of_birth (YYYY-MM-DD, not in the future)"
        ),
    ] = None


@dataclass(frozen=True)
class RecordHealthScreening(CaseCommand):
    """Record a health screening."""

    resource = "health-screenings"
    example = {
        "stage": "initial",
        "outcome": "No immediate health concerns",
        "referrals": ["mental_health_in_reach"],
    }

    stage: Annotated[
        Annotated[str, codes.ScreeningStage],
        Described(
            "initial (due within 24 h of reception), then comprehensive (within 7 days)"
        ),
    ]
    outcome: Annotated[str, Text]
    referrals: Sequence[Annotated[str, Text]] = ()


@dataclass(frozen=True)
class RecordNeedsAssessment(CaseCommand):
    """Record a needs assessment."""

    resource = "needs-assessments"
    example = {
        "substance_misuse": True,
        "learning_difficulty_or_disability": False,
        "literacy_level": "entry_3",
        "numeracy_level": "level_1",
        "has_id": False,
        "has_bank_account": True,
        "housing_on_release": "not_known",
        "caring_responsibilities": True,
    }

    substance_misuse: bool
    learning_difficulty_or_disability: bool
    literacy_level: Annotated[str, codes.LiteracyLevel]
    numeracy_level: Annotated[str, codes.LiteracyLevel]
    has_id: bool
    has_bank_account: bool
    housing_on_release: Annotated[str, codes.AccommodationStatus]
    caring_responsibilities: bool


@dataclass(frozen=True)
class RecordRiskAssessment(CaseCommand):
    """Record a risk assessment (tier, RoSH)."""

    resource = "risk-assessments"
    example = {
        "tier": "B",
        "tier_change_level": 2,
        "rosh": "medium",
        "likelihood_of_reoffending": "high",
        "assessor": "Probation practitioner (synthetic)",
    }

    tier: Annotated[str, codes.Tier, Described("A (highest risk of harm) to D")]
    tier_change_level: Annotated[int, TierChangeLevel]
    rosh: Annotated[str, codes.RiskOfSeriousHarm, Described("Risk of serious harm")]
    likelihood_of_reoffending: Annotated[str, codes.LikelihoodOfReoffending]
    assessor: Annotated[str, Text]


@dataclass(frozen=True)
class AgreeSentencePlan(CaseCommand):
    """Agree a sentence plan."""

    resource = "sentence-plans"
    example = {
        "objectives": ["Complete a thinking skills programme", "Open a bank account"],
        "interventions_required": ["thinking_skills", "substance_misuse_treatment"],
        "interventions_available": ["thinking_skills"],
    }

    objectives: Sequence[Annotated[str, Text]]
    interventions_required: Annotated[
        Sequence[Annotated[str, codes.Intervention]],
        Described("What the person needs"),
    ]
    interventions_available: Annotated[
        Sequence[Annotated[str, codes.Intervention]],
        Described("What the prison offers"),
    ]


# --- officers -------------------------------------------------------------------------


@dataclass(frozen=True)
class AllocateOfficer(CaseCommand):
    """Allocate an officer (the case and the officer's caseload change together)."""

    resource = "allocations"
    example = {
        "officer_id": "JSMITH_GEN",
        "role": "key_worker",
        "reason": "New reception on the wing",
    }

    officer_id: Annotated[str, OfficerId]
    role: Annotated[str, codes.OfficerRole]
    reason: Annotated[str, Text]
    override_reason: Annotated[
        Annotated[str, Text] | None,
        Described(
            "Needed (with `authority`) only when the officer is at the caseload "
            "limit for the role"
        ),
    ] = None


@dataclass(frozen=True)
class DeallocateOfficer(CaseCommand):
    """Deallocate an officer."""

    resource = "deallocations"
    example = {
        "officer_id": "JSMITH_GEN",
        "role": "key_worker",
        "reason": "Officer moved wing",
    }

    officer_id: Annotated[str, OfficerId]
    role: Annotated[str, codes.OfficerRole]
    reason: Annotated[str, Text]


@dataclass(frozen=True)
class RegisterOfficer(Command):
    """Register an officer (409 officer-registered-once if already registered)."""

    example = {
        "officer_id": "JSMITH_GEN",
        "name": "Jo Smith (synthetic)",
        "roles": ["key_worker"],
        "home_prison": "LEI",
    }

    officer_id: Annotated[str, OfficerId]
    name: Annotated[str, Name]
    roles: Sequence[Annotated[str, codes.OfficerRole]]
    home_prison: Annotated[
        str, PrisonCode, Described("Must be in the token's caseload")
    ]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.roles:
            raise InvalidValue("roles", "an officer needs at least one role")


# --- incidents, ACCT, drug tests ------------------------------------------------------


@dataclass(frozen=True)
class IncidentPerson(Command):
    """One person involved in an incident, and their part in it."""

    prisoner_number: Annotated[str, PrisonerNumber]
    role: Annotated[str, codes.IncidentRole]


@dataclass(frozen=True)
class RecordIncident(Command):
    """Record an incident: one event on each person's case, all or nothing."""

    example = {
        "incident_ref": "IR-2025-000123",
        "incident_type": "fight",
        "location": "A wing, landing 2",
        "severity": "minor",
        "narrative": "Two people fought on the landing; separated by staff "
        "(synthetic).",
        "people": [
            {"prisoner_number": "A1234BC", "role": "perpetrator"},
            {"prisoner_number": "B2345CD", "role": "victim"},
        ],
    }

    incident_ref: Annotated[str, IncidentReference]
    incident_type: Annotated[str, codes.IncidentType]
    location: Annotated[str, Text]
    severity: Annotated[str, codes.IncidentSeverity]
    narrative: Annotated[str, Narrative]
    people: Annotated[
        Sequence[IncidentPerson],
        Described(f"Each person involved, once (1 to {MAX_PEOPLE})"),
    ]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= len(self.people) <= MAX_PEOPLE:
            raise InvalidValue(
                "people", f"an incident involves 1 to {MAX_PEOPLE} people"
            )
        numbers = [p.prisoner_number for p in self.people]
        if len(set(numbers)) != len(numbers):
            raise InvalidValue("people", "each person may be named only once")


@dataclass(frozen=True)
class OpenAcct(CaseCommand):
    """Open an ACCT (self-harm case management)."""

    resource = "acct-openings"
    example = {"triggers": ["Self-harm on the wing", "Recent bereavement"]}

    triggers: Sequence[Annotated[str, Text]]


@dataclass(frozen=True)
class ReviewAcct(CaseCommand):
    """Review the open ACCT."""

    resource = "acct-reviews"
    example = {"outcome": "continue"}

    outcome: Annotated[str, codes.AcctReviewOutcome]


@dataclass(frozen=True)
class CloseAcct(CaseCommand):
    """Close the open ACCT."""

    resource = "acct-closures"
    example = {"reason": "No longer at raised risk"}

    reason: Annotated[str, Text]


@dataclass(frozen=True)
class RecordDrugTest(CaseCommand):
    """Record a mandatory drug test."""

    resource = "drug-tests"
    example = {
        "test_ref": "MDT-LEI-000123",
        "reason": "random",
        "result": "positive",
        "substances": ["synthetic_cannabinoids"],
    }

    test_ref: Annotated[str, DrugTestReference]
    reason: Annotated[str, codes.DrugTestReason]
    result: Annotated[str, codes.DrugTestResult]
    substances: Annotated[
        Sequence[Annotated[str, codes.Substance]],
        Described("Only with a positive result"),
    ] = ()


# --- movements ------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordTransfer(CaseCommand):
    """Record a transfer to another prison."""

    resource = "transfers"
    example = {"to_prison": "MDI", "movement_reason": "NOTR"}

    to_prison: Annotated[str, PrisonCode]
    movement_reason: Annotated[str, codes.TransferReason]


@dataclass(frozen=True)
class StartTemporaryRelease(CaseCommand):
    """Start a release on temporary licence (ROTL)."""

    resource = "temporary-releases"
    example = {"rotl_type": "RO", "expected_return": "2025-03-02T18:00:00Z"}

    rotl_type: Annotated[str, codes.TemporaryReleaseType]
    expected_return: datetime


@dataclass(frozen=True)
class EndTemporaryRelease(CaseCommand):
    """End the ROTL (returned, or failed to return)."""

    resource = "temporary-release-returns"
    example = {"failed_to_return": False}

    failed_to_return: bool = False


@dataclass(frozen=True)
class RecordResettlementStep(CaseCommand):
    """Record a resettlement passport step."""

    resource = "resettlement-steps"
    example = {
        "element": "bank_account",
        "status": "done",
        "detail": "Basic account opened",
    }

    element: Annotated[str, codes.PassportElement]
    status: Annotated[str, codes.ResettlementStatus]
    detail: Annotated[str, Narrative]


@dataclass(frozen=True)
class SetReleaseDate(CaseCommand):
    """Set a release date."""

    resource = "release-dates"
    example = {"date_type": "CRD", "release_date": "2025-06-13"}

    date_type: Annotated[str, codes.ReleaseDateType]
    release_date: Annotated[
        date,
        Described(
            "A Friday, weekend or pre-bank-holiday date is flagged with the earliest "
            "working day policy allows"
        ),
    ]


@dataclass(frozen=True)
class ApproveEarlyReleaseDay(CaseCommand):
    """Approve an earlier release day for a flagged date (needs `authority`)."""

    resource = "early-release-days"
    example = {
        "date_type": "CRD",
        "approved_date": "2025-06-12",
        "authority": "Governor (synthetic)",
    }

    date_type: Annotated[str, codes.ReleaseDateType]
    approved_date: date


@dataclass(frozen=True)
class RecordRelease(CaseCommand):
    """Record a release (the officers' caseloads lose the case)."""

    resource = "releases"
    example = {"movement_reason": "CR", "accommodation": "settled"}

    movement_reason: Annotated[str, codes.ReleaseReason]
    accommodation: Annotated[str, codes.AccommodationStatus]


@dataclass(frozen=True)
class ReviewIncentiveLevel(CaseCommand):
    """Review the incentive level."""

    resource = "incentive-reviews"
    example = {
        "level": "ENH",
        "review_type": "review",
        "reason": "Consistently good behaviour",
    }

    level: Annotated[str, codes.IncentiveLevel]
    review_type: Annotated[str, codes.IncentiveReviewType]
    reason: Annotated[str, Text]


@dataclass(frozen=True)
class RecordKeyWorkSession(CaseCommand):
    """Record a key work session (held, or attempted and not held)."""

    resource = "key-work-sessions"
    example = {
        "officer_id": "JSMITH_GEN",
        "duration_minutes": 45,
        "held": True,
        "narrative": "Talked through the induction plan and family contact.",
    }

    officer_id: Annotated[str, OfficerId, Described("The key worker")]
    duration_minutes: Annotated[int, Minutes, Described("How long it took")]
    held: Annotated[bool, Described("False: attempted, and not held")]
    narrative: Annotated[
        str, Narrative, Described("A short account; sealed like other narratives")
    ]


# --- corrections and merges -----------------------------------------------------------


@dataclass(frozen=True)
class CorrectEvent(CaseCommand):
    """Correct fields of an earlier event (the original stays)."""

    resource = "corrections"
    example = {
        "version": 4,
        "reason": "Keyed against the wrong date",
        "corrected_fields": {"release_date": "2025-06-20"},
    }

    version: Annotated[EventVersion, Described("The case version to correct")]
    reason: Annotated[str, Text]
    corrected_fields: Annotated[
        Annotated[Mapping[str, Any], CorrectedFields],
        Described(
            "Field -> corrected value, as the event's own field names; dates and "
            "times as ISO 8601 text (times with a zone)"
        ),
    ]


@dataclass(frozen=True)
class MergeCases(CaseCommand):
    """Merge this duplicate record into the survivor (both cases record it); replies
    for the retired case, then the survivor; If-Match is the retired case's."""

    resource = "merges"
    on_several_cases = True
    example = {"survivor_number": "B2345CD"}

    survivor_number: Annotated[
        Annotated[str, PrisonerNumber],
        Described("The record that stays; the number in the path is retired"),
    ]


@dataclass(frozen=True)
class UnmergeCases(CaseCommand):
    """Part a wrongly merged record from its survivor; replies for the retired case,
    then the survivor."""

    resource = "unmerges"
    on_several_cases = True
    example = {"survivor_number": "B2345CD"}

    survivor_number: Annotated[
        Annotated[str, PrisonerNumber],
        Described("The record that stays; the number in the path is retired"),
    ]


def _case_commands(base: type[CaseCommand]) -> list[type[CaseCommand]]:
    found = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_case_commands(sub))
    return found


CASE_COMMANDS: tuple[type[CaseCommand], ...] = tuple(_case_commands(CaseCommand))
"""Every command on one case, in declaration order (the API's route order)."""
