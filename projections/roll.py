"""roll: who was in which prison when, so the roll can be read for now or any day.

Each stay runs from arrival (reception or transfer in) to departure (transfer out or
release). People on ROTL stay on the roll, as they do on a prison's roll.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.case import Case
from projections.case_rows import CaseRowsModel
from projections.read_model import Index, moment


def stays_of(case: Case) -> list[tuple[Any, ...]]:
    stays: list[list[Any]] = []
    for fact in case.facts:
        kind, at, fields = fact["kind"], fact["occurred_at"], fact["fields"]
        if kind == "PrisonerReceived":
            stays.append([fields["booking_no"], fields["received_into"], at, None])
        elif kind == "Transferred" and stays and stays[-1][3] is None:
            stays[-1][3] = at
            stays.append([stays[-1][0], fields["to_prison"], at, None])
        elif kind == "Released" and stays and stays[-1][3] is None:
            stays[-1][3] = at
    return [
        (seq, booking, prison, moment(arrived), moment(left))
        for seq, (booking, prison, arrived, left) in enumerate(stays, start=1)
    ]


class RollModel(CaseRowsModel):
    name = "roll"
    table = "roll_stays"
    columns = ("seq", "booking_no", "prison", "arrived_at", "left_at")
    tables = {  # noqa: RUF012
        "roll_stays": "(prisoner_number TEXT NOT NULL, seq INTEGER NOT NULL, "
        "booking_no TEXT NOT NULL, prison TEXT NOT NULL, arrived_at TEXT NOT NULL, "
        "left_at TEXT, PRIMARY KEY (prisoner_number, seq))"
    }
    indexes = (Index("roll_stays_prison", "roll_stays", "prison, arrived_at"),)
    order_by = {"roll_stays": "prisoner_number, seq"}  # noqa: RUF012

    def rows_for(self, case: Case) -> Iterable[tuple[Any, ...]]:
        return stays_of(case)
