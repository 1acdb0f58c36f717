"""caseloads: officers and the cases they hold, with every over-limit override.

Written from the Officer aggregate's own caseload: each page replaces the rows of the
officers it touched.
"""

from __future__ import annotations

from typing import Any

from domain.officer import Officer
from projections.database import Sql
from projections.read_model import Page, ReadModel, moment
from projections.tables import NAMES, TEXT, Column, Table

OFFICERS: Table[Officer] = Table(
    "officers",
    (
        Column(
            "officer_id",
            TEXT,
            lambda o: o.officer_id,
            key=True,
            examples=("JSMITH_GEN",),
        ),
        Column("name", TEXT, lambda o: o.name, examples=("Jo Smith",)),
        Column("home_prison", TEXT, lambda o: o.home_prison, examples=("LEI",)),
        Column("roles", NAMES, lambda o: o.roles, examples=(["key_worker"],)),
    ),
)
CASELOADS: Table[Any] = Table(
    "caseloads",
    (
        Column("officer_id", TEXT, key=True),
        Column("prisoner_number", TEXT, key=True, examples=("A1234BC",)),
        Column("role", TEXT, examples=("key_worker",)),
        Column("prison", TEXT, examples=("LEI",)),
        Column("allocated_at", TEXT),
        Column(
            "override_reason",
            TEXT,
            nullable=True,
            doc="Why the limit was passed, when the allocation was over it",
        ),
        Column("authority", TEXT, nullable=True, doc="Who authorised the override"),
    ),
)
officer_row = OFFICERS.row_maker()


class CaseloadsModel(ReadModel):
    name = "caseloads"
    tables = (OFFICERS, CASELOADS)

    def apply(self, sql: Sql, page: Page) -> None:
        officers = list(page.officers.values())
        if not officers:
            return
        # Each touched officer's rows are replaced whole: delete, then COPY.
        ids = [o.officer_id for o in page.seen_before(page.officers)]
        table = self.t(OFFICERS.name)
        sql.delete_where_in(table, "officer_id", ids)
        sql.append(table, OFFICERS.written, [officer_row(o) for o in officers])
        table = self.t(CASELOADS.name)
        sql.delete_where_in(table, "officer_id", ids)
        sql.append(
            table,
            CASELOADS.written,
            [
                (
                    o.officer_id,
                    number,
                    held["role"],
                    held["prison"],
                    moment(held["allocated_at"]),
                    held["override_reason"],
                    held["authority"],
                )
                for o in officers
                for number, held in o.caseload.items()
            ],
        )
