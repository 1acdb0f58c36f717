"""Who is recording, where, from which client, on whose authority."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.errors import OutsideRemit
from domain.identifiers import PrisonCode
from domain.values import Text, checker

_OPTIONAL_TEXT = checker(Text | None)
_OPTIONAL_MOMENT = checker(datetime | None)


@dataclass(frozen=True)
class RequestContext:
    """The recording metadata every event carries.

    ``occurred_at`` is when the thing happened (valid time); when not given, now. The
    store's own timestamp on each event is when it was recorded.
    """

    recorded_by: str
    prison: str
    source: str
    correlation_id: str
    source_ref: str | None = None
    authority: str | None = None
    occurred_at: datetime | None = None
    remit: frozenset[str] | None = None
    """The prisons this person may record in (a recorder's caseload); None when the
    caller is not limited (seeding, the ledger's own jobs). The ledger checks it
    against each case as it loads it for the command, inside the command's
    load-act-save loop: a transfer that commits in between makes the save collide,
    and the re-run sees where the case is now. Not recorded on the events."""
    request_digest: str | None = None
    """What identifies the request (``domain.commands.request_digest``); set by the
    ledger as it runs the command, and recorded on each event it makes."""

    def __post_init__(self) -> None:
        Text.check("recorded_by", self.recorded_by)
        PrisonCode.check("prison", self.prison)
        Text.check("source", self.source)
        Text.check("correlation_id", self.correlation_id)
        _OPTIONAL_TEXT("source_ref", self.source_ref)
        _OPTIONAL_TEXT("authority", self.authority)
        _OPTIONAL_MOMENT("occurred_at", self.occurred_at)
        if self.remit is not None:
            for prison in self.remit:
                PrisonCode.check("remit", prison)
            self.require_remit(self.prison, "the recording prison")

    def require_remit(self, prison: str, what: str) -> None:
        """Refuse unless ``prison`` is within this person's remit."""
        if self.remit is not None and prison not in self.remit:
            raise OutsideRemit(f"{what} ({prison}) is not in this recorder's caseload")

    def metadata(self) -> dict[str, Any]:
        """The event fields this context supplies."""
        return {
            "occurred_at": self.occurred_at or datetime.now(UTC),
            "recorded_by": self.recorded_by,
            "prison": self.prison,
            "source": self.source,
            "source_ref": self.source_ref,
            "correlation_id": self.correlation_id,
            "authority": self.authority,
            "request_digest": self.request_digest,
        }
