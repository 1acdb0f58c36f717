"""What the endpoints take and give: the recording fields, If-Match, min_position."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Header, Query, Request, Response
from pydantic import BaseModel, Field, TypeAdapter

from api.http.auth import Principal
from api.http.problems import ReadModelsBehind
from api.services import Services
from domain.context import RequestContext
from domain.errors import InvalidValue
from domain.identifiers import PrisonCode, PrisonerNumber
from domain.ledger import CommandResult

PRISONER_NUMBER: str = PrisonerNumber.schema()["pattern"]
PRISON_CODE: str = PrisonCode.schema()["pattern"]
SOURCE = "journey-ledger-api"
_IF_MATCH = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')

PrisonerNumberPath = Annotated[
    str,
    Field(pattern=PRISONER_NUMBER, examples=["A1234BC"]),
]


class CommandAccepted(BaseModel):
    """What a command did."""

    prisoner_number: str = Field(examples=["A1234BC"])
    version: int = Field(description="The case's version after the command")
    position: int | None = Field(description="The event's position in the feed")
    duplicate: bool = Field(
        description="True when this source_ref / Idempotency-Key was already applied"
    )

    @classmethod
    def of(cls, result: CommandResult) -> CommandAccepted:
        return cls(
            prisoner_number=result.prisoner_number,
            version=result.version,
            position=result.position,
            duplicate=result.duplicate,
        )


_ACCEPTED_LIST = TypeAdapter(list[CommandAccepted])


def accepted_reply(results: CommandResult | list[CommandResult]) -> Response:
    """A command's reply, 201 when it stored something, else 200 (a re-send), with the
    case's version as its ETag (the first case's, for a command on several).

    A ready response rather than a model for FastAPI to check and encode: for a plain
    ``def`` endpoint FastAPI validates the returned model in its thread pool, a second
    hand-off to a worker thread and back per command, besides the endpoint's own."""
    many = isinstance(results, list)
    all_results = results if isinstance(results, list) else [results]
    if many:
        body = _ACCEPTED_LIST.dump_json([CommandAccepted.of(r) for r in all_results])
    else:
        body = CommandAccepted.of(all_results[0]).model_dump_json().encode()
    return Response(
        body,
        status_code=200 if all(r.duplicate for r in all_results) else 201,
        headers={"ETag": f'"{all_results[0].version}"'},
        media_type="application/json",
    )


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Makes a retry safe: the same key returns the same answer",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=20,
        description="The case version this command expects (its ETag); 412 if stale",
    ),
]
MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        le=2**62,
        description="Wait (briefly) until the read models include this position",
    ),
]


def expected_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    found = _IF_MATCH.match(if_match.strip())
    if not found:
        raise InvalidValue("If-Match", 'If-Match must be a case version, e.g. "7"')
    return int(found.group(1))


class RecordingFields(Protocol):
    """What every command's body carries (``domain.commands.Recording``)."""

    prison: str
    occurred_at: datetime | None
    source_ref: str | None
    authority: str | None


def recording_context(
    request: Request,
    principal: Principal,
    body: RecordingFields,
    idempotency_key: str | None,
) -> RequestContext:
    return RequestContext(
        recorded_by=principal.user,
        prison=body.prison,
        source=SOURCE,
        correlation_id=request.state.correlation_id,
        source_ref=body.source_ref or idempotency_key,
        authority=body.authority,
        occurred_at=body.occurred_at,
        remit=principal.prisons,
    )


def wait_for_position(found: Services, position: int | None, timeout: float) -> None:
    """Read-your-writes: wait, bounded, for the read models to reach ``position``;
    refuse rather than answer without it. A position past the log's head was never
    anyone's write (422); one the read models do not reach in time is 503."""
    if position is None or found.runner.wait_for(position, 0):
        return
    head = found.ledger.recorder.max_notification_id() or 0
    if position > head:
        raise InvalidValue(
            "min_position",
            f"min_position {position} is past the log's last position ({head})",
        )
    if not found.runner.wait_for(position, timeout):
        raise ReadModelsBehind(position, found.runner.position)


def read_timeout(request: Request) -> float:
    """How long a query with ``min_position`` may wait (the API's setting)."""
    timeout: float = request.app.state.settings.read_your_writes_timeout
    return timeout
