"""overdue: checks that fall due for people in custody, with when each falls due.

- initial health screening: due 24 hours after reception;
- comprehensive health screening: due 7 days after reception;
- a sentenced person with no tier: due at once;
- a release within 12 weeks with the resettlement passport unfinished: due 12 weeks
  before the release day;
- a sentence plan whose required interventions the prison does not offer: due when
  the plan was agreed.
A row is pending work; the query compares ``due_at`` with the time it is asked at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from domain.case import Case
from domain.codes import FINISHED_RESETTLEMENT_STATUSES, PassportElement
from domain.events import CaseEvent, SentencePlanAgreed
from projections.case_rows import CaseRowsModel
from projections.case_state import release_date_of
from projections.read_model import Index, moment
from projections.tables import TEXT, Column, Table

INITIAL_SCREENING_DUE = timedelta(hours=24)
COMPREHENSIVE_SCREENING_DUE = timedelta(days=7)
RESETTLEMENT_WINDOW = timedelta(weeks=12)


OVERDUE_CHECKS: Table[Any] = Table(
    "overdue_checks",
    (
        Column("prisoner_number", TEXT, key=True, examples=("A1234BC",)),
        Column("check_name", TEXT, key=True, examples=("initial_screening",)),
        Column("prison", TEXT),
        Column("due_at", TEXT, doc="When it fell due (UTC)"),
        Column("detail", TEXT),
    ),
)


def checks_for(
    case: Case, events: Sequence[CaseEvent]
) -> list[tuple[str, str, datetime, str]]:
    if not case.in_custody or not case.bookings:
        return []
    prison = case.prison or ""
    received: datetime = case.bookings[-1]["received_at"]
    checks = []
    if "initial" not in case.screenings:
        checks.append(
            ("initial_screening", prison, received + INITIAL_SCREENING_DUE, "")
        )
    if "comprehensive" not in case.screenings:
        checks.append(
            (
                "comprehensive_screening",
                prison,
                received + COMPREHENSIVE_SCREENING_DUE,
                "",
            )
        )
    if case.legal_status == "sentenced" and case.tier is None:
        checks.append(("untiered", prison, received, "sentenced and not tiered"))
    release = release_date_of(case)
    if release is not None:
        unfinished = [
            element.value
            for element in PassportElement
            if case.resettlement.get(element.value)
            not in FINISHED_RESETTLEMENT_STATUSES
        ]
        if unfinished:
            release_day = datetime.combine(release["release_on"], time(), UTC)
            checks.append(
                (
                    "resettlement_passport",
                    prison,
                    release_day - RESETTLEMENT_WINDOW,
                    "unfinished: " + ", ".join(unfinished),
                )
            )
    plan = case.sentence_plan
    if plan is not None:
        missing = sorted(
            set(plan["interventions_required"]) - set(plan["interventions_available"])
        )
        if missing:
            agreed = _agreed_at(case, events)
            checks.append(
                ("interventions_unavailable", prison, agreed, ", ".join(missing))
            )
    return checks


def _agreed_at(case: Case, events: Sequence[CaseEvent]) -> datetime:
    for event in reversed(events):
        match event:
            case SentencePlanAgreed():
                agreed: datetime = event.occurred_at
                return agreed
    received: datetime = case.bookings[-1]["received_at"]
    return received  # pragma: no cover (a plan has a fact)


class OverdueModel(CaseRowsModel):
    name = "overdue"
    table = OVERDUE_CHECKS
    tables = (OVERDUE_CHECKS,)
    indexes = (Index("overdue_prison", OVERDUE_CHECKS, ("prison", "due_at")),)

    def rows_for(
        self, case: Case, events: Sequence[CaseEvent]
    ) -> Iterable[tuple[Any, ...]]:
        return [
            (name, prison, moment(due), detail)
            for name, prison, due, detail in checks_for(case, events)
        ]
