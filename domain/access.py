"""The access log: who read which case, and who read the access log, as events.

Every read of a case by a person is recorded in the ledger like any other fact, so
it is sealed with the rest (a leaf of the Merkle log) and cannot be dropped quietly.
Reads are kept apart from the case itself: recording one never changes the case's
version (its ETag) and never contends with writers of the case.

One :class:`AccessLog` aggregate per reader per day (UTC), its id ``uuid5`` of the
reader and the day, so different readers never contend and one reader's concurrent
reads conflict on a version and are retried by
:meth:`domain.ledger.JourneyLedger.record_case_read`. Topics are explicit and stable,
as in :mod:`domain.events`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

from domain.errors import InvalidValue
from domain.events import TOPIC_PREFIX
from domain.identifiers import PrisonerNumber
from domain.values import Name, Text

ACCESS_NAMESPACE = UUID("5d0c9a7e-2b41-5f3a-9e68-1c7b4a2d8f90")
"""Fixed namespace for access log ids. Never change it."""
MAX_FILTERS = 10
MAX_ROLES = 10


def access_log_id(reader: str, day: date) -> UUID:
    """The aggregate holding ``reader``'s reads on ``day``."""
    return uuid5(ACCESS_NAMESPACE, f"{reader}\n{day.isoformat()}")


class AccessEvent(Aggregate.Event):
    """What every access event carries: when, who, in which request, as what."""

    TOPIC: ClassVar[str]

    occurred_at: datetime
    reader: str
    correlation_id: str
    roles: list[str]

    def apply(self, aggregate: Any) -> None:
        aggregate.take(self)


class AccessLogOpened(AccessEvent, Aggregate.Created):
    """A reader's first read of a day opens that day's log."""

    TOPIC = f"{TOPIC_PREFIX}.access:AccessLogOpened"
    day: date


class CaseRead(AccessEvent):
    """A person read a case: its state, timeline, replay or export."""

    TOPIC = f"{TOPIC_PREFIX}.access:CaseRead"
    prisoner_number: str
    resource: str


class AccessLogRead(AccessEvent):
    """A person read the access log itself, with these filters."""

    TOPIC = f"{TOPIC_PREFIX}.access:AccessLogRead"
    filters: dict[str, str]


ACCESS_EVENTS: dict[str, type[AccessEvent]] = {
    cls.__name__: cls for cls in (AccessLogOpened, CaseRead, AccessLogRead)
}


class AccessLog(Aggregate):
    TOPIC = f"{TOPIC_PREFIX}.access:AccessLog"
    Event = AccessEvent
    Created = AccessLogOpened

    def __init__(self, reader: str, day: date, **metadata: Any) -> None:
        self.reader = reader
        self.day = day
        self.reads = 0

    @classmethod
    def open(
        cls, *, reader: str, day: date, at: datetime, correlation_id: str,
        roles: list[str],
    ) -> AccessLog:  # fmt: skip
        _check(reader, at, correlation_id, roles)
        return cls._create(
            AccessLogOpened,
            id=access_log_id(reader, day),
            reader=reader,
            day=day,
            occurred_at=at,
            correlation_id=correlation_id,
            roles=roles,
        )

    def take(self, event: AccessEvent) -> None:
        if isinstance(event, CaseRead | AccessLogRead):
            self.reads += 1

    def read_case(
        self, *, prisoner_number: str, resource: str, at: datetime,
        correlation_id: str, roles: list[str],
    ) -> None:  # fmt: skip
        _check(self.reader, at, correlation_id, roles)
        PrisonerNumber.check("prisoner_number", prisoner_number)
        Label.check("resource", resource)
        self.trigger_event(
            CaseRead,
            occurred_at=at,
            reader=self.reader,
            correlation_id=correlation_id,
            roles=roles,
            prisoner_number=prisoner_number,
            resource=resource,
        )

    def read_access_log(
        self, *, filters: dict[str, str], at: datetime, correlation_id: str,
        roles: list[str],
    ) -> None:  # fmt: skip
        _check(self.reader, at, correlation_id, roles)
        if len(filters) > MAX_FILTERS:
            raise InvalidValue("filters", f"at most {MAX_FILTERS} filters")
        for name, value in filters.items():
            Label.check("filters", name)
            Text.check("filters", value)
        self.trigger_event(
            AccessLogRead,
            occurred_at=at,
            reader=self.reader,
            correlation_id=correlation_id,
            roles=roles,
            filters=dict(filters),
        )


class Label(Text):
    """What was read, or a filter's name."""

    max_length = 50


def _check(reader: str, at: datetime, correlation_id: str, roles: list[str]) -> None:
    Text.check("reader", reader)
    Text.check("correlation_id", correlation_id)
    if at.tzinfo is None:
        raise InvalidValue("occurred_at", "occurred_at must include a time zone")
    if len(roles) > MAX_ROLES:
        raise InvalidValue("roles", f"at most {MAX_ROLES} roles")
    for role in roles:
        Name.check("roles", role)


for _cls in ACCESS_EVENTS.values():
    register_topic(_cls.TOPIC, _cls)
