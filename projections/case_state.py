"""case_state: one row per case, what people read first.

Status, prison, booking, officers, tier and RoSH, an open ACCT, release date and its
Friday / pre-holiday flag, screening times, resettlement progress, and where a merged
record now lives. Written from the Case aggregate's own state, corrections applied.
"""

from __future__ import annotations

from typing import Any

from domain.case import Case
from domain.codes import FINISHED_RESETTLEMENT_STATUSES, PassportElement
from projections.database import Sql
from projections.read_model import Index, Page, ReadModel, moment

COLUMNS = (
    "prisoner_number", "case_id", "status", "prison", "booking_no", "received_at",
    "legal_status", "key_worker", "pom", "dedicated_officer", "tier",
    "tier_change_level", "rosh", "incentive_level", "acct_open", "release_date_type",
    "release_date", "release_on", "release_flagged", "early_release_date",
    "initial_screening_at", "comprehensive_screening_at", "resettlement_finished",
    "resettlement_total", "merged_into", "version",
)  # fmt: skip
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


def row_of(case: Case) -> tuple[Any, ...]:
    release = release_date_of(case)
    booking = case.bookings[-1] if case.bookings else None
    finished, total = resettlement_progress(case)
    return (
        case.prisoner_number,
        str(case.id),
        str(case.status),
        case.prison,
        booking["booking_no"] if booking else None,
        moment(booking["received_at"]) if booking else None,
        case.legal_status,
        case.officers.get("key_worker"),
        case.officers.get("pom"),
        case.officers.get("dedicated_officer"),
        case.tier,
        case.tier_change_level,
        case.rosh,
        case.incentive_level,
        int(case.acct_open),
        release["date_type"] if release else None,
        release["release_date"].isoformat() if release else None,
        release["release_on"].isoformat() if release else None,
        int(release["flagged"]) if release else 0,
        release["approved_date"].isoformat()
        if release and release["approved_date"]
        else None,
        moment(case.screenings.get("initial")),
        moment(case.screenings.get("comprehensive")),
        finished,
        total,
        case.merged_into,
        case.version,
    )


class CaseStateModel(ReadModel):
    name = "case_state"
    tables = {  # noqa: RUF012
        "case_state": "(prisoner_number TEXT PRIMARY KEY, case_id TEXT NOT NULL, "
        "status TEXT NOT NULL, prison TEXT, booking_no TEXT, received_at TEXT, "
        "legal_status TEXT, key_worker TEXT, pom TEXT, dedicated_officer TEXT, "
        "tier TEXT, tier_change_level INTEGER, rosh TEXT, incentive_level TEXT, "
        "acct_open INTEGER NOT NULL, release_date_type TEXT, release_date TEXT, "
        "release_on TEXT, release_flagged INTEGER NOT NULL, early_release_date TEXT, "
        "initial_screening_at TEXT, comprehensive_screening_at TEXT, "
        "resettlement_finished INTEGER NOT NULL, resettlement_total INTEGER NOT NULL, "
        "merged_into TEXT, version INTEGER NOT NULL)"
    }
    indexes = (Index("case_state_prison", "case_state", "prison, status"),)
    order_by = {"case_state": "prisoner_number"}  # noqa: RUF012

    def apply(self, sql: Sql, page: Page) -> None:
        # Delete and COPY rather than upsert: the server parses one stream, and
        # the client builds no statement text.
        table = self.t("case_state")
        numbers = [case.prisoner_number for case in page.seen_before(page.cases)]
        sql.delete_where_in(table, "prisoner_number", numbers)
        sql.append(table, COLUMNS, [row_of(case) for case in page.cases.values()])
