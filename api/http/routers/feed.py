"""The feed: every journey event in log order, shaped like an HMPPS domain event.

``GET /feed?after=&limit=`` pages the log; ``GET /feed/stream`` sends the same items as
server-sent events as they are recorded. Both read the event store itself, in position
order (``select_notifications`` and the ledger's mapper), never the read models, so
they do not wait for projections and cannot run ahead of or behind the log.

What is on it
    Every case event, and every officer event (``journey-ledger.officer.*``): an
    allocation is recorded on the case *and* on the officer, so both appear, each
    under its own ``eventType``; an officer's allocation or deallocation carries the
    ``personReference`` of the case it concerns, an officer's registration carries
    none. Every officer event names its officer (``officerId`` in
    ``additionalInformation``, and in the ``description``): the officer's events
    carry only the aggregate id, so the officer id is learned from its registration
    or the case's side of an allocation as they pass, and read from the store once
    per officer otherwise. Access-log events (who read which case,
    ``domain/access.py``) are not journey facts and are left off: they are for
    inspectors, through ``GET /access-log``.

What is never on it
    Personal details (``personal_details``, also inside a correction's
    ``corrected_fields``), incident narratives (``narrative``) and an officer's
    name: the feed is for downstream systems, whoever reads it. The recorder and
    authority are left out of ``additionalInformation`` for the same reason.

Cursor
    ``after`` is a log position; an item's ``position`` only ever grows. The cursor
    never assumes positions are consecutive (access-log events sit between journey
    events, and another store may leave gaps): ``next`` is the last position on the
    page, or ``after`` again when the page is empty. A page shorter than ``limit``
    means the feed is at its head for now (``head`` says where the log ends). A
    cursor past the head (``after`` here, ``after`` or ``Last-Event-ID`` on the
    stream) is 422, naming the head: it was never a position, and an empty page
    would leave its consumer waiting for events already behind it.

Links
    ``detailUrl`` is ``LEDGER_PUBLIC_URL`` (``ApiSettings.public_url``) and the path,
    or the path alone when that is not set; never the request's ``Host``, which the
    caller chooses and every other consumer of the feed would then follow.

Who may read it
    consumer systems, inspectors and investigators. Not recorders (403): the feed is
    the whole estate, and a recorder reads only the prisons in its caseload, which a
    position-ordered feed cannot honour without gaps the consumer could not tell
    from missing events; recorders read cases instead. Not admin (403): no case
    data. The feed is not recorded in the access log: it carries no personal details
    and is read by systems.

Stream
    ``GET /feed/stream`` resumes after the ``Last-Event-ID`` header (what a browser's
    ``EventSource`` sends on reconnect), else after ``after`` (default 0: from the
    start). Each event is ``id: <position>``, ``event: <eventType>``, ``data: <the
    item as JSON>``. A thread per stream follows the store's subscription
    (LISTEN/NOTIFY on PostgreSQL; on SQLite the store's own poller, woken at once by
    writers in this process) and hands items to the response; nothing here sleeps or
    polls. FastAPI sends a ``: ping`` comment when the stream is idle. When the client
    goes away the response is cancelled and the subscription stopped. ``limit`` ends
    the stream after that many events (for bounded readers and tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import Notification
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from api.http.auth import Principal, Role, requires
from api.http.problems import PROBLEM_RESPONSES
from api.services import Services, services
from api.settings import ApiSettings
from domain.errors import InvalidValue
from domain.events import (
    CASE_EVENTS,
    OFFICER_EVENTS,
    CaseAllocated,
    CaseDeallocated,
    CaseEvent,
    CaseOpened,
    OfficerAllocated,
    OfficerDeallocated,
    OfficerEvent,
    OfficerRegistered,
    RecordedEvent,
)
from domain.identifiers import officer_aggregate_id
from domain.ledger import JourneyLedger
from projections.timeline import summary_of

router = APIRouter(tags=["feed"], responses=PROBLEM_RESPONSES)
log = logging.getLogger("journey_ledger.feed")

MAX_PAGE = 1_000
STREAM_BUFFER = 256
"""Items a stream's follower may run ahead of the client before it waits."""

EVENT_TYPE_OF_TOPIC: dict[str, str] = {
    cls.TOPIC: cls.FEED_TYPE
    for cls in (*CASE_EVENTS.values(), *OFFICER_EVENTS.values())
}
FEED_TOPICS: tuple[str, ...] = tuple(sorted(EVENT_TYPE_OF_TOPIC))

WITHHELD = frozenset({"personal_details", "narrative"})
"""Never on the feed: personal details and incident narratives."""
WITHHELD_OFFICER = frozenset({"name"})
"""An officer's name stays off the feed too."""


class Identifier(BaseModel):
    type: str = Field(examples=["NOMS"])
    value: str = Field(examples=["A1234BC"])


class PersonReference(BaseModel):
    identifiers: list[Identifier]


class FeedItem(BaseModel):
    """One event, shaped like an HMPPS domain event, plus the ledger's own fields."""

    eventType: str = Field(examples=["journey-ledger.prisoner.received"])
    version: int = Field(description="The event's class_version", examples=[1])
    occurredAt: datetime = Field(description="When it happened (valid time)")
    description: str = Field(examples=["Received into LEI (N, remand), booking 38412A"])
    detailUrl: str = Field(
        description="The case (or officer) in this API: LEDGER_PUBLIC_URL and the "
        "path, or the path alone when that is not set",
        examples=["https://ledger.example.gov.uk/cases/A1234BC"],
    )
    personReference: PersonReference | None = Field(
        description="The person the event concerns; null on an officer's registration"
    )
    additionalInformation: dict[str, Any] = Field(
        examples=[{"prisonId": "LEI", "source": "nomis", "sourceRef": "mv-881"}]
    )
    position: int = Field(description="The event's position in the log", examples=[7])
    recordedAt: datetime = Field(
        description="When the ledger recorded it (record time)"
    )
    caseVersion: int | None = Field(
        description="The case's version after this event; null on officer events",
        examples=[2],
    )
    data: dict[str, Any] = Field(
        description="The event's own fields, without personal details or narratives",
        examples=[
            {
                "booking_no": "38412A",
                "received_into": "LEI",
                "movement_reason": "N",
                "legal_status": "remand",
                "sentence_days": None,
            }
        ],
    )


class FeedPage(BaseModel):
    items: list[FeedItem]
    next: int = Field(
        description="Pass as ``after`` for the next page (the last position here, "
        "or ``after`` again when there was nothing new)",
        examples=[7],
    )
    head: int = Field(description="The log's last position when this page was read")


FeedReader = Annotated[
    Principal,
    Depends(requires(Role.CONSUMER, Role.INSPECTOR, Role.INVESTIGATOR)),
]
Found = Annotated[Services, Depends(services)]
After = Annotated[
    int,
    Query(ge=0, le=2**62, description="The cursor: items after this log position"),
]


# --- envelopes ------------------------------------------------------------------------


class Learned:
    """A bounded, thread-safe map from an aggregate id to what its first event fixed
    for good (a case's prisoner number, an officer's id). Each id is uuid5 of that
    value, so an answer never goes stale and holds for every store: nothing is ever
    invalidated, only the least recently used dropped past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._known: OrderedDict[UUID, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, aggregate_id: UUID) -> str | None:
        with self._lock:
            known = self._known.get(aggregate_id)
            if known is not None:
                self._known.move_to_end(aggregate_id)
            return known

    def learn(self, aggregate_id: UUID, value: str) -> None:
        with self._lock:
            self._known[aggregate_id] = value
            self._known.move_to_end(aggregate_id)
            if len(self._known) > self.limit:
                self._known.popitem(last=False)


MAX_NUMBERS = 100_000
MAX_OFFICERS = 20_000
_numbers = Learned(MAX_NUMBERS)
"""Case id -> prisoner number."""
_officers = Learned(MAX_OFFICERS)
"""Officer aggregate id -> officer id (``OfficerRegistered.officer_id``)."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def shareable_data(event: RecordedEvent) -> dict[str, Any]:
    """The event's data as the feed shows it: nothing personal, no narratives."""
    withheld = WITHHELD | (
        WITHHELD_OFFICER if isinstance(event, OfficerRegistered) else frozenset()
    )
    data = {k: v for k, v in event.data().items() if k not in withheld}
    if isinstance(data.get("corrected_fields"), dict):
        data["corrected_fields"] = {
            k: v for k, v in data["corrected_fields"].items() if k not in WITHHELD
        }
    plain: dict[str, Any] = _plain(data)
    return plain


First = TypeVar("First", bound=RecordedEvent)
"""The kind of event that opens an aggregate and fixes what ``Learned`` keeps."""


class Envelopes:
    """Turns stored notifications into feed items (thread-safe; reads the store only
    to learn a case's prisoner number or an officer's id the first time it is met
    mid-log)."""

    def __init__(self, ledger: JourneyLedger, public_url: str | None) -> None:
        self.ledger = ledger
        self.base_url = (public_url or "").rstrip("/")

    def prisoner_number(self, event: CaseEvent) -> str:
        return self._fixed(event, _numbers, CaseOpened, lambda e: e.prisoner_number)

    def officer_id(self, event: OfficerEvent) -> str:
        return self._fixed(event, _officers, OfficerRegistered, lambda e: e.officer_id)

    def _fixed(
        self,
        event: RecordedEvent,
        learned: Learned,
        first: type[First],
        value: Callable[[First], str],
    ) -> str:
        """What the first event of ``event``'s aggregate (a ``first``) fixed: taken
        from ``event`` when it is that one, else from ``learned``, else from the
        store once."""
        if isinstance(event, first):
            opening = event
        else:
            known = learned.get(event.originator_id)
            if known is not None:
                return known
            found = self._first_event(event.originator_id)
            assert isinstance(found, first)
            opening = found
        learned.learn(event.originator_id, value(opening))
        return value(opening)

    def _first_event(self, aggregate_id: UUID) -> object:
        """Version 1 of an aggregate: read only when a page or stream starts after
        the event that would have taught the cache."""
        first = self.ledger.recorder.select_events(aggregate_id, lte=1)
        return self.ledger.mapper.to_domain_event(first[0])

    def item(self, notification: Notification) -> FeedItem | None:
        event = self.ledger.mapper.to_domain_event(notification)
        event_type = EVENT_TYPE_OF_TOPIC.get(notification.topic)
        if event_type is None or not isinstance(event, RecordedEvent):
            return None  # not a journey event (the access log)
        info: dict[str, Any] = {
            "prisonId": event.prison,
            "source": event.source,
            "sourceRef": event.source_ref,
            "correlationId": event.correlation_id,
        }
        number: str | None
        case_version: int | None = None
        if isinstance(event, CaseEvent):
            if isinstance(event, OfficerAllocated | OfficerDeallocated):
                # The case side names the officer, and the officer side of the same
                # allocation usually follows: learning it here spares that a read.
                officer: str = event.officer_id
                _officers.learn(officer_aggregate_id(officer), officer)
            number = self.prisoner_number(event)
            case_version = event.originator_version
            description = summary_of(event)
            detail = f"{self.base_url}/cases/{number}"
        else:
            assert isinstance(event, OfficerEvent)
            officer = self.officer_id(event)
            number, description, detail = self._officer(event, officer)
            info["officerId"] = officer
            info["officerVersion"] = event.originator_version
        return FeedItem(
            eventType=event_type,
            version=int(getattr(type(event), "class_version", 1)),
            occurredAt=event.occurred_at,
            description=description,
            detailUrl=detail,
            personReference=None
            if number is None
            else PersonReference(identifiers=[Identifier(type="NOMS", value=number)]),
            additionalInformation=info,
            position=notification.id,
            recordedAt=event.timestamp,
            caseVersion=case_version,
            data=shareable_data(event),
        )

    def _officer(
        self, event: OfficerEvent, officer: str
    ) -> tuple[str | None, str, str]:
        if isinstance(event, OfficerRegistered):
            return (
                None,
                event.summary(),
                f"{self.base_url}/officers/{officer}/caseload",
            )
        assert isinstance(event, CaseAllocated | CaseDeallocated)
        if isinstance(event, CaseAllocated):
            what = f"allocated to officer {officer}'s caseload"
        else:
            what = f"deallocated from officer {officer}'s caseload"
        return (
            event.prisoner_number,
            f"{event.prisoner_number} {what} as {event.role}",
            f"{self.base_url}/cases/{event.prisoner_number}",
        )

    def items(self, notifications: Sequence[Notification]) -> list[FeedItem]:
        return [i for n in notifications if (i := self.item(n)) is not None]


def envelopes(request: Request, found: Services) -> Envelopes:
    # Links go to other systems, so they start from the configured public URL,
    # never the request's Host header: whoever sends a request chooses that.
    settings: ApiSettings = request.app.state.settings
    return Envelopes(found.ledger, settings.public_url)


# --- the page -------------------------------------------------------------------------


def refuse_past_head(field: str, cursor: int, head: int) -> None:
    """A cursor past the log's last position was never a position anyone was given:
    answering it with an empty page would leave its consumer waiting for events
    that are already behind it, so it is refused, naming the head."""
    if cursor > head:
        raise InvalidValue(
            field, f"{field} {cursor} is past the log's last position ({head})"
        )


@router.get(
    "/feed",
    response_model=FeedPage,
    summary="Journey events in log order, after a cursor",
)
def get_feed(
    request: Request,
    principal: FeedReader,
    found: Found,
    after: After = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> FeedPage:
    recorder = found.ledger.recorder
    head = recorder.max_notification_id() or 0
    refuse_past_head("after", after, head)
    notifications = recorder.select_notifications(
        start=after, limit=limit, topics=FEED_TOPICS, inclusive_of_start=False
    )
    items = envelopes(request, found).items(notifications)
    last = notifications[-1].id if notifications else after
    return FeedPage(items=items, next=last, head=max(head, last))


# --- the stream -----------------------------------------------------------------------

_followers: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def follower_threads() -> list[threading.Thread]:
    """The threads following the store for open streams (for operations and tests)."""
    return [t for t in list(_followers) if t.is_alive()]


_END = object()


class Follower:
    """Follows the store's subscription in its own thread; hands feed items to the
    event loop through a queue, at most ``STREAM_BUFFER`` ahead of the client."""

    def __init__(
        self,
        found: Services,
        made: Envelopes,
        after: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.items: asyncio.Queue[Any] = asyncio.Queue()
        self._room = threading.Semaphore(STREAM_BUFFER)
        self._closed = threading.Event()
        self._made = made
        self._loop = loop
        self._subscription = found.ledger.recorder.subscribe(
            gt=after, topics=FEED_TOPICS
        )
        self.thread = threading.Thread(
            target=self._follow, name="feed-stream", daemon=True
        )
        _followers.add(self.thread)
        self.thread.start()

    def _hand(self, item: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed
            self._loop.call_soon_threadsafe(self.items.put_nowait, item)

    def _follow(self) -> None:
        try:
            with self._subscription as subscription:
                for notification in subscription:
                    self._room.acquire()
                    if self._closed.is_set():
                        break
                    item = self._made.item(notification)
                    if item is not None:
                        self._hand(item)
                    else:
                        self._room.release()
        except Exception as e:
            if not self._closed.is_set():
                log.warning("feed stream stopped: %s", e)
        finally:
            self._hand(_END)

    def taken(self) -> None:
        """The client has taken an item: the follower may fetch one more."""
        self._room.release()

    def close(self) -> None:
        """Stop following (idempotent); the thread ends once the subscription stops."""
        self._closed.set()
        self._subscription.stop()
        self._room.release()  # in case the follower waits for room


def resume_from(
    found: Found,
    after: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**62,
            description="Start after this position (default 0); Last-Event-ID wins",
        ),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=20,
            description="The last position the client saw (sent on reconnect)",
        ),
    ] = None,
) -> int:
    field, start = "after", after or 0
    if last_event_id is not None:
        text = last_event_id.strip()
        # isdigit alone passes "²", which int() then refuses with a 500.
        if not (text.isascii() and text.isdigit()):
            raise InvalidValue("Last-Event-ID", "Last-Event-ID must be a position")
        field, start = "Last-Event-ID", int(text)
    refuse_past_head(field, start, found.ledger.recorder.max_notification_id() or 0)
    return start


async def open_follower(
    request: Request,
    principal: FeedReader,
    found: Found,
    start: Annotated[int, Depends(resume_from)],
) -> AsyncIterator[Follower]:
    """The stream's follower, closed when the response is done or cancelled (the
    exit code of a dependency with ``yield`` runs after the response, however it
    ended; a generator left suspended at a ``yield`` by a cancelled response would
    otherwise keep its follower until garbage collection)."""
    follower = Follower(
        found, envelopes(request, found), start, asyncio.get_running_loop()
    )
    try:
        yield follower
    finally:
        follower.close()


@router.get(
    "/feed/stream",
    response_class=EventSourceResponse,
    summary="Journey events as server-sent events, live, resuming from Last-Event-ID",
)
async def stream_feed(
    principal: FeedReader,
    follower: Annotated[Follower, Depends(open_follower)],
    limit: Annotated[
        int | None,
        Query(ge=1, le=1_000_000, description="End the stream after this many events"),
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    sent = 0
    try:
        while limit is None or sent < limit:
            item = await follower.items.get()
            if item is _END:
                break
            follower.taken()
            yield ServerSentEvent(
                raw_data=item.model_dump_json(),
                event=item.eventType,
                id=str(item.position),
            )
            sent += 1
    finally:
        follower.close()
