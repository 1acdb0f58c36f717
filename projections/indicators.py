"""indicators: per prison and month, the counts behind the performance indicators.

Each case contributes counts to the prison and month where each thing happened:
receptions and initial screenings on time, incidents and self-harm, drug tests and
their positive and refused results, releases with accommodation, with ID and a bank
account, and on a Friday. Rates per 1,000 average daily population are worked out at
query time from the roll (``projections.queries``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from domain.case import Case
from domain.codes import FINISHED_RESETTLEMENT_STATUSES
from domain.events import (
    CaseEvent,
    DrugTestRecorded,
    HealthScreened,
    IncidentRecorded,
    NeedsAssessed,
    PrisonerReceived,
    Released,
    ResettlementStepRecorded,
    Transferred,
)
from projections.case_rows import CaseRowsModel
from projections.overdue import INITIAL_SCREENING_DUE
from projections.read_model import Index
from projections.tables import INTEGER, TEXT, Column, Table

HOUSED = frozenset({"settled", "temporary", "approved_premises"})
MEASURES = (
    "receptions", "initial_screening_on_time", "incidents", "self_harm", "drug_tests",
    "drug_tests_positive", "drug_tests_refused", "releases",
    "released_with_accommodation", "released_with_id_and_bank_account",
    "friday_releases",
)  # fmt: skip


def month_of(at: datetime) -> str:
    year = at.year
    if year < 1000:  # strftime's own width for these
        return f"{at:%Y-%m}"
    # Formatted by hand: strftime costs more than the rest of a fact's counting.
    return f"{year}-{at.month:02d}"


INDICATOR_COUNTS: Table[Any] = Table(
    "indicator_counts",
    (
        Column("prisoner_number", TEXT, key=True),
        Column("prison", TEXT, key=True),
        Column("month", TEXT, key=True),
        Column("measure", TEXT, key=True),
        Column("value", INTEGER),
    ),
)


def counts_for(events: Sequence[CaseEvent]) -> Counter[tuple[str, str, str]]:
    """(prison, month, measure) -> count, walking the case's corrected facts."""
    counts: Counter[tuple[str, str, str]] = Counter()
    prison = ""
    received: datetime | None = None
    has_id = has_bank = False
    passport: dict[str, str] = {}
    for event in events:
        at: datetime = event.occurred_at
        # The most frequent first: each class that does not match costs 0.3 us.
        match event:
            case ResettlementStepRecorded(element=element, status=status):
                passport[element] = status
            case HealthScreened(stage="initial") if received:
                if at - received <= INITIAL_SCREENING_DUE:
                    month = month_of(received)
                    counts[(prison, month, "initial_screening_on_time")] += 1
            case PrisonerReceived(received_into=prison):
                received = at
                counts[(prison, month_of(at), "receptions")] += 1
                passport = {}
            case NeedsAssessed(has_id=has_id, has_bank_account=has_bank):
                pass
            case DrugTestRecorded(result=result):
                counts[(prison, month_of(at), "drug_tests")] += 1
                if result in ("positive", "refused"):
                    counts[(prison, month_of(at), f"drug_tests_{result}")] += 1
            case Released(accommodation=accommodation):
                key = (prison, month_of(at))
                counts[(*key, "releases")] += 1
                if accommodation in HOUSED:
                    counts[(*key, "released_with_accommodation")] += 1
                finished = FINISHED_RESETTLEMENT_STATUSES
                got_id = has_id or passport.get("id") in finished
                got_bank = has_bank or passport.get("bank_account") == "done"
                if got_id and got_bank:
                    counts[(*key, "released_with_id_and_bank_account")] += 1
                if at.weekday() == 4:
                    counts[(*key, "friday_releases")] += 1
            case IncidentRecorded(incident_type=incident_type):
                counts[(prison, month_of(at), "incidents")] += 1
                if incident_type == "self_harm":
                    counts[(prison, month_of(at), "self_harm")] += 1
            case Transferred(destination=str(prison)):
                pass
    return counts


class IndicatorsModel(CaseRowsModel):
    name = "indicators"
    table = INDICATOR_COUNTS
    tables = (INDICATOR_COUNTS,)
    indexes = (Index("indicator_counts_month", INDICATOR_COUNTS, ("month", "prison")),)

    def rows_for(
        self, case: Case, events: Sequence[CaseEvent]
    ) -> Iterable[tuple[Any, ...]]:
        counts = counts_for(events)
        return [(p, m, measure, n) for (p, m, measure), n in counts.items()]
