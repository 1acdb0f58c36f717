"""Replay: a case as it stood at a valid time, as the ledger knew it at a record time.

Every event has two times. ``occurred_at`` is *valid time*: when the thing happened in
the world (a correction may change it). The store's ``timestamp`` is *record time*:
when the ledger was told (the moment the command made the event, just before it was
saved). :func:`replay_case` answers two questions, separately or together:

``known_at`` (record time): what did the ledger hold at that moment?
    The case's history is cut at the last version recorded by ``known_at``: versions
    ``1..k`` where every one of them has ``timestamp <= known_at``. Versions are
    gapless and each is written after the one before it, so the ledger never held
    version ``k + 1`` without ``k``; an event whose clock says it was recorded by
    ``known_at`` but that follows one recorded later (a skewed clock) is cut with the
    rest. Everything after the cut does not exist for the replay: facts,
    corrections, merges. ``None`` means now (everything stored).

``as_of`` (valid time): how did things stand at that moment?
    Of the known events, a fact (a correctable event) counts when its valid time is
    ``<= as_of``, where its valid time is the *corrected* ``occurred_at`` if a known
    correction changed it. A known correction applies to the fact it corrects
    whenever that fact counts, however late the correction itself was made or
    recorded: "as it stood at T, with the corrections known now" (or known at
    ``known_at``, when that is given). The correction's own ``occurred_at`` plays no
    part. ``CasesMerged`` / ``CasesUnmerged`` count when their ``occurred_at`` is
    ``<= as_of``. ``None`` means no valid-time cut.

Order is always the case's version, never a clock: the kept events are folded in
version order by the ``Case`` itself (:meth:`domain.case.Case.take`, the same method
every stored event is applied with), so there is one definition of how state follows
from events.

No case: when the case's opening was recorded after ``known_at``, the ledger did not
know the case (``absent_because == "known_at"``); when the opening occurred after
``as_of`` and nothing else of the known history counts by then, the case did not yet
exist (``absent_because == "as_of"``).

Both times must be timezone-aware (else :class:`~domain.errors.InvalidValue`); the
boundary is inclusive (``<=``) on both axes. Record time is the event's own
timestamp, taken when the command made it: events saved together (a case's opening
and its first reception, a merge on both cases) are stamped microseconds apart, not
at one commit time, so a ``known_at`` between them shows part of one save. The store
keeps no other record time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from domain.case import Case
from domain.errors import InvalidValue
from domain.events import (
    CaseEvent,
    CaseOpened,
    CasesMerged,
    CasesUnmerged,
    EventCorrected,
)


@dataclass(frozen=True)
class ReplayedEvent:
    """One event of the history, with the valid time the replay used for it."""

    event: CaseEvent
    occurred_at: datetime
    """Valid time: the corrected ``occurred_at`` when a known correction changed it."""
    corrected_by: int | None
    """The version of the known correction of this event, if any."""

    @property
    def version(self) -> int:
        return self.event.originator_version

    @property
    def recorded_at(self) -> datetime:
        return self.event.timestamp

    @property
    def kind(self) -> str:
        return type(self.event).__name__


@dataclass(frozen=True)
class Replay:
    """The case as replayed, and the events that made it."""

    prisoner_number: str
    as_of: datetime | None
    known_at: datetime | None
    case: Case | None
    """The reconstructed state; None when there was no case at that time."""
    absent_because: Literal["known_at", "as_of"] | None
    """Why there is no case: not yet recorded (known_at) or not yet opened (as_of)."""
    events: tuple[ReplayedEvent, ...]
    """The events that made the state, in version order."""
    excluded_by_known_at: tuple[ReplayedEvent, ...]
    """Events the ledger did not hold at ``known_at``."""
    excluded_by_as_of: tuple[ReplayedEvent, ...]
    """Known events that did not count by ``as_of`` (valid time)."""
    latest_version: int
    """The case's version now (every event stored)."""

    @property
    def exists(self) -> bool:
        return self.case is not None


def _aware(name: str, moment: datetime | None) -> None:
    if moment is not None and moment.tzinfo is None:
        raise InvalidValue(name, f"{name} must be a date and time with a time zone")


def replay_case(
    events: Iterable[DomainEventProtocol[UUID]],
    *,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> Replay:
    """Replay one case's events (all of them, as stored) at ``as_of`` / ``known_at``.

    See the module's docstring for the exact meaning of the two times.
    """
    _aware("as_of", as_of)
    _aware("known_at", known_at)
    history: list[CaseEvent] = []
    for e in events:
        if not isinstance(e, CaseEvent):
            raise TypeError(f"{type(e).__name__} is not an event of a case")
        history.append(e)
    history.sort(key=lambda e: e.originator_version)
    if not history or not isinstance(history[0], CaseOpened):
        raise ValueError("a case's history starts with its CaseOpened event")
    opening = history[0]
    if [e.originator_version for e in history] != list(range(1, len(history) + 1)):
        raise ValueError("a case's history has every version from 1, once")

    # Record time: the longest prefix of versions recorded by known_at.
    cut = len(history)
    if known_at is not None:
        cut = next(
            (i for i, e in enumerate(history) if e.timestamp > known_at), len(history)
        )
    known, unknown = history[:cut], history[cut:]

    # The corrections the ledger knew, and the valid time of each event under them.
    corrections: dict[int, EventCorrected] = {
        e.corrects_version: e for e in known if isinstance(e, EventCorrected)
    }

    def replayed(e: CaseEvent) -> ReplayedEvent:
        correction = corrections.get(e.originator_version)
        occurred_at = e.occurred_at
        if correction is not None and "occurred_at" in correction.corrected_fields:
            occurred_at = correction.corrected_fields["occurred_at"]
        return ReplayedEvent(
            e, occurred_at, correction.originator_version if correction else None
        )

    def by_as_of(r: ReplayedEvent) -> bool:
        return as_of is None or r.occurred_at <= as_of

    # Valid time: facts and merges by as_of; a correction goes with its fact.
    kept: list[ReplayedEvent] = []
    dropped: list[ReplayedEvent] = []
    counted: set[int] = set()
    for e in known[1:]:
        r = replayed(e)
        if isinstance(e, EventCorrected):
            keep = e.corrects_version in counted
        elif isinstance(e, CasesMerged | CasesUnmerged) or type(e).CORRECTABLE:
            keep = by_as_of(r)
        else:  # pragma: no cover - every case event is one of the above
            keep = False
        (kept if keep else dropped).append(r)
        if keep:
            counted.add(e.originator_version)

    opened = replayed(opening)
    absent: Literal["known_at", "as_of"] | None = None
    if not known:
        absent = "known_at"
    elif not kept and not by_as_of(opened):
        absent = "as_of"
    excluded_by_known_at = tuple(replayed(e) for e in unknown)
    if absent is not None:
        return Replay(
            prisoner_number=opening.prisoner_number,
            as_of=as_of,
            known_at=known_at,
            case=None,
            absent_because=absent,
            events=(),
            excluded_by_known_at=excluded_by_known_at,
            excluded_by_as_of=(opened, *dropped) if known else (),
            latest_version=len(history),
        )

    # The Case folds its own state: constructed from its opening as the repository
    # does, then each kept event taken in version order. The library's "next
    # version" check is skipped on purpose (kept versions have gaps); version and
    # modified_on follow the last event taken.
    case = opening.mutate(None)
    if not isinstance(case, Case):  # pragma: no cover - CaseOpened makes a Case
        raise TypeError(f"{opening.TOPIC} did not open a Case")
    for r in kept:
        case.take(r.event)
        case.version = r.version
        case.modified_on = r.recorded_at
    return Replay(
        prisoner_number=opening.prisoner_number,
        as_of=as_of,
        known_at=known_at,
        case=case,
        absent_because=None,
        events=(opened, *kept),
        excluded_by_known_at=excluded_by_known_at,
        excluded_by_as_of=tuple(dropped),
        latest_version=len(history),
    )
