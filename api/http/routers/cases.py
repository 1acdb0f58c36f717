"""Cases: a case's current state, and the replay of it as it stood or was known.

The commands that record on a case (the reception among them) are in
``api.http.routers.commands``, generated from the domain's declarations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from api.http.auth import Forbidden, Principal, Role, requires
from api.http.problems import PROBLEM_RESPONSES
from api.http.routers.access_log import record_case_read
from api.http.routers.parameters import (
    PRISONER_NUMBER,
    MinPosition,
    read_timeout,
    wait_for_position,
)
from api.http.row_models import RowModel
from api.services import Services, services
from domain.errors import CaseNotFound, InvalidValue
from projections.case_state import CASE_STATE, row_of

router = APIRouter(tags=["cases"], responses=PROBLEM_RESPONSES)

Number = Annotated[str, Path(pattern=PRISONER_NUMBER, examples=["A1234BC"])]
Recorder = Annotated[Principal, Depends(requires(Role.RECORDER))]
Reader = Annotated[
    Principal,
    Depends(requires(Role.RECORDER, Role.INSPECTOR, Role.INVESTIGATOR, Role.CONSUMER)),
]
Found = Annotated[Services, Depends(services)]


def case_prison(found: Services, prisoner_number: str) -> str | None:
    """Where the case is now (None for a case not yet opened)."""
    case = found.ledger.find_case(prisoner_number)
    return None if case is None else case.prison


class Replayed(BaseModel):
    """What a replay (``as_of`` / ``known_at``) used and left out."""

    as_of: datetime | None = Field(description="Valid time asked for (UTC)")
    known_at: datetime | None = Field(description="Record time asked for (UTC)")
    events_counted: int = Field(description="Events that made this state")
    excluded_by_known_at: int = Field(description="Events recorded after known_at")
    excluded_by_as_of: int = Field(description="Known events not yet valid at as_of")
    latest_version: int = Field(description="The case's version now")


# A case's read-model row but its id (the store's: a uuid5 of the number, never
# the API's), the number asked for and, for a replay, what it used.
class CaseState(
    RowModel,
    table=CASE_STATE,
    leave_out={"case_id"},
    after={"requested_number": "prisoner_number"},
):
    requested_number: str = Field(
        description="The number asked for; differs when it was merged into this case"
    )
    replayed: Replayed | None = Field(
        default=None,
        description="Present when as_of / known_at asked for a replay: the state is "
        "the case as it stood then, not now",
    )


@router.get(
    "/cases/{prisoner_number}",
    response_model=CaseState,
    summary="A case's current state (a merged number resolves to its survivor)",
)
def get_case(
    prisoner_number: Number,
    request: Request,
    response: Response,
    principal: Reader,
    found: Found,
    min_position: MinPosition = None,
    as_of: Annotated[
        datetime | None,
        Query(
            description="Investigators: the case as it stood at this valid time "
            "(ISO 8601; no offset means UTC)"
        ),
    ] = None,
    known_at: Annotated[
        datetime | None,
        Query(
            description="Investigators: the case as the ledger knew it at this record "
            "time (ISO 8601; no offset means UTC)"
        ),
    ] = None,
) -> CaseState:
    if as_of is not None or known_at is not None:
        state = replayed_case(prisoner_number, principal, found, as_of, known_at)
        record_case_read(request, principal, found, prisoner_number, "replay")
        return state
    wait_for_position(found, min_position, read_timeout(request))
    row = found.queries.case_state(prisoner_number)
    seen = {prisoner_number}
    while row is not None and row["merged_into"] and row["merged_into"] not in seen:
        seen.add(row["merged_into"])
        row = found.queries.case_state(row["merged_into"])
    if row is None:
        raise CaseNotFound(f"no case for {prisoner_number}")
    if not principal.may_read_prison(row["prison"]):
        raise Forbidden(f"{row['prison']} is not in this token's caseload")
    record_case_read(request, principal, found, row["prisoner_number"], "case")
    response.headers["ETag"] = f'"{row["version"]}"'
    return CaseState(**row, requested_number=prisoner_number)


def _utc(name: str, moment: datetime | None) -> datetime | None:
    """A replay time, aware (naive means UTC), within years the ledger can hold."""
    if moment is None:
        return None
    if not 1900 <= moment.year <= 2999:
        raise InvalidValue(name, f"{name} must be a time from 1900 to 2999")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def replayed_case(
    prisoner_number: str,
    principal: Principal,
    found: Services,
    as_of: datetime | None,
    known_at: datetime | None,
) -> CaseState:
    """The case replayed from its events (the number asked for; merges not followed),
    in the shape of the read model's row."""
    if not principal.has(Role.INVESTIGATOR):
        raise Forbidden("as_of / known_at (replay) needs the investigator role")
    replay = found.ledger.replay(
        prisoner_number,
        as_of=_utc("as_of", as_of),
        known_at=_utc("known_at", known_at),
    )
    if replay.case is None:
        why = (
            "the ledger had not recorded it by known_at"
            if replay.absent_because == "known_at"
            else "it was not yet open at as_of"
        )
        raise CaseNotFound(f"no case for {prisoner_number} then: {why}")
    row = CASE_STATE.written_dict(row_of(replay.case))
    return CaseState(
        **{
            **row,
            "requested_number": prisoner_number,
            "replayed": Replayed(
                as_of=replay.as_of,
                known_at=replay.known_at,
                events_counted=len(replay.events),
                excluded_by_known_at=len(replay.excluded_by_known_at),
                excluded_by_as_of=len(replay.excluded_by_as_of),
                latest_version=replay.latest_version,
            ),
        }
    )
