"""Commands: one endpoint per domain command, generated from its declaration.

Each command on a case (``domain.commands.CASE_COMMANDS``) becomes ``POST
/cases/{prisoner_number}/<its resource>``, its body the recording fields (prison,
occurred_at, source_ref, authority) and the command's own, derived by
``api.http.routers.request_models``: nothing about a field is written here. Each takes
``Idempotency-Key`` and ``If-Match``; each replies ``CommandAccepted`` (201 when
stored, 200 when the same request under the same source_ref / key was already
applied) with ``ETag: "<version>"``. The same key with another command or body is a
422 (rule ``one-request-per-reference``), and nothing is stored.
Only the recorder role writes, and only where it works: the body's prison and the
prison every case touched is in now must both be in the token's caseload. Domain
refusals become problem+json in ``api.http.problems``.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from api.http.auth import Principal
from api.http.problems import PROBLEM_RESPONSES
from api.http.routers.cases import Found, Number, Recorder
from api.http.routers.parameters import (
    SOURCE,
    CommandAccepted,
    IdempotencyKey,
    IfMatch,
    RecordingFields,
    accepted_reply,
    expected_version,
    recording_context,
)
from api.http.routers.request_models import body_model, command_of
from api.services import Services, services_of
from domain.commands import (
    CASE_COMMANDS,
    CaseCommand,
    Command,
    RecordIncident,
    RegisterOfficer,
)
from domain.context import RequestContext
from domain.ledger import JourneyLedger

router = APIRouter(tags=["commands"], responses=PROBLEM_RESPONSES)


def duplicate(model: Any) -> dict[int | str, dict[str, Any]]:
    """The 200 reply: what a re-sent command gets."""
    return {
        200: {
            "model": model,
            "description": "Already applied (same source_ref or Idempotency-Key): "
            "the first answer, nothing stored",
        }
    }


ON_A_CASE: dict[str, Any] = {
    "status_code": 201,
    "response_model": CommandAccepted,
    "responses": duplicate(CommandAccepted),
}
ON_CASES: dict[str, Any] = {
    "status_code": 201,
    "response_model": list[CommandAccepted],
    "responses": duplicate(list[CommandAccepted]),
}


# --- who may record where ---------------------------------------------------------


@dataclass
class CaseRequest:
    """A command on the case in the path: who asks, and the headers they sent."""

    prisoner_number: str
    request: Request
    principal: Principal
    found: Services
    idempotency_key: str | None
    if_match: str | None

    @property
    def ledger(self) -> JourneyLedger:
        return self.found.ledger

    def context(self, body: Any) -> RequestContext:
        """The recording context: the recorder works at the body's prison, and the
        ledger checks where each case is held as it runs the command (the context's
        remit), so the check and the save are one step."""
        self.principal.require_recorder_at(body.prison)
        return recording_context(
            self.request, self.principal, body, self.idempotency_key
        )

    @property
    def expected_version(self) -> int | None:
        return expected_version(self.if_match)


async def case_command(  # a coroutine: no hand-off to the thread pool (api.http.auth)
    prisoner_number: Number,
    request: Request,
    principal: Recorder,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> CaseRequest:
    return CaseRequest(
        prisoner_number,
        request,
        principal,
        services_of(request),
        idempotency_key,
        if_match,
    )


OnCase = Annotated[CaseRequest, Depends(case_command)]


# --- the commands on one case, each generated from its declaration -------------------


def _case_route(command: type[CaseCommand]) -> None:
    """``POST /cases/{prisoner_number}/<resource>`` for one command on a case."""
    body_type = body_model(command)
    several = command.on_several_cases

    def endpoint(body: BaseModel, on: CaseRequest) -> Response:
        ctx = on.context(body)
        results = on.ledger.execute(
            ctx,
            on.prisoner_number,
            cast(CaseCommand, command_of(command, body)),
            expected_version=on.expected_version,
        )
        return accepted_reply(results if several else results[0])

    endpoint.__name__ = _snake(command.__name__)
    endpoint.__doc__ = _description(command)
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=body_type
            ),
            inspect.Parameter(
                "on", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=OnCase
            ),
        ],
        return_annotation=Response,
    )
    router.post(
        f"/cases/{{prisoner_number}}/{command.resource}",
        summary=_summary(command),
        description=_description(command),
        **(ON_CASES if several else ON_A_CASE),
    )(endpoint)


def _summary(command: type[CaseCommand] | type[Command]) -> str:
    return " ".join((command.__doc__ or command.__name__).split("\n\n")[0].split())


def _description(command: type[CaseCommand]) -> str:
    return (
        f"{_summary(command)}\n\nThe body's fields are declared once, by the "
        f"domain's `{command.__name__}` command; a field it does not declare is "
        "refused (422) and nothing is stored."
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


for _command in CASE_COMMANDS:
    _case_route(_command)


# --- officers and incidents: commands that are not on one case ---------------------


OfficerRegistration = body_model(RegisterOfficer, recording=("occurred_at",))


class OfficerRegistered(BaseModel):
    officer_id: str = Field(examples=["JSMITH_GEN"])
    position: int = Field(description="The event's position in the feed")


@router.post(
    "/officers",
    status_code=201,
    response_model=OfficerRegistered,
    summary=_summary(RegisterOfficer),
)
def register_officer(
    body: OfficerRegistration,  # type: ignore[valid-type]
    request: Request,
    principal: Recorder,
    found: Found,
) -> OfficerRegistered:
    command = cast(RegisterOfficer, command_of(RegisterOfficer, body))
    principal.require_recorder_at(command.home_prison)
    ctx = RequestContext(
        recorded_by=principal.user,
        prison=command.home_prison,
        source=SOURCE,
        correlation_id=request.state.correlation_id,
        occurred_at=cast(RecordingFields, body).occurred_at,
    )
    position = found.ledger.register_officer(ctx, command)
    return OfficerRegistered(officer_id=command.officer_id, position=position)


IncidentBody = body_model(RecordIncident)


@router.post("/incidents", **ON_CASES, summary=_summary(RecordIncident))
def record_incident(
    body: IncidentBody,  # type: ignore[valid-type]
    request: Request,
    principal: Recorder,
    found: Found,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    recording = cast(RecordingFields, body)
    principal.require_recorder_at(recording.prison)
    incident = cast(RecordIncident, command_of(RecordIncident, body))
    results = found.ledger.record_incident(
        recording_context(request, principal, recording, idempotency_key), incident
    )
    return accepted_reply(results)
