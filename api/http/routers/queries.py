"""Queries over the read models: timelines, case lists, caseloads, rolls, indicators.

Every query accepts ``min_position`` (read-your-writes): it waits, at most the
configured ``read_your_writes_timeout``, for the read models to include that position
of the log. It never answers without it: a position past the log's head is 422, and
one the read models do not reach in time is 503 with ``Retry-After``.

Who may read what (``api/http/auth.py`` names the roles):

=====================================  ========  ==========  =========  ========  =====
endpoint                               recorder  inspector,  consumer   admin     none
                                                 investig.
=====================================  ========  ==========  =========  ========  =====
``GET /cases/{pn}/timeline``           caseload  yes         403        403       401
``GET /cases``                         caseload  yes         yes        403       401
``GET /officers/{id}/caseload``        caseload  yes         403        403       401
``GET /prisons/{code}/roll``           caseload  yes         403        403       401
``GET /prisons/{code}/indicators``     yes       yes         yes        yes       401
``GET /league-table``                  yes       yes         yes        yes       401
``GET /overdue``                       caseload  yes         403        403       401
=====================================  ========  ==========  =========  ========  =====

- *caseload*: a recorder reads a case, a roll or an overdue list only for a prison in
  the token's ``caseloads`` claim (the case's current prison; an officer's home
  prison), else 403. A recorder's ``GET /cases`` without ``prison`` lists only the
  caseload's prisons.
- A timeline is the audit trail with personal details and narratives in the events'
  data: never for a consumer system. ``GET /cases`` is case state (no personal
  details), which a consumer may read, as it may ``GET /cases/{pn}``.
- Caseloads, rolls and overdue lists name people and staff: people only.
- Indicators and the league table are per-prison counts and rates with no case data,
  published for governors and the public: every authenticated role, admin included.
- A person's read of a timeline is recorded in the access log
  (``api/http/routers/access_log.py``); the list queries here are not reads of a case
  and are not recorded.
- A prison the register does not hold is 404, whoever asks
  (``api/http/routers/prisons.py``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from api.http.auth import Forbidden, Principal, Role, requires
from api.http.problems import PROBLEM_RESPONSES
from api.http.routers.access_log import record_case_read
from api.http.routers.cases import CaseState
from api.http.routers.parameters import (
    PRISON_CODE,
    PRISONER_NUMBER,
    MinPosition,
    read_timeout,
    wait_for_position,
)
from api.http.routers.prisons import Anyone, known_prison
from api.http.row_models import RowModel
from api.services import Services, services
from domain.codes import CaseStatus, Tier
from domain.errors import CaseNotFound, InvalidValue, OfficerNotFound
from projections.caseloads import CASELOADS, OFFICERS
from projections.overdue import OVERDUE_CHECKS
from projections.timeline import TIMELINE

router = APIRouter(tags=["queries"], responses=PROBLEM_RESPONSES)

MONTH = r"^(19|20)\d\d-(0[1-9]|1[0-2])$"
OFFICER_ID = r"^[A-Z][A-Z0-9_]{1,29}$"
MAX_PAGE = 100
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)

Number = Annotated[str, Path(pattern=PRISONER_NUMBER, examples=["A1234BC"])]
PrisonPath = Annotated[str, Path(pattern=PRISON_CODE, examples=["LEI"])]
Month = Annotated[
    str | None,
    Query(pattern=MONTH, description="YYYY-MM (default: this month, UTC)"),
]
People = Annotated[
    Principal,
    Depends(requires(Role.RECORDER, Role.INSPECTOR, Role.INVESTIGATOR)),
]
CaseReaders = Annotated[
    Principal,
    Depends(requires(Role.RECORDER, Role.INSPECTOR, Role.INVESTIGATOR, Role.CONSUMER)),
]
Found = Annotated[Services, Depends(services)]


def require_prison(principal: Principal, prison: str | None) -> None:
    if not principal.may_read_prison(prison):
        raise Forbidden(f"{prison} is not in this token's caseload")


def this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


# --- timeline -------------------------------------------------------------------------


class TimelineEntry(RowModel, table=TIMELINE, leave_out={"prisoner_number"}):
    """One event of a case's history, as the audit trail shows it."""


class Timeline(BaseModel):
    prisoner_number: str = Field(examples=["A1234BC"])
    events: list[TimelineEntry]


@router.get(
    "/cases/{prisoner_number}/timeline",
    response_model=Timeline,
    summary="A case's audit trail: every event with both times, recorder and seal",
)
def get_timeline(
    prisoner_number: Number,
    request: Request,
    principal: People,
    found: Found,
    min_position: MinPosition = None,
) -> Timeline:
    """The history of this prisoner number (a merged record keeps its own history;
    follow ``related_number`` for the other one). A person's read is recorded in
    the access log."""
    wait_for_position(found, min_position, read_timeout(request))
    row = found.queries.case_state(prisoner_number)
    if row is None:
        raise CaseNotFound(f"no case for {prisoner_number}")
    require_prison(principal, row["prison"])
    entries = [TimelineEntry(**r) for r in found.queries.timeline(prisoner_number)]
    record_case_read(request, principal, found, prisoner_number, "timeline")
    return Timeline(prisoner_number=prisoner_number, events=entries)


# --- cases ----------------------------------------------------------------------------


class CaseList(BaseModel):
    items: list[CaseState]
    next: str | None = Field(
        description="Pass as ``after`` for the next page; null on the last page",
        examples=["A1240BC"],
    )


@router.get(
    "/cases",
    response_model=CaseList,
    summary="Cases by prison, status and tier, in prisoner-number order",
)
def list_cases(
    request: Request,
    principal: CaseReaders,
    found: Found,
    prison: Annotated[str | None, Query(pattern=PRISON_CODE)] = None,
    status: CaseStatus | None = None,
    tier: Tier | None = None,
    after: Annotated[
        str,
        Query(
            pattern=r"^$|" + PRISONER_NUMBER,
            description="The cursor: list numbers after this one",
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    min_position: MinPosition = None,
) -> CaseList:
    wait_for_position(found, min_position, read_timeout(request))
    prisons: list[str] | None = None
    if prison is not None:
        known_prison(found, prison, "prison")
        require_prison(principal, prison)
    elif not principal.may_read_prison(None):
        prisons = sorted(principal.prisons)
    rows = found.queries.cases(
        prison=prison,
        status=None if status is None else status.value,
        tier=None if tier is None else tier.value,
        limit=limit,
        after=after,
        prisons=prisons,
    )
    items = [CaseState(**r, requested_number=r["prisoner_number"]) for r in rows]
    return CaseList(
        items=items,
        next=items[-1].prisoner_number if len(items) == limit else None,
    )


# --- caseloads ------------------------------------------------------------------------


# An officer's case: a caseloads row but the officer's id.
class HeldCase(RowModel, table=CASELOADS, leave_out={"officer_id"}):
    pass


class Caseload(RowModel, table=OFFICERS):
    cases: list[HeldCase]


@router.get(
    "/officers/{officer_id}/caseload",
    response_model=Caseload,
    summary="An officer's current cases, with any over-limit overrides",
)
def get_caseload(
    officer_id: Annotated[str, Path(pattern=OFFICER_ID, examples=["JSMITH_GEN"])],
    request: Request,
    principal: People,
    found: Found,
    min_position: MinPosition = None,
) -> Caseload:
    wait_for_position(found, min_position, read_timeout(request))
    officer = found.queries.officer(officer_id)
    if officer is None:
        raise OfficerNotFound(f"no officer {officer_id}")
    require_prison(principal, officer["home_prison"])
    return Caseload(
        **officer, cases=[HeldCase(**r) for r in found.queries.caseload(officer_id)]
    )


# --- roll -----------------------------------------------------------------------------


class Roll(BaseModel):
    prison: str = Field(examples=["LEI"])
    on: date | None = Field(description="The day asked for; null means now")
    at: datetime = Field(description="The moment the roll is taken at")
    count: int = Field(examples=[2])
    prisoner_numbers: list[str] = Field(examples=[["A1234BC", "B2345CD"]])


@router.get(
    "/prisons/{code}/roll",
    response_model=Roll,
    summary="Who is on a prison's roll now, or at the end of a day",
)
def get_roll(
    code: PrisonPath,
    request: Request,
    principal: People,
    found: Found,
    on: Annotated[
        date | None,
        Query(description="YYYY-MM-DD: the roll at the end of that day (default now)"),
    ] = None,
    min_position: MinPosition = None,
) -> Roll:
    known_prison(found, code)
    wait_for_position(found, min_position, read_timeout(request))
    require_prison(principal, code)
    if on is not None and not EARLIEST_DAY <= on <= LATEST_DAY:
        raise InvalidValue("on", f"on must be from {EARLIEST_DAY} to {LATEST_DAY}")
    if on is None:
        at = datetime.now(UTC)
        numbers = found.queries.roll(code, at)
    else:
        at = datetime.combine(on + timedelta(days=1), time(), UTC)
        numbers = found.queries.roll_on(code, on)
    return Roll(prison=code, on=on, at=at, count=len(numbers), prisoner_numbers=numbers)


# --- indicators -----------------------------------------------------------------------


class Indicators(BaseModel):
    prison: str = Field(examples=["LEI"])
    month: str = Field(examples=["2025-03"])
    average_daily_population: float = Field(examples=[812.4])
    counts: dict[str, int] = Field(
        description="The month's counts: receptions, incidents, self_harm, "
        "drug_tests, drug_tests_positive, releases and the rest"
    )
    incidents_per_1000: float
    self_harm_per_1000: float
    drug_tests_positive_rate: float
    drug_tests_refused_rate: float
    initial_screening_on_time_rate: float
    released_with_accommodation_rate: float
    released_with_id_and_bank_account_rate: float
    friday_releases: int


class LeagueRow(Indicators):
    rank: int = Field(examples=[1])


class LeagueTable(BaseModel):
    month: str = Field(examples=["2025-03"])
    prisons: list[LeagueRow] = Field(
        description="Fewest incidents per 1,000 first, then self-harm, then positive "
        "drug tests"
    )


@router.get(
    "/prisons/{code}/indicators",
    response_model=Indicators,
    summary="A prison's indicators for a month (rates per 1,000 population)",
)
def get_indicators(
    code: PrisonPath,
    request: Request,
    principal: Anyone,
    found: Found,
    month: Month = None,
    min_position: MinPosition = None,
) -> Indicators:
    known_prison(found, code)
    wait_for_position(found, min_position, read_timeout(request))
    row = found.queries.indicators(code, month or this_month())
    return Indicators(**row.as_dict())


@router.get(
    "/league-table",
    response_model=LeagueTable,
    summary="Every prison's indicators for a month, ranked",
)
def get_league_table(
    request: Request,
    principal: Anyone,
    found: Found,
    month: Month = None,
    min_position: MinPosition = None,
) -> LeagueTable:
    wait_for_position(found, min_position, read_timeout(request))
    chosen = month or this_month()
    rows = found.queries.league_table(chosen)
    return LeagueTable(month=chosen, prisons=[LeagueRow(**r) for r in rows])


# --- overdue --------------------------------------------------------------------------


class OverdueCheck(
    RowModel, table=OVERDUE_CHECKS, leave_out={"prison"}, nullable={"detail"}
):
    pass


class Overdue(BaseModel):
    prison: str = Field(examples=["LEI"])
    at: datetime = Field(description="Overdue as of this moment")
    checks: list[OverdueCheck]


@router.get(
    "/overdue",
    response_model=Overdue,
    summary="A prison's overdue checks: screenings, tiering, resettlement, plans",
)
def get_overdue(
    request: Request,
    principal: People,
    found: Found,
    prison: Annotated[str, Query(pattern=PRISON_CODE, examples=["LEI"])],
    min_position: MinPosition = None,
) -> Overdue:
    known_prison(found, prison, "prison")
    wait_for_position(found, min_position, read_timeout(request))
    require_prison(principal, prison)
    now = datetime.now(UTC)
    return Overdue(
        prison=prison,
        at=now,
        checks=[OverdueCheck(**r) for r in found.queries.overdue(prison, now)],
    )
