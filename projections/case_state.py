"""case_state: one row per case, what people read first.

Status, prison, booking, officers, tier and RoSH, an open ACCT, release date and its
Friday / pre-holiday flag, screening times, resettlement progress, and where a merged
record now lives. Written from the Case aggregate's own state, corrections applied.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.case import Case
from domain.codes import FINISHED_RESETTLEMENT_STATUSES, PassportElement
from projections.database import Sql
from projections.read_model import Index, Page, ReadModel, moment
from projections.tables import FLAG, INTEGER, TEXT, Column, Table

RELEASE_DATE_PREFERENCE = ("HDCAD", "APD", "CRD", "ARD", "PRRD", "NPD", "SLED", "SED")


def release_date_of(case: Case) -> dict[str, Any] | None:
    """The release date that matters most, when several are set."""
    for date_type in RELEASE_DATE_PREFERENCE:
        if date_type in case.release_dates:
            return case.release_dates[date_type]
    return None


def resettlement_progress(case: Case) -> tuple[int, int]:
    finished = sum(
        1
        for status in case.resettlement.values()
        if status in FINISHED_RESETTLEMENT_STATUSES
    )
    return finished, len(PassportElement)


def _booking(case: Case, name: str) -> Any:
    return case.bookings[-1][name] if case.bookings else None


def _release(case: Case, name: str) -> Any:
    release = release_date_of(case)
    return release[name] if release else None


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _release_day(name: str, field: str) -> Column[Case]:
    """The day ``field`` of the release date that matters most, as text."""
    return Column(name, TEXT, lambda c: _day(_release(c, field)), nullable=True)


def _screened_at(stage: str) -> Column[Case]:
    """The time of the case's ``stage`` health screening, as text."""
    return Column(
        f"{stage}_screening_at",
        TEXT,
        lambda c: moment(c.screenings.get(stage)),
        nullable=True,
    )


CASE_STATE: Table[Case] = Table(
    "case_state",
    (
        Column("prisoner_number", TEXT, lambda c: c.prisoner_number, key=True),
        Column("case_id", TEXT, lambda c: str(c.id)),
        Column("status", TEXT, lambda c: str(c.status)),
        Column("prison", TEXT, lambda c: c.prison, nullable=True),
        Column("booking_no", TEXT, lambda c: _booking(c, "booking_no"), nullable=True),
        Column(
            "received_at",
            TEXT,
            lambda c: moment(_booking(c, "received_at")),
            nullable=True,
        ),
        Column("legal_status", TEXT, lambda c: c.legal_status, nullable=True),
        Column(
            "key_worker", TEXT, lambda c: c.officers.get("key_worker"), nullable=True
        ),
        Column("pom", TEXT, lambda c: c.officers.get("pom"), nullable=True),
        Column(
            "dedicated_officer",
            TEXT,
            lambda c: c.officers.get("dedicated_officer"),
            nullable=True,
        ),
        Column("tier", TEXT, lambda c: c.tier, nullable=True),
        Column(
            "tier_change_level", INTEGER, lambda c: c.tier_change_level, nullable=True
        ),
        Column("rosh", TEXT, lambda c: c.rosh, nullable=True),
        Column("incentive_level", TEXT, lambda c: c.incentive_level, nullable=True),
        Column("acct_open", FLAG, lambda c: c.acct_open),
        Column(
            "release_date_type", TEXT, lambda c: _release(c, "date_type"), nullable=True
        ),
        _release_day("release_date", "release_date"),
        _release_day("release_on", "release_on"),
        Column("release_flagged", FLAG, lambda c: bool(_release(c, "flagged"))),
        _release_day("early_release_date", "approved_date"),
        _screened_at("initial"),
        _screened_at("comprehensive"),
        Column("resettlement_finished", INTEGER, lambda c: resettlement_progress(c)[0]),
        Column("resettlement_total", INTEGER, lambda c: resettlement_progress(c)[1]),
        Column("merged_into", TEXT, lambda c: c.merged_into, nullable=True),
        Column(
            "last_key_work_session_at",
            TEXT,
            lambda c: moment(c.last_key_work_session),
            nullable=True,
        ),
        Column("version", INTEGER, lambda c: c.version),
    ),
)
"""One per column: a column added here is created, written, selected and
served by the API (``api/http/routers/cases.py``) with nothing else to edit."""

row_of = CASE_STATE.row_maker()
"""A case's row, as stored, in the declared column order."""


class CaseStateModel(ReadModel):
    name = "case_state"
    tables = (CASE_STATE,)
    indexes = (Index("case_state_prison", CASE_STATE, ("prison", "status")),)

    def apply(self, sql: Sql, page: Page) -> None:
        # Delete and COPY rather than upsert: the server parses one stream, and
        # the client builds no statement text.
        table = self.t(CASE_STATE.name)
        numbers = [case.prisoner_number for case in page.seen_before(page.cases)]
        sql.delete_where_in(table, "prisoner_number", numbers)
        sql.append(
            table, CASE_STATE.written, [row_of(case) for case in page.cases.values()]
        )
