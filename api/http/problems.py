"""Errors as RFC 9457 problem details (``application/problem+json``).

Every refusal says what was wrong, and changes nothing: bad input is a 400 or 422
naming the field, a refused rule a 409 naming the rule, a stale If-Match a 412, an
unreachable store a 503. A 500 is always a bug.
"""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from api.http.auth import Forbidden, NotAuthenticated
from domain import errors

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://journey-ledger.example/problems/"
log = logging.getLogger("journey_ledger.api")


class ReadModelsBehind(Exception):
    """A query asked for ``min_position`` and the read models did not reach it within
    the read-your-writes timeout: answering from them would hide the caller's own
    write, so the query is refused (503, Retry-After) rather than answered stale."""

    def __init__(self, wanted: int, reached: int) -> None:
        super().__init__(
            f"the read models have reached position {reached}, not {wanted} yet; "
            "try again shortly"
        )


class PrisonNotFound(Exception):
    """A read named a prison the register does not hold. The prison is what is being
    read, so there is nothing to show (404); a command naming one is refused as bad
    input instead (``UnknownPrison``, 422 naming the field)."""

    def __init__(self, refused: errors.UnknownPrison) -> None:
        super().__init__(refused.message)
        self.message = refused.message
        self.code = refused.code
        self.field = refused.field
        self.rule = refused.rule


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    rule: str | None = None
    field: str | None = None
    current_version: int | None = None
    errors: list[dict[str, Any]] | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "type": TYPE_BASE + "rule",
                    "title": "Refused by a rule",
                    "status": 409,
                    "detail": "A1234BC is already at LEI",
                    "rule": "no-transfer-to-current-prison",
                }
            ]
        }
    }


def problem(
    status: int, kind: str, title: str, detail: str, request: Request, **extra: Any
) -> JSONResponse:
    body = Problem(
        type=TYPE_BASE + kind,
        title=title,
        status=status,
        detail=detail,
        instance=str(request.url.path),
        **extra,
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _domain_error(request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, errors.DomainError)
    if isinstance(e, errors.InvalidValue):
        return problem(
            422, "invalid", "Invalid value", e.message, request, field=e.field,
            rule=e.rule,
        )  # fmt: skip
    if isinstance(e, errors.StaleVersion):
        return problem(
            412, "stale-version", "The case has changed", e.message, request,
            rule=e.rule, current_version=e.current_version,
        )  # fmt: skip
    if isinstance(e, errors.OutsideRemit):
        return problem(403, "forbidden", "Forbidden", e.message, request, rule=e.rule)
    if isinstance(e, (errors.CaseNotFound, errors.OfficerNotFound)):
        return problem(404, "not-found", "Not found", e.message, request, rule=e.rule)
    return problem(409, "rule", "Refused by a rule", e.message, request, rule=e.rule)


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        # A misspelt name would otherwise be dropped and the fact recorded without it.
        return "not a field of this request (check its spelling); nothing was stored"
    return str(error.get("msg", ""))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(errors.DomainError)
    async def domain_error(request: Request, e: errors.DomainError) -> JSONResponse:
        return _domain_error(request, e)

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, e: NotAuthenticated) -> JSONResponse:
        return problem(401, "unauthenticated", "Not authenticated", str(e), request)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, e: Forbidden) -> JSONResponse:
        return problem(403, "forbidden", "Forbidden", str(e), request)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(
        request: Request, e: RequestValidationError
    ) -> JSONResponse:
        details = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": _message(err),
            }
            for err in e.errors()
        ]
        first = details[0] if details else {"field": "", "message": "invalid request"}
        return problem(
            422,
            "invalid",
            "Invalid request",
            f"{first['field']}: {first['message']}",
            request,
            field=first["field"] or None,
            errors=details,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException) -> JSONResponse:
        return problem(e.status_code, "http", str(e.detail), str(e.detail), request)

    @app.exception_handler(ReadModelsBehind)
    async def read_models_behind(request: Request, e: ReadModelsBehind) -> JSONResponse:
        reply = problem(
            503, "read-models-behind", "The read models are behind", str(e), request
        )
        reply.headers["Retry-After"] = "1"
        return reply

    @app.exception_handler(PrisonNotFound)
    async def prison_not_found(request: Request, e: PrisonNotFound) -> JSONResponse:
        return problem(
            404, "not-found", "No such prison", e.message, request, rule=e.rule,
            field=e.field,
        )  # fmt: skip

    @app.exception_handler(PersistenceError)
    async def store_unavailable(request: Request, e: PersistenceError) -> JSONResponse:
        log.warning("store unavailable: %s", e)
        return problem(
            503,
            "store-unavailable",
            "The store is unavailable",
            "the event store cannot be reached just now; try again shortly",
            request,
        )

    @app.exception_handler(Exception)
    async def bug(request: Request, e: Exception) -> JSONResponse:
        log.exception("unhandled error (a bug)")
        return problem(500, "bug", "Internal error", "an unexpected error", request)


# Declared on every route, so the OpenAPI document (and schemathesis) know them.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": text}
    for status, text in (
        (400, "The request body is not well-formed JSON"),
        (401, "No valid bearer token"),
        (403, "The token may not do this"),
        (404, "No such case, officer, prison or resource"),
        (409, "Refused by a rule"),
        (412, "If-Match names a version the case is no longer at"),
        (422, "Invalid input; the field is named"),
        (503, "The store is unreachable, or min_position was not reached in time"),
    )
}
