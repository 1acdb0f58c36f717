"""The event catalogue: every fact the ledger records, as small frozen data classes.

Each class has a stable ``TOPIC`` (what is stored, so renaming or moving a class never
orphans stored data) and a ``class_version``. Released versions are never edited: a
change of shape is a new ``class_version`` with an ``upcast_vN_vN+1`` static method
that turns the stored state of the old version into the new one.

Every event carries the recording metadata (:class:`RecordedEvent`): when it happened
(``occurred_at``, valid time; the store's ``timestamp`` is record time), who recorded
it, at which prison, from which client, the client's own reference (so a re-sent
message is recognised), a correlation id, and the authority it was done on, if any.

Codes are stored as plain strings from :mod:`domain.codes`; personal details and
narratives are ordinary fields, encrypted at rest with the rest of the state when the
ledger runs with a cipher key.
"""

from __future__ import annotations

from dataclasses import field, fields
from datetime import date, datetime
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

from domain import codes
from domain.identifiers import (
    BookingNumber,
    DrugTestReference,
    IncidentReference,
    OfficerId,
    PrisonCode,
    PrisonerNumber,
)
from domain.values import (
    EventVersion,
    Minutes,
    Name,
    Narrative,
    PersonalDetails,
    SentenceDays,
    Text,
    TierChangeLevel,
    declared_fields,
)

TOPIC_PREFIX = "journey-ledger"


class RecordedEvent(Aggregate.Event):
    """What every recorded event carries besides its data."""

    TOPIC: ClassVar[str]
    FEED_TYPE: ClassVar[str]
    """The event's type on the consumers' feed: stable, never derived from the class
    name, so renaming a class never renames what consumers subscribe to."""

    occurred_at: datetime
    recorded_by: str
    prison: str
    source: str
    source_ref: str | None
    correlation_id: str
    authority: str | None
    request_digest: str | None = field(default=None, kw_only=True)
    """A digest of the request that recorded this event (who sent which command with
    which fields; ``domain.commands.request_digest``), so a re-sent request with the
    same ``source_ref`` is told apart from another request under a reused reference.
    Events recorded before it was kept have none."""

    METADATA_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            "recorded_by",
            "prison",
            "source",
            "source_ref",
            "correlation_id",
            "authority",
            "request_digest",
        }
    )
    """Facts about the recording itself: never corrected (``occurred_at`` can be)."""

    IDENTITY_FIELDS: ClassVar[frozenset[str]] = frozenset()
    """Fields that identify something; a correction may not change them."""

    DERIVED_FIELDS: ClassVar[frozenset[str]] = frozenset()
    """Fields the ledger works out from others; corrected only through those."""

    CORRECTABLE: ClassVar[bool] = True

    def apply(self, aggregate: Any) -> None:
        # The aggregate owns how its state changes; the event stays plain data.
        aggregate.take(self)

    def summary(self) -> str:
        """What happened, in plain words (the timeline's and the feed's text)."""
        return type(self).__name__

    @classmethod
    def data_fields(cls) -> dict[str, Any]:
        """The event's own fields (what ``data`` holds) and their declared types."""
        found = _DATA_FIELDS.get(cls)
        if found is None:
            hints = declared_fields(cls)
            skip = _BASE_FIELDS | cls.METADATA_FIELDS | {"occurred_at"}
            found = _DATA_FIELDS[cls] = {
                f.name: hints[f.name] for f in fields(cls) if f.name not in skip
            }
        return found

    def data(self) -> dict[str, Any]:
        """The event's own fields (not the store's, not the recording metadata)."""
        # Called twice per event in a rebuild (the fold's fact, the timeline's data):
        # the skipped names are worked out once per class, and a copy minus a few
        # keys is cheaper than a filtered comprehension (the order is the same).
        cls = type(self)
        skip = _SKIPPED.get(cls)
        if skip is None:
            skip = _SKIPPED[cls] = tuple(
                _BASE_FIELDS | cls.METADATA_FIELDS | {"occurred_at"}
            )
        data = dict(self.__dict__)
        for name in skip:
            data.pop(name, None)
        return data


_BASE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)
_SKIPPED: dict[type[RecordedEvent], tuple[str, ...]] = {}
_DATA_FIELDS: dict[type[RecordedEvent], dict[str, Any]] = {}


# --- Case events -------------------------------------------------------------------


class CaseEvent(RecordedEvent):
    """An event in one person's case history."""

    @property
    def destination(self) -> str | None:
        """The prison the person is held at from this event on, when the event takes
        them there (a reception, a transfer); None for every other event."""
        return None


class CaseOpened(CaseEvent, Aggregate.Created):
    """A case is opened by the first reception under a prisoner number."""

    TOPIC = f"{TOPIC_PREFIX}.case:CaseOpened"
    FEED_TYPE = "journey-ledger.case.opened"
    IDENTITY_FIELDS = frozenset({"prisoner_number"})
    CORRECTABLE = False
    prisoner_number: PrisonerNumber

    def summary(self) -> str:
        return f"Case opened for {self.prisoner_number}"


class PrisonerReceived(CaseEvent):
    """A reception: opens a booking (a period of custody)."""

    TOPIC = f"{TOPIC_PREFIX}.case:PrisonerReceived"
    FEED_TYPE = "journey-ledger.prisoner.received"
    IDENTITY_FIELDS = frozenset({"booking_no"})
    booking_no: BookingNumber
    received_into: PrisonCode
    movement_reason: codes.AdmissionReason
    legal_status: codes.LegalStatus
    sentence_days: SentenceDays | None
    personal_details: PersonalDetails

    @property
    def destination(self) -> str | None:
        return self.received_into

    def summary(self) -> str:
        return (
            f"Received into {self.received_into} ({self.movement_reason}, "
            f"{self.legal_status}), booking {self.booking_no}"
        )


class HealthScreened(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:HealthScreened"
    FEED_TYPE = "journey-ledger.prisoner.health-screened"
    stage: codes.ScreeningStage
    outcome: Text
    referrals: list[Text]

    def summary(self) -> str:
        return f"{self.stage.capitalize()} health screening: {self.outcome}"


class NeedsAssessed(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:NeedsAssessed"
    FEED_TYPE = "journey-ledger.prisoner.needs-assessed"
    substance_misuse: bool
    learning_difficulty_or_disability: bool
    literacy_level: codes.LiteracyLevel
    numeracy_level: codes.LiteracyLevel
    has_id: bool
    has_bank_account: bool
    housing_on_release: codes.AccommodationStatus
    caring_responsibilities: bool

    def summary(self) -> str:
        return "Needs assessed"


class RiskAssessed(CaseEvent):
    """Tier (resources follow risk) and risk of serious harm (RoSH).

    Version 2 keeps the tier letter and its change level apart; version 1 stored them
    together as one string (``"B2"``).
    """

    TOPIC = f"{TOPIC_PREFIX}.case:RiskAssessed"
    FEED_TYPE = "journey-ledger.prisoner.risk-assessed"
    class_version = 2
    tier: codes.Tier
    tier_change_level: TierChangeLevel
    rosh: codes.RiskOfSeriousHarm
    likelihood_of_reoffending: codes.LikelihoodOfReoffending
    assessor: Text

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        combined = state.pop("tier")
        state["tier"] = combined[0]
        state["tier_change_level"] = int(combined[1:])

    def summary(self) -> str:
        rosh = self.rosh.replace("_", " ")
        return f"Tier {self.tier}{self.tier_change_level}, RoSH {rosh}"


class SentencePlanAgreed(CaseEvent):
    """Needs and what the prison offers, kept apart so unmet need shows."""

    TOPIC = f"{TOPIC_PREFIX}.case:SentencePlanAgreed"
    FEED_TYPE = "journey-ledger.prisoner.sentence-plan-agreed"
    objectives: list[Text]
    interventions_required: list[codes.Intervention]
    interventions_available: list[codes.Intervention]

    def summary(self) -> str:
        return "Sentence plan agreed"


class OfficerAllocated(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:OfficerAllocated"
    FEED_TYPE = "journey-ledger.prisoner.officer-allocated"
    IDENTITY_FIELDS = frozenset({"officer_id", "role"})
    officer_id: OfficerId
    role: codes.OfficerRole
    reason: Text
    override_reason: Text | None

    def summary(self) -> str:
        over = (
            f" over the limit: {self.override_reason}" if self.override_reason else ""
        )
        return f"{self.officer_id} allocated as {self.role}{over}"


class OfficerDeallocated(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:OfficerDeallocated"
    FEED_TYPE = "journey-ledger.prisoner.officer-deallocated"
    IDENTITY_FIELDS = frozenset({"officer_id", "role"})
    officer_id: OfficerId
    role: codes.OfficerRole
    reason: Text

    def summary(self) -> str:
        return f"{self.officer_id} deallocated as {self.role}"


class IncidentRecorded(CaseEvent):
    """One person's part in an incident; several people share the incident reference."""

    TOPIC = f"{TOPIC_PREFIX}.case:IncidentRecorded"
    FEED_TYPE = "journey-ledger.prisoner.incident-recorded"
    IDENTITY_FIELDS = frozenset({"incident_ref"})
    incident_ref: IncidentReference
    incident_type: codes.IncidentType
    role: codes.IncidentRole
    location: Text
    severity: codes.IncidentSeverity
    narrative: Narrative

    def summary(self) -> str:
        kind = self.incident_type.replace("_", " ")
        return f"Incident {self.incident_ref}: {kind} ({self.role}, {self.severity})"


class AcctOpened(CaseEvent):
    """An ACCT (self-harm case management) is opened."""

    TOPIC = f"{TOPIC_PREFIX}.case:AcctOpened"
    FEED_TYPE = "journey-ledger.prisoner.acct-opened"
    triggers: list[Text]

    def summary(self) -> str:
        return "ACCT opened"


class AcctReviewed(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:AcctReviewed"
    FEED_TYPE = "journey-ledger.prisoner.acct-reviewed"
    outcome: codes.AcctReviewOutcome

    def summary(self) -> str:
        return f"ACCT reviewed: {self.outcome.replace('_', ' ')}"


class AcctClosed(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:AcctClosed"
    FEED_TYPE = "journey-ledger.prisoner.acct-closed"
    reason: Text

    def summary(self) -> str:
        return "ACCT closed"


class DrugTestRecorded(CaseEvent):
    """A mandatory drug test (MDT) result."""

    TOPIC = f"{TOPIC_PREFIX}.case:DrugTestRecorded"
    FEED_TYPE = "journey-ledger.prisoner.drug-test-recorded"
    IDENTITY_FIELDS = frozenset({"test_ref"})
    test_ref: DrugTestReference
    reason: codes.DrugTestReason
    result: codes.DrugTestResult
    substances: list[codes.Substance]

    def summary(self) -> str:
        found = f" ({', '.join(self.substances)})" if self.substances else ""
        why = self.reason.replace("_", " ")
        return f"MDT {self.test_ref} ({why}): {self.result}{found}"


class Transferred(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:Transferred"
    FEED_TYPE = "journey-ledger.prisoner.transferred"
    from_prison: PrisonCode
    to_prison: PrisonCode
    movement_reason: codes.TransferReason

    @property
    def destination(self) -> str | None:
        return self.to_prison

    def summary(self) -> str:
        return f"Transferred {self.from_prison} to {self.to_prison}"


class TemporaryReleaseStarted(CaseEvent):
    """Release on temporary licence (ROTL) begins."""

    TOPIC = f"{TOPIC_PREFIX}.case:TemporaryReleaseStarted"
    FEED_TYPE = "journey-ledger.prisoner.temporary-release-started"
    rotl_type: codes.TemporaryReleaseType
    expected_return: datetime

    def summary(self) -> str:
        return f"ROTL ({self.rotl_type}) started"


class TemporaryReleaseEnded(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:TemporaryReleaseEnded"
    FEED_TYPE = "journey-ledger.prisoner.temporary-release-ended"
    failed_to_return: bool

    def summary(self) -> str:
        return (
            "Failed to return from ROTL"
            if self.failed_to_return
            else "Returned from ROTL"
        )


class ResettlementStepRecorded(CaseEvent):
    """A step on one element of the resettlement passport."""

    TOPIC = f"{TOPIC_PREFIX}.case:ResettlementStepRecorded"
    FEED_TYPE = "journey-ledger.prisoner.resettlement-step-recorded"
    element: codes.PassportElement
    status: codes.ResettlementStatus
    detail: Narrative

    def summary(self) -> str:
        element = self.element.replace("_", " ")
        return f"Resettlement: {element} {self.status.replace('_', ' ')}"


class ReleaseDateSet(CaseEvent):
    """A release date; flagged when it falls on a Friday or before a non-working day."""

    TOPIC = f"{TOPIC_PREFIX}.case:ReleaseDateSet"
    FEED_TYPE = "journey-ledger.prisoner.release-date-set"
    DERIVED_FIELDS = frozenset(
        {"flagged", "release_on", "earliest_allowed", "flag_reason"}
    )
    date_type: codes.ReleaseDateType
    release_date: date
    flagged: bool
    release_on: date
    earliest_allowed: date
    flag_reason: Text | None

    def summary(self) -> str:
        flag = f" (flagged: {self.flag_reason})" if self.flagged else ""
        return f"{self.date_type} {self.release_date.isoformat()}{flag}"


class EarlyReleaseDayApproved(CaseEvent):
    """The governor's decision to release on an earlier working day."""

    TOPIC = f"{TOPIC_PREFIX}.case:EarlyReleaseDayApproved"
    FEED_TYPE = "journey-ledger.prisoner.early-release-day-approved"
    date_type: codes.ReleaseDateType
    approved_date: date

    def summary(self) -> str:
        return f"Early release day approved: {self.approved_date.isoformat()}"


class Released(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:Released"
    FEED_TYPE = "journey-ledger.prisoner.released"
    DERIVED_FIELDS = frozenset({"release_type"})
    movement_reason: codes.ReleaseReason
    release_type: codes.ReleaseType
    accommodation: codes.AccommodationStatus

    def summary(self) -> str:
        return f"Released ({self.movement_reason}), {self.accommodation}"


class IncentiveLevelReviewed(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:IncentiveLevelReviewed"
    FEED_TYPE = "journey-ledger.prisoner.incentive-level-reviewed"
    level: codes.IncentiveLevel
    review_type: codes.IncentiveReviewType
    reason: Text

    def summary(self) -> str:
        return f"Incentive level {self.level} ({self.review_type})"


class KeyWorkSessionRecorded(CaseEvent):
    """A key work session: the key worker's regular, structured time with the person
    (or an attempt at one that was not held)."""

    TOPIC = f"{TOPIC_PREFIX}.case:KeyWorkSessionRecorded"
    FEED_TYPE = "journey-ledger.prisoner.key-work-session-recorded"
    officer_id: OfficerId
    duration_minutes: Minutes
    held: bool
    narrative: Narrative

    def summary(self) -> str:
        what = "Key work session" if self.held else "Key work session attempted"
        return f"{what} with {self.officer_id} ({self.duration_minutes} min)"


class EventCorrected(CaseEvent):
    """Corrects fields of an earlier event; the original stays in the history."""

    TOPIC = f"{TOPIC_PREFIX}.case:EventCorrected"
    FEED_TYPE = "journey-ledger.prisoner.event-corrected"
    CORRECTABLE = False
    corrects_version: EventVersion
    corrects_topic: str
    reason: Text
    corrected_fields: dict[str, Any]

    def summary(self) -> str:
        fields = ", ".join(self.corrected_fields)
        return f"Corrected version {self.corrects_version}: {fields} ({self.reason})"


class CasesMerged(CaseEvent):
    """Two records of one person joined; recorded on both cases."""

    TOPIC = f"{TOPIC_PREFIX}.case:CasesMerged"
    FEED_TYPE = "journey-ledger.prisoner.merged"
    CORRECTABLE = False
    retired_number: PrisonerNumber
    survivor_number: PrisonerNumber

    def summary(self) -> str:
        return f"{self.retired_number} merged into {self.survivor_number}"


class CasesUnmerged(CaseEvent):
    """A wrong merge parted again; recorded on both cases."""

    TOPIC = f"{TOPIC_PREFIX}.case:CasesUnmerged"
    FEED_TYPE = "journey-ledger.prisoner.unmerged"
    CORRECTABLE = False
    retired_number: PrisonerNumber
    survivor_number: PrisonerNumber

    def summary(self) -> str:
        return f"{self.retired_number} unmerged from {self.survivor_number}"


# --- Officer events ----------------------------------------------------------------


class OfficerEvent(RecordedEvent):
    """An event in an officer's record (their caseload)."""


class OfficerRegistered(OfficerEvent, Aggregate.Created):
    TOPIC = f"{TOPIC_PREFIX}.officer:OfficerRegistered"
    FEED_TYPE = "journey-ledger.officer.registered"
    CORRECTABLE = False
    officer_id: OfficerId
    name: Name
    roles: list[codes.OfficerRole]
    home_prison: PrisonCode

    def summary(self) -> str:
        return f"Officer {self.officer_id} registered at {self.home_prison}"


class CaseAllocated(OfficerEvent):
    TOPIC = f"{TOPIC_PREFIX}.officer:CaseAllocated"
    FEED_TYPE = "journey-ledger.officer.case-allocated"
    prisoner_number: PrisonerNumber
    role: codes.OfficerRole
    override_reason: Text | None

    def summary(self) -> str:
        return f"{self.prisoner_number} allocated to the caseload as {self.role}"


class CaseDeallocated(OfficerEvent):
    TOPIC = f"{TOPIC_PREFIX}.officer:CaseDeallocated"
    FEED_TYPE = "journey-ledger.officer.case-deallocated"
    prisoner_number: PrisonerNumber
    role: codes.OfficerRole

    def summary(self) -> str:
        return f"{self.prisoner_number} deallocated from the caseload as {self.role}"


def _leaf_classes(base: type[RecordedEvent]) -> list[type[RecordedEvent]]:
    found = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_leaf_classes(sub))
    return found


CASE_EVENTS: dict[str, type[CaseEvent]] = {
    cls.__name__: cls  # type: ignore[misc]
    for cls in _leaf_classes(CaseEvent)
    if "TOPIC" in cls.__dict__
}
OFFICER_EVENTS: dict[str, type[OfficerEvent]] = {
    cls.__name__: cls  # type: ignore[misc]
    for cls in _leaf_classes(OfficerEvent)
    if "TOPIC" in cls.__dict__
}

# Stored events name these topics; register them so they resolve whatever the
# classes are called or wherever they live.
for _cls in (*CASE_EVENTS.values(), *OFFICER_EVENTS.values()):
    register_topic(_cls.TOPIC, _cls)
