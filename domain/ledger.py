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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from domain.access import AccessLog, access_log_id
from domain.case import Case
from domain.commands import (
    AllocateOfficer,
    CaseCommand,
    Command,
    CorrectEvent,
    DeallocateOfficer,
    MergeCases,
    ReceivePrisoner,
    RecordIncident,
    RecordRelease,
    RegisterOfficer,
    UnmergeCases,
    command_fields,
    request_digest,
)
from domain.context import RequestContext
from domain.errors import (
    CaseNotFound,
    InvalidValue,
    OfficerAlreadyRegistered,
    OfficerNotFound,
    ReferenceReused,
    StaleVersion,
    TooMuchContention,
)
from domain.events import CASE_EVENTS
from domain.identifiers import PrisonCode, PrisonerNumber, case_id, officer_aggregate_id
from domain.officer import CaseloadLimits, Officer
from domain.prisons import PrisonRegister
from domain.replay import Replay, replay_case
from domain.values import check_value, declares

DEFAULT_SNAPSHOT_INTERVAL = 50
MAX_ATTEMPTS = 25
"""Retries of a conflicted save; each retry re-reads, so it loses only to a writer
that made progress."""

DEFAULT_MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the ledger's clock a stated time may be: clients' clocks drift,
but a fact cannot be recorded as having happened tomorrow."""

Act = Callable[[list[Case]], Sequence[Aggregate]]


def prison_fields(command: type[Command]) -> tuple[str, ...]:
    """The fields of a command that name a prison, by its declaration."""
    found = _PRISON_FIELDS_OF.get(command)
    if found is None:
        found = _PRISON_FIELDS_OF[command] = tuple(
            name
            for name, hint in command_fields(command).items()
            if declares(hint, PrisonCode)
        )
    return found


_PRISON_FIELDS_OF: dict[type[Command], tuple[str, ...]] = {}


PRISON_FIELDS = frozenset(
    name
    for cls in CASE_EVENTS.values()
    for name, hint in cls.data_fields().items()
    if declares(hint, PrisonCode)
)
"""Fields of case events that name a prison (a correction of one must name a prison
in the register too)."""


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


def clock_skew(setting: str | None) -> timedelta:
    """``LEDGER_MAX_CLOCK_SKEW`` in seconds (default five minutes)."""
    if setting is None or not setting.strip():
        return DEFAULT_MAX_CLOCK_SKEW
    if not setting.strip().isdigit():
        raise InvalidValue(
            "LEDGER_MAX_CLOCK_SKEW",
            f"LEDGER_MAX_CLOCK_SKEW {setting!r} is not a whole number of seconds",
        )
    return timedelta(seconds=int(setting))


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
        prisons: PrisonRegister | None = None,
        max_clock_skew: timedelta | None = None,
        snapshot_interval: int = DEFAULT_SNAPSHOT_INTERVAL,
    ) -> None:
        """``env`` is the library's own (the store, the cipher); the ledger's rules
        are given as arguments, by the composition root, never read here."""
        super().__init__(env=dict(env or {}))
        # The library reads the intervals through the instance when it saves.
        vars(self)["snapshotting_intervals"] = {
            Case: snapshot_interval,
            Officer: snapshot_interval,
            AccessLog: snapshot_interval,
        }
        self.caseload_limits = caseload_limits or CaseloadLimits()
        self.prisons = prisons or PrisonRegister.default()
        self.max_clock_skew = max_clock_skew or DEFAULT_MAX_CLOCK_SKEW

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
        act: Act,
        *,
        expected_version: int | None = None,
        opens: bool = False,
    ) -> list[CommandResult]:
        """Load the cases, act, save atomically; retry on a conflicting writer.
        ``ctx`` is the one ``_accept`` stamped, which ``act`` records with."""
        for _ in range(MAX_ATTEMPTS):
            cases = []
            stored = []
            opened = False
            for number in numbers:
                case = self.find_case(number)
                if case is not None:
                    stored.append(case)
                else:
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
                cases.append(case)
            # A re-sent request gets its first answer wherever the person is now.
            done = None if opened else self._already_applied(cases, ctx)
            if done is not None:
                return done
            for case in cases:
                if not opens and case.prison is not None:
                    # A reception brings the person into the recorder's own prison
                    # (checked by the context); every other command acts where the
                    # case is held now.
                    ctx.require_remit(
                        case.prison, f"the prison {case.prisoner_number} is held at"
                    )
            self._refuse_reused_reference(stored, ctx)
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

    def _accept(
        self, ctx: RequestContext, command: Command, numbers: Sequence[str]
    ) -> RequestContext:
        """Check a request against the rules that do not depend on any case, and
        stamp its context with the request's digest."""
        for number in numbers:
            PrisonerNumber.check("prisoner_number", number)
        self._check_request(ctx, command)
        return replace(
            ctx, request_digest=request_digest(ctx, command, on=",".join(numbers))
        )

    def _check_request(self, ctx: RequestContext, command: Command) -> None:
        """The rules a request must meet whatever it acts on: its times are not in
        the future beyond the allowed clock skew, and the prisons it names are in the
        register."""
        latest = datetime.now(UTC) + self.max_clock_skew
        times = {"occurred_at": ctx.occurred_at}
        if isinstance(command, CorrectEvent) and "occurred_at" in (
            command.corrected_fields
        ):
            times["corrected_fields.occurred_at"] = check_value(
                datetime, "occurred_at", command.corrected_fields["occurred_at"]
            )
        for name, moment in times.items():
            if moment is not None and moment > latest:
                raise InvalidValue(
                    name,
                    f"{name} {moment.isoformat()} is in the future (more than "
                    f"{self.max_clock_skew} ahead of the ledger's clock)",
                )
        named = {"prison": ctx.prison}
        named |= {n: getattr(command, n) for n in prison_fields(type(command))}
        named = {n: v for n, v in named.items() if v is not None}
        for name, code in named.items():
            prison = self.prisons.require(code, name)
            if not prison.active:
                # A closed prison's records stay readable (and correctable); nothing
                # new happens there.
                raise InvalidValue(
                    name,
                    f"{code} ({prison.name}) is closed; nothing new is recorded there",
                )
        if isinstance(command, CorrectEvent):
            for name, value in command.corrected_fields.items():
                if name in PRISON_FIELDS and isinstance(value, str):
                    self.prisons.require(value, name)

    def _already_applied(
        self, cases: list[Case], ctx: RequestContext
    ) -> list[CommandResult] | None:
        """The first answer, when every case already holds this very request."""
        ref = ctx.source_ref
        if ref is None or not all(ref in c.source_refs for c in cases):
            return None
        if any(
            self._digest_at(c, c.source_refs[ref]) != ctx.request_digest for c in cases
        ):
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

    def _refuse_reused_reference(self, cases: list[Case], ctx: RequestContext) -> None:
        """A source_ref (or Idempotency-Key) already used on a case for another
        request: refused, since storing would lose the reference's meaning and
        answering with the first result would lose the new fact."""
        ref = ctx.source_ref
        for case in cases:
            if ref is not None and ref in case.source_refs:
                version = case.source_refs[ref]
                raise ReferenceReused(
                    f"{ref!r} was already used on {case.prisoner_number} (version "
                    f"{version}) for a different request; send a new reference for "
                    "a new request, or the same request to get its first answer"
                )

    def _digest_at(self, case: Case, version: int) -> str | None:
        """The request digest of the case's event at ``version``; events recorded
        before digests were kept match any request, as they always did."""
        for event in self.events.get(case.id, gt=version - 1, lte=version):
            digest: str | None = getattr(event, "request_digest", None)
            return digest if digest is not None else ""
        return None

    def _position_of(self, originator_id: UUID, version: int) -> int | None:
        if hasattr(self.recorder, "position_of"):
            recorder: LocatesEvents = self.recorder
            return recorder.position_of(originator_id, version)
        # A store without the index (the library's in-memory one) is read through.
        start = 1
        while page := self.recorder.select_notifications(start, 1000):
            for n in page:
                if n.originator_id == originator_id and n.originator_version == version:
                    return n.id
            start = page[-1].id + 1
        return None

    # --- commands ---------------------------------------------------------------------

    def execute(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        command: CaseCommand,
        *,
        expected_version: int | None = None,
    ) -> list[CommandResult]:
        """Run a command on a person's case; the case's result comes first (a merge
        also answers for the survivor)."""
        numbers = [prisoner_number]
        if isinstance(command, MergeCases | UnmergeCases):
            numbers.append(command.survivor_number)
        ctx = self._accept(ctx, command, numbers)
        act: Act
        match command:
            case AllocateOfficer():
                act = self._allocate(ctx, command)
            case DeallocateOfficer():
                act = self._deallocate(ctx, command)
            case RecordRelease():
                act = self._release(ctx, command)
            case MergeCases():
                act = self._on_both(ctx, Case.merge_into)
            case UnmergeCases():
                act = self._on_both(ctx, Case.unmerge_from)
            case _:
                act = self._on_case(ctx, command)
        return self._run(
            ctx,
            numbers,
            act,
            expected_version=expected_version,
            opens=isinstance(command, ReceivePrisoner),
        )

    def record(
        self,
        ctx: RequestContext,
        prisoner_number: str,
        command: CaseCommand,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Run a command on a person's case; its result for that case."""
        return self.execute(
            ctx, prisoner_number, command, expected_version=expected_version
        )[0]

    @staticmethod
    def _on_case(ctx: RequestContext, command: CaseCommand) -> Act:
        def act(cases: list[Case]) -> Sequence[Aggregate]:
            cases[0].execute(ctx, command)
            return ()

        return act

    def _allocate(self, ctx: RequestContext, command: AllocateOfficer) -> Act:
        """The case and the officer change in one atomic save."""

        def act(cases: list[Case]) -> Sequence[Aggregate]:
            officer = self.officer(command.officer_id)
            case = cases[0]
            case.check_allocation(officer_id=command.officer_id, role=command.role)
            recorded_override = officer.allocate(
                ctx,
                prisoner_number=case.prisoner_number,
                role=command.role,
                limits=self.caseload_limits,
                override_reason=command.override_reason,
            )
            case.allocate_officer(ctx, command, recorded_override)
            return (officer,)

        return act

    def _deallocate(self, ctx: RequestContext, command: DeallocateOfficer) -> Act:
        def act(cases: list[Case]) -> Sequence[Aggregate]:
            officer = self.officer(command.officer_id)
            cases[0].execute(ctx, command)
            officer.deallocate(
                ctx, prisoner_number=cases[0].prisoner_number, role=command.role
            )
            return (officer,)

        return act

    def _release(self, ctx: RequestContext, command: RecordRelease) -> Act:
        """Release; the officers' caseloads lose the case in the same save."""

        def act(cases: list[Case]) -> Sequence[Aggregate]:
            case = cases[0]
            officers = [self.officer(o) for o in case.officers.values()]
            held = dict(case.officers)
            case.execute(ctx, command)
            for officer in officers:
                role = next(r for r, o in held.items() if o == officer.officer_id)
                officer.deallocate(ctx, prisoner_number=case.prisoner_number, role=role)
            return officers

        return act

    @staticmethod
    def _on_both(
        ctx: RequestContext, join: Callable[[Case, RequestContext, Case], None]
    ) -> Act:
        """A merge or unmerge: the retired case and the survivor record it together."""

        def act(cases: list[Case]) -> Sequence[Aggregate]:
            join(cases[0], ctx, cases[1])
            return ()

        return act

    def record_incident(
        self, ctx: RequestContext, incident: RecordIncident
    ) -> list[CommandResult]:
        """One IncidentRecorded per person, saved atomically."""
        roles = {p.prisoner_number: p.role for p in incident.people}
        ctx = self._accept(ctx, incident, list(roles))

        def act(cases: list[Case]) -> Sequence[Aggregate]:
            for case in cases:
                case.record_incident(ctx, incident, roles[case.prisoner_number])
            return ()

        return self._run(ctx, list(roles), act)

    def register_officer(self, ctx: RequestContext, command: RegisterOfficer) -> int:
        """Register a member of staff; returns the event's position."""
        ctx = self._accept(ctx, command, [])
        if self.find_officer(command.officer_id) is not None:
            raise OfficerAlreadyRegistered(
                f"{command.officer_id} is already registered"
            )
        officer = Officer.register(ctx, command)
        try:
            recordings = self.save(officer)
        except IntegrityError:
            raise OfficerAlreadyRegistered(
                f"{command.officer_id} is already registered"
            ) from None
        return recordings[-1].notification.id
