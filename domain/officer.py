"""The Officer: a member of staff with a caseload, and the caseload limit per role.

An allocation changes a Case and an Officer in one atomic save, so two concurrent
allocations to one officer cannot both pass the limit: the second save conflicts on
the officer's version, is retried against the new caseload, and is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate

from domain.codes import OfficerRole
from domain.commands import RegisterOfficer, plain
from domain.context import RequestContext
from domain.errors import (
    CaseloadLimitReached,
    InvalidValue,
    NotAllocated,
    OverrideNeedsAuthority,
)
from domain.events import (
    TOPIC_PREFIX,
    CaseAllocated,
    CaseDeallocated,
    OfficerEvent,
    OfficerRegistered,
    RecordedEvent,
)
from domain.identifiers import officer_aggregate_id

DEFAULT_CASELOAD_LIMITS: Mapping[str, int | None] = {
    OfficerRole.DEDICATED_OFFICER: 6,
    OfficerRole.KEY_WORKER: 6,
    # A POM's caseload is set locally; no limit unless configured.
    OfficerRole.PRISON_OFFENDER_MANAGER: None,
}


@dataclass(frozen=True)
class CaseloadLimits:
    """The most cases an officer may hold in each role (None: no limit)."""

    limits: Mapping[str, int | None] = field(
        default_factory=lambda: dict(DEFAULT_CASELOAD_LIMITS)
    )

    def limit_for(self, role: str) -> int | None:
        return self.limits.get(role)

    @classmethod
    def parse(cls, text: str) -> CaseloadLimits:
        """``dedicated_officer=6,key_worker=6,pom=60``; unnamed roles keep defaults."""
        limits: dict[str, int | None] = dict(DEFAULT_CASELOAD_LIMITS)
        for part in filter(None, (p.strip() for p in text.split(","))):
            role, _, value = part.partition("=")
            if role not in {r.value for r in OfficerRole} or not value.isdigit():
                raise InvalidValue(
                    "caseload limits",
                    f"{part!r} is not ROLE=NUMBER with ROLE one of "
                    f"{', '.join(r.value for r in OfficerRole)}",
                )
            limits[role] = int(value)
        return cls(limits)


class Officer(Aggregate):
    TOPIC = f"{TOPIC_PREFIX}.officer:Officer"
    Event = OfficerEvent
    Created = OfficerRegistered

    def __init__(
        self,
        officer_id: str,
        name: str,
        roles: list[str],
        home_prison: str,
        **metadata: Any,
    ) -> None:
        self.officer_id = officer_id
        self.name = name
        self.roles = list(roles)
        self.home_prison = home_prison
        self.caseload: dict[str, dict[str, Any]] = {}
        """Prisoner number -> role, override reason and authority, prison, when."""

    @classmethod
    def register(cls, ctx: RequestContext, command: RegisterOfficer) -> Officer:
        return cls._create(
            OfficerRegistered,
            id=officer_aggregate_id(command.officer_id),
            **plain(command.fields()),
            **ctx.metadata(),
        )

    def take(self, event: RecordedEvent) -> None:
        if isinstance(event, CaseAllocated):
            self.caseload[event.prisoner_number] = {
                "role": event.role,
                "override_reason": event.override_reason,
                "authority": event.authority if event.override_reason else None,
                "prison": event.prison,
                "allocated_at": event.occurred_at,
            }
        elif isinstance(event, CaseDeallocated):
            self.caseload.pop(event.prisoner_number, None)

    def count(self, role: str) -> int:
        return sum(1 for a in self.caseload.values() if a["role"] == role)

    def allocate(
        self,
        ctx: RequestContext,
        *,
        prisoner_number: str,
        role: str,
        limits: CaseloadLimits,
        override_reason: str | None,
    ) -> str | None:
        """Add a case; return the override reason recorded (None within the limit)."""
        if role not in self.roles:
            raise InvalidValue(
                "role", f"{self.officer_id} does not work as {role} ({self.roles})"
            )
        limit = limits.limit_for(role)
        held = self.count(role)
        if limit is not None and held >= limit:
            if override_reason is None:
                raise CaseloadLimitReached(
                    f"{self.officer_id} already holds {held} cases as {role} "
                    f"(limit {limit}); an override needs a reason and an authority"
                )
            if ctx.authority is None:
                raise OverrideNeedsAuthority(
                    f"allocating {self.officer_id} over the {role} limit of {limit} "
                    "needs the authorising manager named"
                )
        else:
            override_reason = None
        self.trigger_event(
            CaseAllocated,
            **ctx.metadata(),
            prisoner_number=prisoner_number,
            role=role,
            override_reason=override_reason,
        )
        return override_reason

    def deallocate(
        self, ctx: RequestContext, *, prisoner_number: str, role: str
    ) -> None:
        if prisoner_number not in self.caseload:
            raise NotAllocated(
                f"{prisoner_number} is not on {self.officer_id}'s caseload"
            )
        self.trigger_event(
            CaseDeallocated,
            **ctx.metadata(),
            prisoner_number=prisoner_number,
            role=role,
        )
