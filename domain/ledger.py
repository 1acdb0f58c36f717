"""JourneyLedger: the application service. One command method per event.

Each command takes the request context (who, where, from which client, the client's
own reference, correlation id, authority), loads what it changes, lets the aggregates
check their rules, and saves everything it changed in one atomic save. It returns the
case's new version and the event's position in the log.

Concurrency: a save that conflicts with another writer is retried against fresh state
(so the rules are checked again, and a caseload limit cannot be passed by two requests
at once), unless the caller gave an expected version, in which case it is refused as
stale. A command whose ``source_ref`` was already applied to the case stores nothing
and returns the first result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from domain.access import AccessLog, access_log_id
from domain.case import Case
from domain.context import RequestContext
from domain.errors import (
    CaseNotFound,
    InvalidValue,
    OfficerAlreadyRegistered,
    OfficerNotFound,
    StaleVersion,
    TooMuchContention,
)
from domain.identifiers import PrisonerNumber, case_id, officer_aggregate_id
from domain.officer import CaseloadLimits, Officer
from domain.replay import Replay, replay_case

DEFAULT_SNAPSHOT_INTERVAL = 50
MAX_ATTEMPTS = 25
"""Retries of a conflicted save; each retry re-reads, so it loses only to a writer
that made progress."""

AES_CIPHER_TOPIC = "eventsourcing.cipher:AESCipher"


class LocatesEvents(Protocol):
    """A recorder that can say where an event sits in the log (our store can)."""

    def position_of(self, originator_id: UUID, originator_version: int) -> int | None:
        """The notification id of an event, if it is stored."""


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the case's version after it, and the event's position."""

    prisoner_number: str
    version: int
    position: int | None
    duplicate: bool = False
    """True when the source_ref was already applied and nothing new was stored."""


def cipher_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The library's cipher settings for ``LEDGER_CIPHER_KEY``, when it is set."""
    key = env.get("LEDGER_CIPHER_KEY") or os.environ.get("LEDGER_CIPHER_KEY")
    if not key or env.get("CIPHER_TOPIC"):
        return {}
    return {"CIPHER_TOPIC": AES_CIPHER_TOPIC, "CIPHER_KEY": key}


class JourneyLedger(Application[UUID]):
    name = "JourneyLedger"
    snapshotting_intervals = {  # noqa: RUF012 (the library's own class variable)
        Case: DEFAULT_SNAPSHOT_INTERVAL,
        Officer: DEFAULT_SNAPSHOT_INTERVAL,
        AccessLog: DEFAULT_SNAPSHOT_INTERVAL,
    }

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        caseload_limits: CaseloadLimits | None = None,
    ) -> None:
        given = dict(env or {})
        super().__init__(env=given | cipher_environment(given))
        interval = int(
            self.env.get("LEDGER_SNAPSHOT_INTERVAL") or DEFAULT_SNAPSHOT_INTERVAL
        )
        # The library reads the intervals through the instance when it saves.
        vars(self)["snapshotting_intervals"] = {
            Case: interval,
            Officer: interval,
            AccessLog: interval,
        }
        self.caseload_limits = caseload_limits or CaseloadLimits.parse(
            self.env.get("LEDGER_CASELOAD_LIMITS") or ""
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # --- reads ----------------------------------------------------------------------

    def _find(self, aggregate_id: UUID) -> Any:
        """The aggregate with this id, or None if nothing was ever saved under it."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def find_case(self, prisoner_number: str) -> Case | None:
        PrisonerNumber(prisoner_number)
        case: Case | None = self._find(case_id(prisoner_number))
        return case

    def case(self, prisoner_number: str) -> Case:
        case = self.find_case(prisoner_number)
        if case is None:
            raise CaseNotFound(f"no case for {prisoner_number}")
        return case

    def resolve_case(self, prisoner_number: str) -> Case:
        """The case a prisoner number now means: a merged record's survivor."""
        case = self.case(prisoner_number)
        seen = {case.prisoner_number}
        while case.merged_into is not None and case.merged_into not in seen:
            seen.add(case.merged_into)
            case = self.case(case.merged_into)
        return case

    def replay(
        self,
        prisoner_number: str,
        *,
        as_of: datetime | None = None,
        known_at: datetime | None = None,
    ) -> Replay:
        """The case as it stood at valid time ``as_of``, as the ledger knew it at
        record time ``known_at`` (either may be None); see :mod:`domain.replay`."""
        PrisonerNumber(prisoner_number)
        events = list(self.events.get(case_id(prisoner_number)))
        if not events:
            raise CaseNotFound(f"no case for {prisoner_number}")
        return replay_case(events, as_of=as_of, known_at=known_at)

    def find_officer(self, officer_id: str) -> Officer | None:
        officer: Officer | None = self._find(officer_aggregate_id(officer_id))
        return officer

    def officer(self, officer_id: str) -> Officer:
        officer = self.find_officer(officer_id)
        if officer is None:
            raise OfficerNotFound(f"no officer {officer_id}")
        return officer

    # --- the access log (reads by people; see domain.access) --------------------------

    def record_case_read(
        self,
        *,
        reader: str,
        roles: Sequence[str],
        correlation_id: str,
        prisoner_number: str,
        resource: str,
    ) -> int:
        """Record that ``reader`` read a case; returns the read's position."""
        return self._record_access(
            reader,
            roles,
            correlation_id,
            lambda log, at: log.read_case(
                prisoner_number=prisoner_number,
                resource=resource,
                at=at,
                correlation_id=correlation_id,
                roles=list(roles),
            ),
        )

    def record_access_log_read(
        self,
        *,
        reader: str,
        roles: Sequence[str],
        correlation_id: str,
        filters: Mapping[str, str],
    ) -> int:
        """Record that ``reader`` read the access log; returns the read's position."""
        return self._record_access(
            reader,
            roles,
            correlation_id,
            lambda log, at: log.read_access_log(
                filters=dict(filters),
                at=at,
                correlation_id=correlation_id,
                roles=list(roles),
            ),
        )

    def _record_access(
        self,
        reader: str,
        roles: Sequence[str],
        correlation_id: str,
        act: Callable[[AccessLog, datetime], None],
    ) -> int:
        """Append to the reader's log for today; retry when another read of the same
        reader took the version first (each retry re-reads, so it loses only to a
        read that was stored)."""
        for _ in range(MAX_ATTEMPTS):
            at = datetime.now(UTC)
            log: AccessLog | None = self._find(access_log_id(reader, at.date()))
            if log is None:
                log = AccessLog.open(
                    reader=reader,
                    day=at.date(),
                    at=at,
                    correlation_id=correlation_id,
                    roles=list(roles),
                )
            act(log, at)
            try:
                recordings = self.save(log)
            except IntegrityError:
                continue
            return recordings[-1].notification.id
        raise TooMuchContention(f"{reader}'s reads kept colliding; try again")

    # --- the command loop -------------------------------------------------------------

    def _run(
        self,
        ctx: RequestContext,
        numbers: Sequence[str],
        act: Callable[[list[Case]], Sequence[Aggregate]],
        *,
        expected_version: int | None = None,
        opens: bool = False,
    ) -> list[CommandResult]:
        """Load the cases, act, save atomically; retry on a conflicting writer."""
        for number in numbers:
            PrisonerNumber(number)
        for _ in range(MAX_ATTEMPTS):
            cases = []
            opened = False
            for number in numbers:
                case = self.find_case(number)
                if case is None:
                    opened = True
                    if not opens:
                        raise CaseNotFound(f"no case for {number}")
                    if expected_version not in (None, 0):
                        raise StaleVersion(
                            f"{number} has no case yet (version 0), "
                            f"not version {expected_version}",
                            current_version=0,
                        )
                    case = Case.open(ctx, number)
                elif not opens and case.prison is not None:
                    # A reception brings the person into the recorder's own prison
                    # (checked by the context); every other command acts where the
                    # case is held now.
                    ctx.require_remit(case.prison, f"the prison {number} is held at")
                cases.append(case)
            done = None if opened else self._already_applied(cases, ctx)
            if done is not None:
                return done
            if expected_version is not None and cases[0].version != expected_version:
                raise StaleVersion(
                    f"{cases[0].prisoner_number} is at version {cases[0].version}, "
                    f"not {expected_version}",
                    current_version=cases[0].version,
                )
            others = act(cases)
            try:
                recordings = self.save(*cases, *others)
            except IntegrityError:
                if expected_version is not None:
                    current = self.case(numbers[0]).version
                    raise StaleVersion(
                        f"{numbers[0]} changed while this command ran "
                        f"(now version {current})",
                        current_version=current,
                    ) from None
                continue
            positions = {
                (r.domain_event.originator_id, r.domain_event.originator_version): (
                    r.notification.id
                )
                for r in recordings
            }
            return [
                CommandResult(
                    c.prisoner_number, c.version, positions[(c.id, c.version)]
                )
                for c in cases
            ]
        raise TooMuchContention(
            f"{', '.join(numbers)} kept changing under this command; try again"
        )

    def _already_applied(
        self, cases: list[Case], ctx: RequestContext
    ) -> list[CommandResult] | None:
        ref = ctx.source_ref
        if ref is None or not all(ref in c.source_refs for c in cases):
            return None
        return [
            CommandResult(
                c.prisoner_number,
                c.source_refs[ref],
                self._position_of(c.id, c.source_refs[ref]),
                duplicate=True,
            )
            for c in cases
        ]

    def _position_of(self, originator_id: UUID, version: int) -> int | None:
        if not hasattr(self.recorder, "position_of"):
            return None
        recorder: LocatesEvents = self.recorder
        return recorder.position_of(originator_id, version)

    def _one(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        act: Callable[[Case], None],
        expected_version: int | None,
    ) -> CommandResult:
        def on_case(cases: list[Case]) -> Sequence[Aggregate]:
            act(cases[0])
            return ()

        return self._run(
            ctx, [prisoner_number], on_case, expected_version=expected_version
        )[0]

    # --- commands ---------------------------------------------------------------------

    def record_reception(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        booking_no: str,
        movement_reason: str,
        legal_status: str,
        sentence_days: int | None = None,
        personal_details: dict[str, str] | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        def receive(cases: list[Case]) -> Sequence[Aggregate]:
            cases[0].receive(
                ctx,
                booking_no=booking_no,
                movement_reason=movement_reason,
                legal_status=legal_status,
                sentence_days=sentence_days,
                personal_details=dict(personal_details or {}),
            )
            return ()

        return self._run(
            ctx,
            [prisoner_number],
            receive,
            expected_version=expected_version,
            opens=True,
        )[0]

    def record_health_screening(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        stage: str,
        outcome: str,
        referrals: Sequence[str] = (),
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.screen_health(
                ctx, stage=stage, outcome=outcome, referrals=list(referrals)
            ),
            expected_version,
        )

    def record_needs_assessment(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        substance_misuse: bool,
        learning_difficulty_or_disability: bool,
        literacy_level: str,
        numeracy_level: str,
        has_id: bool,
        has_bank_account: bool,
        housing_on_release: str,
        caring_responsibilities: bool,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.assess_needs(
                ctx,
                substance_misuse=substance_misuse,
                learning_difficulty_or_disability=learning_difficulty_or_disability,
                literacy_level=literacy_level,
                numeracy_level=numeracy_level,
                has_id=has_id,
                has_bank_account=has_bank_account,
                housing_on_release=housing_on_release,
                caring_responsibilities=caring_responsibilities,
            ),
            expected_version,
        )

    def record_risk_assessment(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        tier: str,
        tier_change_level: int,
        rosh: str,
        likelihood_of_reoffending: str,
        assessor: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.assess_risk(
                ctx,
                tier=tier,
                tier_change_level=tier_change_level,
                rosh=rosh,
                likelihood_of_reoffending=likelihood_of_reoffending,
                assessor=assessor,
            ),
            expected_version,
        )

    def agree_sentence_plan(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        objectives: Sequence[str],
        interventions_required: Sequence[str],
        interventions_available: Sequence[str],
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.agree_sentence_plan(
                ctx,
                objectives=list(objectives),
                interventions_required=list(interventions_required),
                interventions_available=list(interventions_available),
            ),
            expected_version,
        )

    def register_officer(
        self,
        ctx: RequestContext,
        *,
        officer_id: str,
        name: str,
        roles: Sequence[str],
        home_prison: str,
    ) -> int:
        """Register a member of staff; returns the event's position."""
        if self.find_officer(officer_id) is not None:
            raise OfficerAlreadyRegistered(f"{officer_id} is already registered")
        officer = Officer.register(
            ctx,
            officer_id=officer_id,
            name=name,
            roles=list(roles),
            home_prison=home_prison,
        )
        try:
            recordings = self.save(officer)
        except IntegrityError:
            raise OfficerAlreadyRegistered(
                f"{officer_id} is already registered"
            ) from None
        return recordings[-1].notification.id

    def allocate_officer(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        officer_id: str,
        role: str,
        reason: str,
        override_reason: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Allocate an officer; the case and the officer change in one atomic save."""

        def allocate(cases: list[Case]) -> Sequence[Aggregate]:
            officer = self.officer(officer_id)
            case = cases[0]
            case.check_allocation(officer_id=officer_id, role=role)
            # The officer's caseload decides whether an override was needed; the
            # case records the override only then, so both aggregates agree.
            recorded_override = officer.allocate(
                ctx,
                prisoner_number=case.prisoner_number,
                role=role,
                limits=self.caseload_limits,
                override_reason=override_reason,
            )
            case.allocate_officer(
                ctx,
                officer_id=officer_id,
                role=role,
                reason=reason,
                override_reason=recorded_override,
            )
            return (officer,)

        return self._run(
            ctx, [prisoner_number], allocate, expected_version=expected_version
        )[0]

    def deallocate_officer(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        officer_id: str,
        role: str,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        def deallocate(cases: list[Case]) -> Sequence[Aggregate]:
            officer = self.officer(officer_id)
            cases[0].deallocate_officer(
                ctx, officer_id=officer_id, role=role, reason=reason
            )
            officer.deallocate(ctx, prisoner_number=cases[0].prisoner_number, role=role)
            return (officer,)

        return self._run(
            ctx, [prisoner_number], deallocate, expected_version=expected_version
        )[0]

    def record_incident(
        self,
        ctx: RequestContext,
        *,
        incident_ref: str,
        incident_type: str,
        location: str,
        severity: str,
        narrative: str,
        people: Mapping[str, str],
    ) -> list[CommandResult]:
        """One IncidentRecorded per person (number -> role), saved atomically."""
        if not people:
            raise InvalidValue("people", "an incident involves at least one person")

        def record(cases: list[Case]) -> Sequence[Aggregate]:
            for case in cases:
                case.record_incident(
                    ctx,
                    incident_ref=incident_ref,
                    incident_type=incident_type,
                    role=people[case.prisoner_number],
                    location=location,
                    severity=severity,
                    narrative=narrative,
                )
            return ()

        return self._run(ctx, list(people), record)

    def open_acct(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        triggers: Sequence[str],
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.open_acct(ctx, triggers=list(triggers)),
            expected_version,
        )

    def review_acct(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        outcome: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.review_acct(ctx, outcome=outcome),
            expected_version,
        )

    def close_acct(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.close_acct(ctx, reason=reason),
            expected_version,
        )

    def record_drug_test(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        test_ref: str,
        reason: str,
        result: str,
        substances: Sequence[str] = (),
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.record_drug_test(
                ctx,
                test_ref=test_ref,
                reason=reason,
                result=result,
                substances=list(substances),
            ),
            expected_version,
        )

    def record_transfer(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        to_prison: str,
        movement_reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.transfer(
                ctx, to_prison=to_prison, movement_reason=movement_reason
            ),
            expected_version,
        )

    def start_temporary_release(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        rotl_type: str,
        expected_return: datetime,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.start_temporary_release(
                ctx, rotl_type=rotl_type, expected_return=expected_return
            ),
            expected_version,
        )

    def end_temporary_release(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        failed_to_return: bool = False,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.end_temporary_release(ctx, failed_to_return=failed_to_return),
            expected_version,
        )

    def record_resettlement_step(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        element: str,
        status: str,
        detail: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.record_resettlement_step(
                ctx, element=element, status=status, detail=detail
            ),
            expected_version,
        )

    def set_release_date(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        date_type: str,
        release_date: date,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.set_release_date(
                ctx, date_type=date_type, release_date=release_date
            ),
            expected_version,
        )

    def approve_early_release_day(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        date_type: str,
        approved_date: date,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.approve_early_release_day(
                ctx, date_type=date_type, approved_date=approved_date
            ),
            expected_version,
        )

    def record_release(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        movement_reason: str,
        accommodation: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Release; the officers' caseloads lose the case in the same save."""

        def release(cases: list[Case]) -> Sequence[Aggregate]:
            case = cases[0]
            officers = [self.officer(o) for o in case.officers.values()]
            held = dict(case.officers)
            case.release(
                ctx, movement_reason=movement_reason, accommodation=accommodation
            )
            for officer in officers:
                role = next(r for r, o in held.items() if o == officer.officer_id)
                officer.deallocate(ctx, prisoner_number=case.prisoner_number, role=role)
            return officers

        return self._run(
            ctx, [prisoner_number], release, expected_version=expected_version
        )[0]

    def review_incentive_level(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        level: str,
        review_type: str,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.review_incentive_level(
                ctx, level=level, review_type=review_type, reason=reason
            ),
            expected_version,
        )

    def correct_event(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        *,
        version: int,
        reason: str,
        corrected_fields: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._one(
            ctx,
            prisoner_number,
            lambda c: c.correct(
                ctx,
                version=version,
                reason=reason,
                corrected_fields=dict(corrected_fields),
            ),
            expected_version,
        )

    def merge_cases(
        self,
        ctx: RequestContext,
        *,
        retired_number: str,
        survivor_number: str,
        expected_version: int | None = None,
    ) -> list[CommandResult]:
        """Join a duplicate record into the survivor; both cases record the merge.
        ``expected_version`` is the retired case's."""

        def merge(cases: list[Case]) -> Sequence[Aggregate]:
            cases[0].merge_into(ctx, cases[1])
            return ()

        return self._run(
            ctx,
            [retired_number, survivor_number],
            merge,
            expected_version=expected_version,
        )

    def unmerge_cases(
        self,
        ctx: RequestContext,
        *,
        retired_number: str,
        survivor_number: str,
        expected_version: int | None = None,
    ) -> list[CommandResult]:
        def unmerge(cases: list[Case]) -> Sequence[Aggregate]:
            cases[0].unmerge_from(ctx, cases[1])
            return ()

        return self._run(
            ctx,
            [retired_number, survivor_number],
            unmerge,
            expected_version=expected_version,
        )
