"""The register of prisons: ``GET /prisons`` and ``GET /prisons/{code}``, and the
check every read that names a prison makes against it.

The register is public reference data about institutions (codes, names, types,
categories), so every authenticated role may read it, admin included, as it may the
indicators. A read that names a prison the register does not hold is a 404 naming
the code, before any other check: a roll or a dashboard of a prison that does not
exist would otherwise look like an empty one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from api.http.auth import Principal, Role, requires
from api.http.problems import PROBLEM_RESPONSES, PrisonNotFound
from api.http.routers.parameters import PRISON_CODE
from api.services import Services, services
from domain.errors import UnknownPrison
from domain.prisons import Prison, PrisonCategory, PrisonType

router = APIRouter(tags=["prisons"], responses=PROBLEM_RESPONSES)

# Every authenticated role, as for the register (and the indicators, which are
# public figures too).
Anyone = Annotated[
    Principal,
    Depends(
        requires(
            Role.RECORDER,
            Role.INSPECTOR,
            Role.INVESTIGATOR,
            Role.CONSUMER,
            Role.ADMIN,
        )
    ),
]
Found = Annotated[Services, Depends(services)]


def known_prison(found: Services, code: str, field: str = "code") -> Prison:
    """The prison a read names; :class:`PrisonNotFound` (404) if the register does
    not hold it. ``field`` is the parameter that named it."""
    try:
        return found.prisons.require(code, field)
    except UnknownPrison as refused:
        raise PrisonNotFound(refused) from None


class PrisonEntry(BaseModel):
    """One prison of the register."""

    code: str = Field(examples=["LEI"])
    name: str = Field(examples=["HMP Leeds"])
    type: PrisonType = Field(examples=["HMP"])
    category: PrisonCategory = Field(examples=["B"])
    active: bool = Field(description="False for a prison that has closed")

    @classmethod
    def of(cls, prison: Prison) -> PrisonEntry:
        return cls(
            code=prison.code,
            name=prison.name,
            type=prison.type,
            category=prison.category,
            active=prison.active,
        )


class PrisonList(BaseModel):
    prisons: list[PrisonEntry] = Field(description="In code order")


@router.get(
    "/prisons",
    response_model=PrisonList,
    summary="The register of prisons: every code the ledger knows",
)
def list_prisons(
    principal: Anyone,
    found: Found,
    active: Annotated[
        bool | None,
        Query(description="true: open prisons only; false: closed ones only"),
    ] = None,
) -> PrisonList:
    return PrisonList(
        prisons=[
            PrisonEntry.of(p)
            for p in found.prisons
            if active is None or p.active is active
        ]
    )


@router.get(
    "/prisons/{code}",
    response_model=PrisonEntry,
    summary="One prison of the register",
)
def get_prison(
    code: Annotated[str, Path(pattern=PRISON_CODE, examples=["LEI"])],
    principal: Anyone,
    found: Found,
) -> PrisonEntry:
    return PrisonEntry.of(known_prison(found, code))
