"""The access log: every read of a case by a person, and every read of the log itself.

Every read of a case by a person is recorded, and reading the access log is itself
recorded. A read is an event in the ledger (``domain/access.py``:
one log per reader per day), sealed like every other event, never on the case (so a
read never changes the case's version or ETag).

What is recorded (:func:`record_case_read`), after the data was found and the caller
allowed to see it, for recorders, inspectors and investigators (people), never for a
consumer system:

- ``GET /cases/{pn}`` (resource ``case``; the case shown, so a merged number records
  the survivor read), and with ``as_of`` / ``known_at`` (resource ``replay``);
- ``GET /cases/{pn}/timeline`` (``timeline``);
- ``GET /cases/{pn}/export`` (``export``), where the proofs router calls it;
- ``GET /access-log`` itself (an ``AccessLogRead`` with its filters).

Lists (``GET /cases``, caseloads, rolls, overdue) are not reads of a case and are not
recorded; neither are refused reads (401, 403, 404).

Who may read the log: inspectors and investigators. Recorders (in or out of their
caseload), consumers and admin get 403; no token, 401.

``GET /access-log?prisoner_number=&reader=&after=&limit=`` reads the ``access_log``
read model (``projections/access_log.py``) in log order with a ``next`` cursor, and
accepts ``min_position`` like every query.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.http.auth import ROLE_NAMES, Principal, Role, requires
from api.http.problems import PROBLEM_RESPONSES
from api.http.routers.parameters import (
    PRISONER_NUMBER,
    MinPosition,
    read_timeout,
    wait_for_position,
)
from api.http.row_models import RowModel
from api.services import Services, services
from projections.access_log import ACCESS_LOG

router = APIRouter(tags=["access log"], responses=PROBLEM_RESPONSES)

MAX_PAGE = 100
_ROLE_NAME = {role: name for name, role in ROLE_NAMES.items()}


def role_names(principal: Principal) -> list[str]:
    return sorted(_ROLE_NAME[r] for r in principal.roles)


def record_case_read(
    request: Request,
    principal: Principal,
    found: Services,
    prisoner_number: str,
    resource: str,
) -> int | None:
    """Record that a person read a case (nothing for a consumer system); returns
    the read's position in the log."""
    if not principal.is_person:
        return None
    return found.ledger.record_case_read(
        reader=principal.user,
        roles=role_names(principal),
        correlation_id=request.state.correlation_id,
        prisoner_number=prisoner_number,
        resource=resource,
    )


def record_log_read(
    request: Request, principal: Principal, found: Services, **filters: object
) -> int:
    """Record that a person read the access log, with the filters they gave (those
    left out are not recorded); returns the read's position in the log."""
    return found.ledger.record_access_log_read(
        reader=principal.user,
        roles=role_names(principal),
        correlation_id=request.state.correlation_id,
        filters={name: str(v) for name, v in filters.items() if v is not None},
    )


class AccessEntry(RowModel, table=ACCESS_LOG):
    pass


class AccessLogPage(BaseModel):
    items: list[AccessEntry]
    next: int | None = Field(
        description="Pass as ``after`` for the next page; null on the last page"
    )
    position: int = Field(description="Where this read of the log was itself recorded")


Auditor = Annotated[Principal, Depends(requires(Role.INSPECTOR, Role.INVESTIGATOR))]
Found = Annotated[Services, Depends(services)]


@router.get(
    "/access-log",
    response_model=AccessLogPage,
    summary="Who read which case when (this read is recorded too)",
)
def get_access_log(
    request: Request,
    principal: Auditor,
    found: Found,
    prisoner_number: Annotated[
        str | None, Query(pattern=PRISONER_NUMBER, examples=["A1234BC"])
    ] = None,
    reader: Annotated[
        str | None, Query(min_length=1, max_length=200, examples=["AUDITOR_GEN"])
    ] = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    min_position: MinPosition = None,
) -> AccessLogPage:
    wait_for_position(found, min_position, read_timeout(request))
    rows = found.queries.access_log(
        prisoner_number=prisoner_number, reader=reader, after=after, limit=limit
    )
    position = record_log_read(
        request,
        principal,
        found,
        prisoner_number=prisoner_number,
        reader=reader,
        after=after,
        limit=limit,
    )
    items = [AccessEntry(**r) for r in rows]
    return AccessLogPage(
        items=items,
        next=items[-1].position if len(items) == limit else None,
        position=position,
    )
