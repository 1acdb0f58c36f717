"""roll: who was in which prison when, so the roll can be read for now or any day.

Each stay runs from arrival (reception or transfer in) to departure (transfer out or
release). People on ROTL stay on the roll, as they do on a prison's roll.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from domain.case import Case
from domain.events import CaseEvent, PrisonerReceived, Released, Transferred
from projections.case_rows import CaseRowsModel
from projections.read_model import Index, moment
from projections.tables import INTEGER, TEXT, Column, Table

ROLL_STAYS: Table[Any] = Table(
    "roll_stays",
    (
        Column("prisoner_number", TEXT, key=True),
        Column("seq", INTEGER, key=True),
        Column("booking_no", TEXT),
        Column("prison", TEXT),
        Column("arrived_at", TEXT),
        Column("left_at", TEXT, nullable=True),
    ),
)


def stays_of(events: Sequence[CaseEvent]) -> list[tuple[Any, ...]]:
    """(seq, booking_no, prison, arrived_at, left_at) for each stay, in order."""
    stays: list[list[Any]] = []
    for event in events:
        at: datetime = event.occurred_at
        match event:
            case PrisonerReceived(booking_no=booking, received_into=prison):
                stays.append([booking, prison, at, None])
            case Transferred(destination=prison) if stays and stays[-1][3] is None:
                stays[-1][3] = at
                stays.append([stays[-1][0], prison, at, None])
            case Released() if stays and stays[-1][3] is None:
                stays[-1][3] = at
    return [
        (seq, booking, prison, moment(arrived), moment(left))
        for seq, (booking, prison, arrived, left) in enumerate(stays, start=1)
    ]


class RollModel(CaseRowsModel):
    name = "roll"
    table = ROLL_STAYS
    tables = (ROLL_STAYS,)
    indexes = (Index("roll_stays_prison", ROLL_STAYS, ("prison", "arrived_at")),)

    def rows_for(
        self, case: Case, events: Sequence[CaseEvent]
    ) -> Iterable[tuple[Any, ...]]:
        return stays_of(events)
