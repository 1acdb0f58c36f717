"""Read models whose rows for a case are recomputed whole from its folded state.

Roll stays, overdue checks and indicator counts all follow from a case's facts with
corrections applied; recomputing a touched case's rows once per page (delete, then
insert) keeps them right when a correction changes an old fact, and a merge removes
the retired record's rows so nobody is counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from domain.case import Case
from projections.database import Sql
from projections.read_model import Page, ReadModel


class CaseRowsModel(ReadModel):
    table: ClassVar[str]
    columns: ClassVar[Sequence[str]]
    """Columns after prisoner_number, in the order rows_for yields them."""

    def rows_for(self, case: Case) -> Iterable[tuple[Any, ...]]:
        raise NotImplementedError

    def apply(self, sql: Sql, page: Page) -> None:
        table = self.t(self.table)
        numbers = [case.prisoner_number for case in page.seen_before(page.cases)]
        sql.delete_where_in(table, "prisoner_number", numbers)
        rows = [
            (case.prisoner_number, *row)
            for case in page.cases.values()
            if case.merged_into is None
            for row in self.rows_for(case)
        ]
        # The case's old rows are gone, so nothing conflicts: COPY on PostgreSQL.
        sql.append(table, ("prisoner_number", *self.columns), rows)
