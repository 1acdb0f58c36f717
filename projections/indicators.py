"""indicators: per prison and month, the counts behind the performance indicators.

Each case contributes counts to the prison and month where each thing happened:
receptions and initial screenings on time, incidents and self-harm, drug tests and
their positive and refused results, releases with accommodation, with ID and a bank
account, and on a Friday. Rates per 1,000 average daily population are worked out at
query time from the roll (``projections.queries``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from domain.case import Case
from domain.codes import FINISHED_RESETTLEMENT_STATUSES
from projections.case_rows import CaseRowsModel
from projections.overdue import INITIAL_SCREENING_DUE
from projections.read_model import Index

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


def counts_for(case: Case) -> Counter[tuple[str, str, str]]:
    """(prison, month, measure) -> count, walking the case's corrected facts."""
    counts: Counter[tuple[str, str, str]] = Counter()
    prison = ""
    received: datetime | None = None
    has_id = has_bank = False
    passport: dict[str, str] = {}
    for fact in case.facts:
        kind, at, f = fact["kind"], fact["occurred_at"], fact["fields"]
        if kind == "PrisonerReceived":
            prison, received = f["received_into"], at
            counts[(prison, month_of(at), "receptions")] += 1
            passport = {}
        elif kind == "Transferred":
            prison = f["to_prison"]
        elif kind == "HealthScreened" and f["stage"] == "initial" and received:
            if at - received <= INITIAL_SCREENING_DUE:
                counts[(prison, month_of(received), "initial_screening_on_time")] += 1
        elif kind == "IncidentRecorded":
            counts[(prison, month_of(at), "incidents")] += 1
            if f["incident_type"] == "self_harm":
                counts[(prison, month_of(at), "self_harm")] += 1
        elif kind == "DrugTestRecorded":
            counts[(prison, month_of(at), "drug_tests")] += 1
            if f["result"] in ("positive", "refused"):
                counts[(prison, month_of(at), f"drug_tests_{f['result']}")] += 1
        elif kind == "NeedsAssessed":
            has_id, has_bank = f["has_id"], f["has_bank_account"]
        elif kind == "ResettlementStepRecorded":
            passport[f["element"]] = f["status"]
        elif kind == "Released":
            key = (prison, month_of(at))
            counts[(*key, "releases")] += 1
            if f["accommodation"] in HOUSED:
                counts[(*key, "released_with_accommodation")] += 1
            got_id = has_id or passport.get("id") in FINISHED_RESETTLEMENT_STATUSES
            got_bank = has_bank or passport.get("bank_account") == "done"
            if got_id and got_bank:
                counts[(*key, "released_with_id_and_bank_account")] += 1
            if at.weekday() == 4:
                counts[(*key, "friday_releases")] += 1
    return counts


class IndicatorsModel(CaseRowsModel):
    name = "indicators"
    table = "indicator_counts"
    columns = ("prison", "month", "measure", "value")
    tables = {  # noqa: RUF012
        "indicator_counts": "(prisoner_number TEXT NOT NULL, prison TEXT NOT NULL, "
        "month TEXT NOT NULL, measure TEXT NOT NULL, value INTEGER NOT NULL, "
        "PRIMARY KEY (prisoner_number, prison, month, measure))"
    }
    indexes = (Index("indicator_counts_month", "indicator_counts", "month, prison"),)
    order_by = {  # noqa: RUF012
        "indicator_counts": "prisoner_number, prison, month, measure"
    }

    def rows_for(self, case: Case) -> Iterable[tuple[Any, ...]]:
        return [(p, m, measure, n) for (p, m, measure), n in counts_for(case).items()]
