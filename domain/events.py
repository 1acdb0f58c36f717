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

from datetime import date, datetime
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

TOPIC_PREFIX = "journey-ledger"


class RecordedEvent(Aggregate.Event):
    """What every recorded event carries besides its data."""

    TOPIC: ClassVar[str]

    occurred_at: datetime
    recorded_by: str
    prison: str
    source: str
    source_ref: str | None
    correlation_id: str
    authority: str | None

    METADATA_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            "recorded_by",
            "prison",
            "source",
            "source_ref",
            "correlation_id",
            "authority",
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


# --- Case events -------------------------------------------------------------------


class CaseEvent(RecordedEvent):
    """An event in one person's case history."""


class CaseOpened(CaseEvent, Aggregate.Created):
    """A case is opened by the first reception under a prisoner number."""

    TOPIC = f"{TOPIC_PREFIX}.case:CaseOpened"
    IDENTITY_FIELDS = frozenset({"prisoner_number"})
    CORRECTABLE = False
    prisoner_number: str


class PrisonerReceived(CaseEvent):
    """A reception: opens a booking (a period of custody)."""

    TOPIC = f"{TOPIC_PREFIX}.case:PrisonerReceived"
    IDENTITY_FIELDS = frozenset({"booking_no"})
    booking_no: str
    received_into: str
    movement_reason: str
    legal_status: str
    sentence_days: int | None
    personal_details: dict[str, str]


class HealthScreened(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:HealthScreened"
    stage: str
    outcome: str
    referrals: list[str]


class NeedsAssessed(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:NeedsAssessed"
    substance_misuse: bool
    learning_difficulty_or_disability: bool
    literacy_level: str
    numeracy_level: str
    has_id: bool
    has_bank_account: bool
    housing_on_release: str
    caring_responsibilities: bool


class RiskAssessed(CaseEvent):
    """Tier (resources follow risk) and risk of serious harm (RoSH).

    Version 2 keeps the tier letter and its change level apart; version 1 stored them
    together as one string (``"B2"``).
    """

    TOPIC = f"{TOPIC_PREFIX}.case:RiskAssessed"
    class_version = 2
    tier: str
    tier_change_level: int
    rosh: str
    likelihood_of_reoffending: str
    assessor: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        combined = state.pop("tier")
        state["tier"] = combined[0]
        state["tier_change_level"] = int(combined[1:])


class SentencePlanAgreed(CaseEvent):
    """Needs and what the prison offers, kept apart so unmet need shows."""

    TOPIC = f"{TOPIC_PREFIX}.case:SentencePlanAgreed"
    objectives: list[str]
    interventions_required: list[str]
    interventions_available: list[str]


class OfficerAllocated(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:OfficerAllocated"
    IDENTITY_FIELDS = frozenset({"officer_id", "role"})
    officer_id: str
    role: str
    reason: str
    override_reason: str | None


class OfficerDeallocated(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:OfficerDeallocated"
    IDENTITY_FIELDS = frozenset({"officer_id", "role"})
    officer_id: str
    role: str
    reason: str


class IncidentRecorded(CaseEvent):
    """One person's part in an incident; several people share the incident reference."""

    TOPIC = f"{TOPIC_PREFIX}.case:IncidentRecorded"
    IDENTITY_FIELDS = frozenset({"incident_ref"})
    incident_ref: str
    incident_type: str
    role: str
    location: str
    severity: str
    narrative: str


class AcctOpened(CaseEvent):
    """An ACCT (self-harm case management) is opened."""

    TOPIC = f"{TOPIC_PREFIX}.case:AcctOpened"
    triggers: list[str]


class AcctReviewed(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:AcctReviewed"
    outcome: str


class AcctClosed(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:AcctClosed"
    reason: str


class DrugTestRecorded(CaseEvent):
    """A mandatory drug test (MDT) result."""

    TOPIC = f"{TOPIC_PREFIX}.case:DrugTestRecorded"
    IDENTITY_FIELDS = frozenset({"test_ref"})
    test_ref: str
    reason: str
    result: str
    substances: list[str]


class Transferred(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:Transferred"
    from_prison: str
    to_prison: str
    movement_reason: str


class TemporaryReleaseStarted(CaseEvent):
    """Release on temporary licence (ROTL) begins."""

    TOPIC = f"{TOPIC_PREFIX}.case:TemporaryReleaseStarted"
    rotl_type: str
    expected_return: datetime


class TemporaryReleaseEnded(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:TemporaryReleaseEnded"
    failed_to_return: bool


class ResettlementStepRecorded(CaseEvent):
    """A step on one element of the resettlement passport."""

    TOPIC = f"{TOPIC_PREFIX}.case:ResettlementStepRecorded"
    element: str
    status: str
    detail: str


class ReleaseDateSet(CaseEvent):
    """A release date; flagged when it falls on a Friday or before a non-working day."""

    TOPIC = f"{TOPIC_PREFIX}.case:ReleaseDateSet"
    DERIVED_FIELDS = frozenset(
        {"flagged", "release_on", "earliest_allowed", "flag_reason"}
    )
    date_type: str
    release_date: date
    flagged: bool
    release_on: date
    earliest_allowed: date
    flag_reason: str | None


class EarlyReleaseDayApproved(CaseEvent):
    """The governor's decision to release on an earlier working day."""

    TOPIC = f"{TOPIC_PREFIX}.case:EarlyReleaseDayApproved"
    date_type: str
    approved_date: date


class Released(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:Released"
    DERIVED_FIELDS = frozenset({"release_type"})
    movement_reason: str
    release_type: str
    accommodation: str


class IncentiveLevelReviewed(CaseEvent):
    TOPIC = f"{TOPIC_PREFIX}.case:IncentiveLevelReviewed"
    level: str
    review_type: str
    reason: str


class EventCorrected(CaseEvent):
    """Corrects fields of an earlier event; the original stays in the history."""

    TOPIC = f"{TOPIC_PREFIX}.case:EventCorrected"
    CORRECTABLE = False
    corrects_version: int
    corrects_topic: str
    reason: str
    corrected_fields: dict[str, Any]


class CasesMerged(CaseEvent):
    """Two records of one person joined; recorded on both cases."""

    TOPIC = f"{TOPIC_PREFIX}.case:CasesMerged"
    CORRECTABLE = False
    retired_number: str
    survivor_number: str


class CasesUnmerged(CaseEvent):
    """A wrong merge parted again; recorded on both cases."""

    TOPIC = f"{TOPIC_PREFIX}.case:CasesUnmerged"
    CORRECTABLE = False
    retired_number: str
    survivor_number: str


# --- Officer events ----------------------------------------------------------------


class OfficerEvent(RecordedEvent):
    """An event in an officer's record (their caseload)."""


class OfficerRegistered(OfficerEvent, Aggregate.Created):
    TOPIC = f"{TOPIC_PREFIX}.officer:OfficerRegistered"
    CORRECTABLE = False
    officer_id: str
    name: str
    roles: list[str]
    home_prison: str


class CaseAllocated(OfficerEvent):
    TOPIC = f"{TOPIC_PREFIX}.officer:CaseAllocated"
    prisoner_number: str
    role: str
    override_reason: str | None


class CaseDeallocated(OfficerEvent):
    TOPIC = f"{TOPIC_PREFIX}.officer:CaseDeallocated"
    prisoner_number: str
    role: str


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
