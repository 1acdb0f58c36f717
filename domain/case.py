"""The Case: one person's custody record, and the rules that guard it.

A case is opened by the first reception under a prisoner number and holds a sequence
of bookings (periods of custody). Its state is a fold over its *facts*: every
correctable event's data, in version order, with corrections applied. A correction
rewrites the fact it corrects (the original event stays in the store) and the state is
folded again, so what the case shows is always what the history, as corrected, says.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate

from domain import codes, commands
from domain.codes import CaseStatus
from domain.commands import CaseCommand, plain
from domain.context import RequestContext
from domain.errors import (
    AcctAlreadyOpen,
    AlreadyAllocated,
    AlreadyCorrected,
    AlreadyInCustody,
    AuthorityRequired,
    CaseIsReleased,
    CaseRetired,
    CorrectionNotCorrectable,
    CorrectionTargetMissing,
    EarlyReleaseDayNotAllowed,
    IdentityFieldNotCorrectable,
    InvalidValue,
    MergeNotAllowed,
    NoFlaggedReleaseDate,
    NoOpenAcct,
    NoOpenBooking,
    NotAllocated,
    NotInCustody,
    NotMerged,
    NotOnTemporaryRelease,
    OnTemporaryRelease,
    ScreeningOutOfOrder,
    TransferToSamePrison,
)
from domain.events import (
    CASE_EVENTS,
    TOPIC_PREFIX,
    AcctClosed,
    AcctOpened,
    AcctReviewed,
    CaseEvent,
    CaseOpened,
    CasesMerged,
    CasesUnmerged,
    DrugTestRecorded,
    EarlyReleaseDayApproved,
    EventCorrected,
    HealthScreened,
    IncentiveLevelReviewed,
    IncidentRecorded,
    KeyWorkSessionRecorded,
    NeedsAssessed,
    OfficerAllocated,
    OfficerDeallocated,
    PrisonerReceived,
    RecordedEvent,
    Released,
    ReleaseDateSet,
    ResettlementStepRecorded,
    RiskAssessed,
    SentencePlanAgreed,
    TemporaryReleaseEnded,
    TemporaryReleaseStarted,
    Transferred,
)
from domain.identifiers import PrisonerNumber, case_id
from domain.release_days import release_day_advice
from domain.values import check_value

CaseMethod = Callable[["Case", RequestContext, Any], None]
CASE_METHODS: dict[type[CaseCommand], CaseMethod] = {}
"""The case's method for each command it carries out by itself."""

C = TypeVar("C", bound=CaseCommand)


def carries_out(
    command: type[C],
) -> Callable[[Callable[[Case, RequestContext, C], None]], Callable[..., None]]:
    """Register a case method as the one that carries out ``command``."""

    def register(
        method: Callable[[Case, RequestContext, C], None],
    ) -> Callable[..., None]:
        CASE_METHODS[command] = method
        return method

    return register


IN_CUSTODY = frozenset({CaseStatus.IN_CUSTODY, CaseStatus.ON_ROTL})


def _release_day_fields(release_date: date) -> dict[str, Any]:
    try:
        advice = release_day_advice(release_date)
    except ValueError as e:
        raise InvalidValue("release_date", str(e)) from None
    return {
        "flagged": advice is not None,
        "release_on": advice.release_on if advice else release_date,
        "earliest_allowed": advice.earliest_allowed if advice else release_date,
        "flag_reason": advice.reason if advice else None,
    }


def _release_type_fields(movement_reason: str) -> dict[str, Any]:
    reason = codes.ReleaseReason(movement_reason)
    return {"release_type": codes.RELEASE_TYPE_OF_REASON[reason].value}


def _rederived(fact: dict[str, Any], corrected: dict[str, Any]) -> dict[str, Any]:
    """Derived fields follow a corrected source field."""
    if fact["kind"] == "ReleaseDateSet" and "release_date" in corrected:
        return _release_day_fields(corrected["release_date"])
    if fact["kind"] == "Released" and "movement_reason" in corrected:
        return _release_type_fields(corrected["movement_reason"])
    return {}


class Case(Aggregate):
    TOPIC = f"{TOPIC_PREFIX}.case:Case"
    Event = CaseEvent
    Created = CaseOpened

    last_key_work_session: datetime | None = None
    """When the last key work session of this booking was held (a class default, for
    cases loaded from snapshots taken before sessions were recorded)."""

    @staticmethod
    def create_id(prisoner_number: str) -> Any:
        return case_id(prisoner_number)

    def __init__(self, prisoner_number: str, **metadata: Any) -> None:
        self.prisoner_number = prisoner_number
        self.facts: list[dict[str, Any]] = []
        """Correctable events' data in version order, corrections applied."""
        self.corrections: dict[str, int] = {}
        """Corrected version (as text: JSON keys) -> the correcting event's version."""
        self.source_refs: dict[str, int] = {}
        """A client's own reference -> the version of the event it recorded."""
        self.merged_into: str | None = None
        self.absorbed: list[str] = []
        self._reset_state()

    @classmethod
    def open(cls, ctx: RequestContext, prisoner_number: str) -> Case:
        PrisonerNumber.check("prisoner_number", prisoner_number)
        return cls._create(
            CaseOpened,
            id=case_id(prisoner_number),
            prisoner_number=prisoner_number,
            **ctx.metadata(),
        )

    # --- state, folded from facts -----------------------------------------------------

    def _reset_state(self) -> None:
        self.status: str = CaseStatus.NEW
        self.prison: str | None = None
        self.bookings: list[dict[str, Any]] = []
        self.personal_details: dict[str, str] = {}
        self.legal_status: str | None = None
        self.screenings: dict[str, datetime] = {}
        self.needs: dict[str, Any] | None = None
        self.tier: str | None = None
        self.tier_change_level: int | None = None
        self.rosh: str | None = None
        self.likelihood_of_reoffending: str | None = None
        self.sentence_plan: dict[str, Any] | None = None
        self.officers: dict[str, str] = {}
        self.acct_open = False
        self.temporary_release: dict[str, Any] | None = None
        self.resettlement: dict[str, str] = {}
        self.release_dates: dict[str, dict[str, Any]] = {}
        self.incentive_level: str | None = None
        self.last_release: dict[str, Any] | None = None
        self.last_key_work_session = None

    def take(self, event: RecordedEvent) -> None:
        """Apply one recorded event (called by the event's ``apply``)."""
        if event.source_ref is not None:
            self.source_refs[event.source_ref] = event.originator_version
        if isinstance(event, EventCorrected):
            self._take_correction(event)
        elif isinstance(event, CasesMerged):
            if event.retired_number == self.prisoner_number:
                self.merged_into = event.survivor_number
            else:
                self.absorbed.append(event.retired_number)
        elif isinstance(event, CasesUnmerged):
            if event.retired_number == self.prisoner_number:
                self.merged_into = None
            elif event.retired_number in self.absorbed:
                self.absorbed.remove(event.retired_number)
        elif type(event).CORRECTABLE:
            fact = {
                "version": event.originator_version,
                "kind": type(event).__name__,
                "occurred_at": event.occurred_at,
                "fields": event.data(),
            }
            self.facts.append(fact)
            self._evolve(fact)

    def _take_correction(self, event: EventCorrected) -> None:
        self.corrections[str(event.corrects_version)] = event.originator_version
        for fact in self.facts:
            if fact["version"] == event.corrects_version:
                changes = dict(event.corrected_fields)
                if "occurred_at" in changes:
                    fact["occurred_at"] = changes.pop("occurred_at")
                fact["fields"] = {**fact["fields"], **changes}
        self._reset_state()
        for fact in self.facts:
            self._evolve(fact)

    def _evolve(self, fact: dict[str, Any]) -> None:
        on = getattr(self, "_on_" + fact["kind"], None)
        if on is not None:
            on(fact["fields"], fact["occurred_at"])

    def _on_PrisonerReceived(self, f: dict[str, Any], at: datetime) -> None:
        self.status = CaseStatus.IN_CUSTODY
        self.prison = f["received_into"]
        self.legal_status = f["legal_status"]
        if f["personal_details"]:
            self.personal_details = dict(f["personal_details"])
        self.bookings.append(
            {
                "booking_no": f["booking_no"],
                "prison": f["received_into"],
                "received_at": at,
                "movement_reason": f["movement_reason"],
                "legal_status": f["legal_status"],
                "sentence_days": f["sentence_days"],
                "released_at": None,
                "release_reason": None,
            }
        )
        # Screening, plans, officers and release dates belong to a period of custody.
        self.screenings = {}
        self.sentence_plan = None
        self.officers = {}
        self.acct_open = False
        self.temporary_release = None
        self.resettlement = {}
        self.release_dates = {}
        self.last_release = None
        self.last_key_work_session = None

    def _on_HealthScreened(self, f: dict[str, Any], at: datetime) -> None:
        self.screenings.setdefault(f["stage"], at)

    def _on_NeedsAssessed(self, f: dict[str, Any], at: datetime) -> None:
        self.needs = dict(f)

    def _on_RiskAssessed(self, f: dict[str, Any], at: datetime) -> None:
        self.tier = f["tier"]
        self.tier_change_level = f["tier_change_level"]
        self.rosh = f["rosh"]
        self.likelihood_of_reoffending = f["likelihood_of_reoffending"]

    def _on_SentencePlanAgreed(self, f: dict[str, Any], at: datetime) -> None:
        self.sentence_plan = dict(f)

    def _on_OfficerAllocated(self, f: dict[str, Any], at: datetime) -> None:
        self.officers[f["role"]] = f["officer_id"]

    def _on_OfficerDeallocated(self, f: dict[str, Any], at: datetime) -> None:
        if self.officers.get(f["role"]) == f["officer_id"]:
            del self.officers[f["role"]]

    def _on_AcctOpened(self, f: dict[str, Any], at: datetime) -> None:
        self.acct_open = True

    def _on_AcctClosed(self, f: dict[str, Any], at: datetime) -> None:
        self.acct_open = False

    def _on_Transferred(self, f: dict[str, Any], at: datetime) -> None:
        self.prison = f["to_prison"]

    def _on_TemporaryReleaseStarted(self, f: dict[str, Any], at: datetime) -> None:
        self.status = CaseStatus.ON_ROTL
        self.temporary_release = {**f, "started_at": at}

    def _on_TemporaryReleaseEnded(self, f: dict[str, Any], at: datetime) -> None:
        self.status = CaseStatus.IN_CUSTODY
        self.temporary_release = None

    def _on_ResettlementStepRecorded(self, f: dict[str, Any], at: datetime) -> None:
        self.resettlement[f["element"]] = f["status"]

    def _on_ReleaseDateSet(self, f: dict[str, Any], at: datetime) -> None:
        self.release_dates[f["date_type"]] = {**f, "approved_date": None}

    def _on_EarlyReleaseDayApproved(self, f: dict[str, Any], at: datetime) -> None:
        if f["date_type"] in self.release_dates:
            self.release_dates[f["date_type"]]["approved_date"] = f["approved_date"]

    def _on_Released(self, f: dict[str, Any], at: datetime) -> None:
        self.status = CaseStatus.RELEASED
        if self.bookings:
            self.bookings[-1]["released_at"] = at
            self.bookings[-1]["release_reason"] = f["movement_reason"]
        self.last_release = {**f, "released_at": at, "prison": self.prison}
        self.officers = {}
        self.acct_open = False

    def _on_KeyWorkSessionRecorded(self, f: dict[str, Any], at: datetime) -> None:
        if f["held"]:
            self.last_key_work_session = at

    def _on_IncentiveLevelReviewed(self, f: dict[str, Any], at: datetime) -> None:
        self.incentive_level = f["level"]

    # --- rules ----------------------------------------------------------------

    @property
    def in_custody(self) -> bool:
        return self.status in IN_CUSTODY

    @property
    def booking_no(self) -> str | None:
        return self.bookings[-1]["booking_no"] if self.bookings else None

    def _require_live(self) -> None:
        if self.merged_into is not None:
            raise CaseRetired(
                f"{self.prisoner_number} was merged into {self.merged_into}; "
                f"record events on {self.merged_into}"
            )

    def _require_custody(self) -> None:
        self._require_live()
        if self.status == CaseStatus.RELEASED:
            raise CaseIsReleased(
                f"{self.prisoner_number} has been released; only a correction or a "
                "new reception can be recorded"
            )
        if not self.in_custody:
            raise NotInCustody(f"{self.prisoner_number} is not in custody")

    def _require_in_prison(self) -> None:
        self._require_custody()
        if self.status == CaseStatus.ON_ROTL:
            raise OnTemporaryRelease(
                f"{self.prisoner_number} is on temporary release; end the ROTL first"
            )

    def _record(
        self, event_class: type[CaseEvent], ctx: RequestContext, **fields: Any
    ) -> None:
        self.trigger_event(event_class, **ctx.metadata(), **plain(fields))

    def execute(self, ctx: RequestContext, command: CaseCommand) -> None:
        """Carry out a command on this case (by the method registered for it)."""
        method = CASE_METHODS.get(type(command))
        if method is None:
            raise TypeError(f"no method of the case carries out {type(command)}")
        method(self, ctx, command)

    # --- commands -------------------------------------------------------------------

    @carries_out(commands.ReceivePrisoner)
    def receive(self, ctx: RequestContext, c: commands.ReceivePrisoner) -> None:
        self._require_live()
        if self.in_custody:
            raise AlreadyInCustody(
                f"{self.prisoner_number} already has an open booking "
                f"({self.booking_no} at {self.prison})"
            )
        self._record(
            PrisonerReceived,
            ctx,
            received_into=ctx.prison,
            **{**c.fields(), "personal_details": c.personal_details or {}},
        )

    @carries_out(commands.RecordHealthScreening)
    def screen_health(
        self, ctx: RequestContext, c: commands.RecordHealthScreening
    ) -> None:
        self._require_custody()
        if c.stage == codes.ScreeningStage.INITIAL and c.stage in self.screenings:
            raise ScreeningOutOfOrder(
                "the initial health screening is already recorded for this booking"
            )
        if (
            c.stage == codes.ScreeningStage.COMPREHENSIVE
            and codes.ScreeningStage.INITIAL not in self.screenings
        ):
            raise ScreeningOutOfOrder(
                "a comprehensive health screening needs the initial one first"
            )
        self._record(HealthScreened, ctx, **c.fields())

    @carries_out(commands.RecordNeedsAssessment)
    def assess_needs(
        self, ctx: RequestContext, c: commands.RecordNeedsAssessment
    ) -> None:
        self._require_custody()
        self._record(NeedsAssessed, ctx, **c.fields())

    @carries_out(commands.RecordRiskAssessment)
    def assess_risk(
        self, ctx: RequestContext, c: commands.RecordRiskAssessment
    ) -> None:
        self._require_custody()
        self._record(RiskAssessed, ctx, **c.fields())

    @carries_out(commands.AgreeSentencePlan)
    def agree_sentence_plan(
        self, ctx: RequestContext, c: commands.AgreeSentencePlan
    ) -> None:
        self._require_custody()
        self._record(SentencePlanAgreed, ctx, **c.fields())

    def allocate_officer(
        self,
        ctx: RequestContext,
        c: commands.AllocateOfficer,
        recorded_override: str | None,
    ) -> None:
        """Record the allocation; the officer's caseload decided whether an override
        was needed (``recorded_override``), so both aggregates agree."""
        self.check_allocation(officer_id=c.officer_id, role=c.role)
        self._record(
            OfficerAllocated,
            ctx,
            **{**c.fields(), "override_reason": recorded_override},
        )

    def check_allocation(self, *, officer_id: str, role: str) -> None:
        """The case's rules for an allocation (the officer has its own)."""
        self._require_custody()
        held_by = self.officers.get(role)
        if held_by is not None:
            raise AlreadyAllocated(
                f"{self.prisoner_number} already has {held_by} as {role}; "
                "deallocate first"
            )

    @carries_out(commands.DeallocateOfficer)
    def deallocate_officer(
        self, ctx: RequestContext, c: commands.DeallocateOfficer
    ) -> None:
        self._require_custody()
        if self.officers.get(c.role) != c.officer_id:
            raise NotAllocated(
                f"{c.officer_id} is not the {c.role} of {self.prisoner_number}"
            )
        self._record(OfficerDeallocated, ctx, **c.fields())

    def record_incident(
        self,
        ctx: RequestContext,
        incident: commands.RecordIncident,
        role: str,
    ) -> None:
        """This person's part (``role``) in an incident recorded on several cases."""
        self._require_custody()
        fields = incident.fields()
        del fields["people"]
        self._record(IncidentRecorded, ctx, **fields, role=role)

    @carries_out(commands.OpenAcct)
    def open_acct(self, ctx: RequestContext, c: commands.OpenAcct) -> None:
        self._require_custody()
        if self.acct_open:
            raise AcctAlreadyOpen(f"{self.prisoner_number} already has an open ACCT")
        self._record(AcctOpened, ctx, **c.fields())

    @carries_out(commands.ReviewAcct)
    def review_acct(self, ctx: RequestContext, c: commands.ReviewAcct) -> None:
        self._require_custody()
        if not self.acct_open:
            raise NoOpenAcct(f"{self.prisoner_number} has no open ACCT to review")
        self._record(AcctReviewed, ctx, **c.fields())

    @carries_out(commands.CloseAcct)
    def close_acct(self, ctx: RequestContext, c: commands.CloseAcct) -> None:
        self._require_custody()
        if not self.acct_open:
            raise NoOpenAcct(f"{self.prisoner_number} has no open ACCT to close")
        self._record(AcctClosed, ctx, **c.fields())

    @carries_out(commands.RecordDrugTest)
    def record_drug_test(self, ctx: RequestContext, c: commands.RecordDrugTest) -> None:
        self._require_custody()
        if c.substances and c.result != codes.DrugTestResult.POSITIVE:
            raise InvalidValue(
                "substances", "substances are recorded only with a positive result"
            )
        self._record(DrugTestRecorded, ctx, **c.fields())

    @carries_out(commands.RecordTransfer)
    def transfer(self, ctx: RequestContext, c: commands.RecordTransfer) -> None:
        self._require_in_prison()
        if c.to_prison == self.prison:
            raise TransferToSamePrison(
                f"{self.prisoner_number} is already at {self.prison}"
            )
        self._record(Transferred, ctx, from_prison=self.prison, **c.fields())

    @carries_out(commands.StartTemporaryRelease)
    def start_temporary_release(
        self, ctx: RequestContext, c: commands.StartTemporaryRelease
    ) -> None:
        self._require_in_prison()
        self._record(TemporaryReleaseStarted, ctx, **c.fields())

    @carries_out(commands.EndTemporaryRelease)
    def end_temporary_release(
        self, ctx: RequestContext, c: commands.EndTemporaryRelease
    ) -> None:
        self._require_custody()
        if self.status != CaseStatus.ON_ROTL:
            raise NotOnTemporaryRelease(
                f"{self.prisoner_number} is not on temporary release"
            )
        self._record(TemporaryReleaseEnded, ctx, **c.fields())

    @carries_out(commands.RecordResettlementStep)
    def record_resettlement_step(
        self, ctx: RequestContext, c: commands.RecordResettlementStep
    ) -> None:
        self._require_custody()
        self._record(ResettlementStepRecorded, ctx, **c.fields())

    @carries_out(commands.SetReleaseDate)
    def set_release_date(self, ctx: RequestContext, c: commands.SetReleaseDate) -> None:
        self._require_custody()
        self._record(
            ReleaseDateSet,
            ctx,
            **c.fields(),
            **_release_day_fields(c.release_date),
        )

    @carries_out(commands.ApproveEarlyReleaseDay)
    def approve_early_release_day(
        self, ctx: RequestContext, c: commands.ApproveEarlyReleaseDay
    ) -> None:
        self._require_custody()
        if ctx.authority is None:
            raise AuthorityRequired(
                "an early release day needs the authorising governor named"
            )
        release = self.release_dates.get(c.date_type)
        if release is None or not release["flagged"]:
            raise NoFlaggedReleaseDate(
                f"{self.prisoner_number} has no flagged {c.date_type} release date"
            )
        if not release["earliest_allowed"] <= c.approved_date <= release["release_on"]:
            raise EarlyReleaseDayNotAllowed(
                f"{c.approved_date} is outside the days policy allows "
                f"({release['earliest_allowed']} to {release['release_on']})"
            )
        self._record(EarlyReleaseDayApproved, ctx, **c.fields())

    @carries_out(commands.RecordRelease)
    def release(self, ctx: RequestContext, c: commands.RecordRelease) -> None:
        self._require_live()
        if not self.in_custody:
            raise NoOpenBooking(
                f"{self.prisoner_number} has no open booking to release from"
            )
        if self.status == CaseStatus.ON_ROTL:
            raise OnTemporaryRelease(
                f"{self.prisoner_number} is on temporary release; end the ROTL first"
            )
        self._record(
            Released,
            ctx,
            **c.fields(),
            **_release_type_fields(c.movement_reason),
        )

    @carries_out(commands.RecordKeyWorkSession)
    def record_key_work_session(
        self, ctx: RequestContext, c: commands.RecordKeyWorkSession
    ) -> None:
        self._require_in_prison()
        self._record(KeyWorkSessionRecorded, ctx, **c.fields())

    @carries_out(commands.ReviewIncentiveLevel)
    def review_incentive_level(
        self, ctx: RequestContext, c: commands.ReviewIncentiveLevel
    ) -> None:
        self._require_custody()
        self._record(IncentiveLevelReviewed, ctx, **c.fields())

    @carries_out(commands.CorrectEvent)
    def correct(self, ctx: RequestContext, c: commands.CorrectEvent) -> None:
        """Correct fields of the event at ``c.version``; the original stays."""
        version = c.version
        fact = next((f for f in self.facts if f["version"] == version), None)
        if fact is None:
            if 1 <= version <= self.version:
                raise CorrectionNotCorrectable(
                    f"version {version} of {self.prisoner_number} is a correction, a "
                    "merge or the case's opening, which cannot be corrected"
                )
            raise CorrectionTargetMissing(
                f"{self.prisoner_number} has no event at version {version}"
            )
        event_class = CASE_EVENTS[fact["kind"]]
        declared = event_class.data_fields()
        corrected: dict[str, Any] = {}
        for name, value in c.corrected_fields.items():
            if name in event_class.IDENTITY_FIELDS or name in (
                RecordedEvent.METADATA_FIELDS
            ):
                raise IdentityFieldNotCorrectable(
                    f"{name} of {fact['kind']} identifies the event or its recording "
                    "and cannot be corrected"
                )
            if name in event_class.DERIVED_FIELDS:
                raise InvalidValue(
                    name,
                    f"{name} of {fact['kind']} is worked out by the ledger; correct "
                    "the field it comes from",
                )
            if name == "occurred_at":
                corrected[name] = check_value(datetime, name, value)
            elif name in declared:
                corrected[name] = plain(check_value(declared[name], name, value))
            else:
                raise InvalidValue(name, f"{fact['kind']} has no field {name!r}")
        if str(version) in self.corrections:
            raise AlreadyCorrected(
                f"version {version} of {self.prisoner_number} was already corrected "
                f"by version {self.corrections[str(version)]}"
            )
        corrected |= _rederived(fact, corrected)
        self.trigger_event(
            EventCorrected,
            **ctx.metadata(),
            corrects_version=version,
            corrects_topic=event_class.TOPIC,
            reason=str(c.reason),
            corrected_fields=corrected,
        )

    def merge_into(self, ctx: RequestContext, survivor: Case) -> None:
        """Join this record into ``survivor`` (both record the merge)."""
        if survivor.prisoner_number == self.prisoner_number:
            raise MergeNotAllowed("a record cannot be merged into itself")
        for case in (self, survivor):
            if case.merged_into is not None:
                raise MergeNotAllowed(
                    f"{case.prisoner_number} is already merged into {case.merged_into}"
                )
        if self.absorbed:
            raise MergeNotAllowed(
                f"{self.prisoner_number} holds merged records "
                f"({', '.join(self.absorbed)}); it cannot itself be retired"
            )
        fields = {
            "retired_number": self.prisoner_number,
            "survivor_number": survivor.prisoner_number,
        }
        for case in (self, survivor):
            case.trigger_event(CasesMerged, **ctx.metadata(), **fields)

    def unmerge_from(self, ctx: RequestContext, survivor: Case) -> None:
        """Part a wrongly merged record from its survivor (both record it)."""
        if self.merged_into != survivor.prisoner_number:
            raise NotMerged(
                f"{self.prisoner_number} is not merged into {survivor.prisoner_number}"
            )
        fields = {
            "retired_number": self.prisoner_number,
            "survivor_number": survivor.prisoner_number,
        }
        for case in (self, survivor):
            case.trigger_event(CasesUnmerged, **ctx.metadata(), **fields)
