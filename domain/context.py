"""Who is recording, where, from which client, on whose authority."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.errors import InvalidValue, OutsideRemit
from domain.identifiers import PrisonCode

MAX_TEXT = 200


def _text(field: str, value: str | None, *, required: bool) -> None:
    if value is None:
        if required:
            raise InvalidValue(field, f"{field} is required")
        return
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise InvalidValue(field, f"{field} must be 1-{MAX_TEXT} characters")


@dataclass(frozen=True)
class RequestContext:
    """The recording metadata every event carries (DESIGN section 4).

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

    def __post_init__(self) -> None:
        _text("recorded_by", self.recorded_by, required=True)
        PrisonCode(self.prison)
        _text("source", self.source, required=True)
        _text("correlation_id", self.correlation_id, required=True)
        _text("source_ref", self.source_ref, required=False)
        _text("authority", self.authority, required=False)
        if self.occurred_at is not None and self.occurred_at.tzinfo is None:
            raise InvalidValue("occurred_at", "occurred_at must include a time zone")
        if self.remit is not None:
            for prison in self.remit:
                PrisonCode(prison)
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
        }
