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
from domain.events import CaseEvent
from projections.database import Sql
from projections.read_model import Page, ReadModel
from projections.tables import Table


class CaseRowsModel(ReadModel):
    table: ClassVar[Table[Any]]
    """Its first column is the prisoner number, which :meth:`apply` puts first."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.table.written[0] != "prisoner_number":
            raise TypeError(f"{cls.table.name} must start with prisoner_number")

    def rows_for(
        self, case: Case, events: Sequence[CaseEvent]
    ) -> Iterable[tuple[Any, ...]]:
        """The case's rows, each the values of ``table.written`` after the first.
        ``events``: its facts as events (``Page.events_of``)."""
        raise NotImplementedError

    def apply(self, sql: Sql, page: Page) -> None:
        table = self.t(self.table.name)
        numbers = [case.prisoner_number for case in page.seen_before(page.cases)]
        sql.delete_where_in(table, "prisoner_number", numbers)
        rows = [
            (case.prisoner_number, *row)
            for case in page.cases.values()
            if case.merged_into is None
            for row in self.rows_for(case, page.events_of(case))
        ]
        # The case's old rows are gone, so nothing conflicts: COPY on PostgreSQL.
        sql.append(table, self.table.written, rows)
