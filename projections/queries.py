"""What people read from the read models: plain queries over the live tables."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from projections.access_log import ACCESS_LOG
from projections.case_state import CASE_STATE
from projections.caseloads import CASELOADS, OFFICERS
from projections.database import ReadModelDatabase
from projections.indicators import MEASURES
from projections.overdue import OVERDUE_CHECKS
from projections.read_model import moment
from projections.tables import Table, as_dicts
from projections.timeline import TIMELINE

PER_THOUSAND = 1_000


@dataclass(frozen=True)
class IndicatorRow:
    prison: str
    month: str
    average_daily_population: float
    counts: dict[str, int]

    def per_thousand(self, measure: str) -> float:
        if not self.average_daily_population:
            return 0.0
        return self.counts[measure] * PER_THOUSAND / self.average_daily_population

    def share(self, measure: str, of: str) -> float:
        return self.counts[measure] / self.counts[of] if self.counts[of] else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "prison": self.prison,
            "month": self.month,
            "average_daily_population": round(self.average_daily_population, 1),
            "counts": self.counts,
            "incidents_per_1000": round(self.per_thousand("incidents"), 1),
            "self_harm_per_1000": round(self.per_thousand("self_harm"), 1),
            "drug_tests_positive_rate": round(
                self.share("drug_tests_positive", "drug_tests"), 3
            ),
            "drug_tests_refused_rate": round(
                self.share("drug_tests_refused", "drug_tests"), 3
            ),
            "initial_screening_on_time_rate": round(
                self.share("initial_screening_on_time", "receptions"), 3
            ),
            "released_with_accommodation_rate": round(
                self.share("released_with_accommodation", "releases"), 3
            ),
            "released_with_id_and_bank_account_rate": round(
                self.share("released_with_id_and_bank_account", "releases"), 3
            ),
            "friday_releases": self.counts["friday_releases"],
        }


class ReadModelQueries:
    def __init__(self, database: ReadModelDatabase) -> None:
        self.database = database

    def _all(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self.database.transaction() as sql:
            sql.execute(statement, params)
            rows: list[Any] = sql.fetchall()
            return rows

    def _rows(
        self,
        table: Table[Any],
        where: str,
        params: tuple[Any, ...] = (),
        *,
        columns: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` (its declared columns, or ``columns``) as stored, by
        column name; ``where`` is the rest of the statement."""
        names = table.names if columns is None else columns
        rows = self._all(
            f"SELECT {table.select_list(names)} FROM {table.name} {where}", params
        )
        return as_dicts(names, rows)

    def case_state(self, prisoner_number: str) -> dict[str, Any] | None:
        rows = self._rows(CASE_STATE, "WHERE prisoner_number=?", (prisoner_number,))
        return rows[0] if rows else None

    def cases(
        self,
        *,
        prison: str | None = None,
        status: str | None = None,
        tier: str | None = None,
        limit: int = 100,
        after: str = "",
        prisons: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Cases in prisoner-number order after ``after``; ``prisons`` limits them to
        those prisons (a recorder's caseload)."""
        where, params = ["prisoner_number > ?"], [after]
        for column, value in (("prison", prison), ("status", status), ("tier", tier)):
            if value is not None:
                where.append(f"{column}=?")
                params.append(value)
        if prisons is not None:
            if not prisons:
                return []
            where.append(f"prison IN ({', '.join('?' for _ in prisons)})")
            params.extend(prisons)
        return self._rows(
            CASE_STATE,
            f"WHERE {' AND '.join(where)} ORDER BY prisoner_number LIMIT {int(limit)}",
            tuple(params),
        )

    def timeline(self, prisoner_number: str) -> list[dict[str, Any]]:
        return self._rows(
            TIMELINE,
            "WHERE prisoner_number=? ORDER BY case_version",
            (prisoner_number,),
        )

    def officer(self, officer_id: str) -> dict[str, Any] | None:
        rows = self._rows(OFFICERS, "WHERE officer_id=?", (officer_id,))
        return rows[0] if rows else None

    def caseload(self, officer_id: str) -> list[dict[str, Any]]:
        """The officer's cases (every column but the officer's id)."""
        return self._rows(
            CASELOADS,
            "WHERE officer_id=? ORDER BY prisoner_number",
            (officer_id,),
            columns=CASELOADS.names[1:],
        )

    def over_limit_allocations(self, prison: str) -> list[dict[str, Any]]:
        return self._rows(
            CASELOADS,
            "WHERE prison=? AND override_reason IS NOT NULL ORDER BY officer_id",
            (prison,),
        )

    def prisons(self) -> list[str]:
        """Every prison that has held anyone, by code."""
        rows = self._all("SELECT DISTINCT prison FROM roll_stays ORDER BY prison")
        return [r[0] for r in rows]

    def officers_at(self, prison: str) -> list[dict[str, Any]]:
        """A prison's officers with how many cases each holds, and how many of
        those were allocated over the limit (with an override)."""
        columns = ("officer_id", "name", "roles", "cases", "overrides")
        rows = self._all(
            "SELECT o.officer_id, o.name, o.roles, COUNT(c.prisoner_number), "
            "COUNT(c.override_reason) FROM officers o "
            "LEFT JOIN caseloads c ON c.officer_id = o.officer_id "
            "WHERE o.home_prison=? GROUP BY o.officer_id, o.name, o.roles "
            "ORDER BY o.officer_id",
            (prison,),
        )
        return [dict(zip(columns, r, strict=True)) for r in rows]

    def roll(self, prison: str, at: datetime | None = None) -> list[str]:
        """Prisoner numbers on a prison's roll at a moment (default: now)."""
        when = moment(at or datetime.now(UTC))
        rows = self._all(
            "SELECT prisoner_number FROM roll_stays WHERE prison=? AND arrived_at<=? "
            "AND (left_at IS NULL OR left_at>?) ORDER BY prisoner_number",
            (prison, when, when),
        )
        return [r[0] for r in rows]

    def roll_on(self, prison: str, day: date) -> list[str]:
        """The roll at the end of a past day."""
        return self.roll(prison, datetime.combine(day + timedelta(days=1), time(), UTC))

    def average_daily_population(self, prison: str, month: str) -> float:
        start = date.fromisoformat(month + "-01")
        days = calendar.monthrange(start.year, start.month)[1]
        first = datetime.combine(start, time(), UTC)
        end = first + timedelta(days=days)
        rows = self._all(
            "SELECT arrived_at, left_at FROM roll_stays WHERE prison=? "
            "AND arrived_at<? AND (left_at IS NULL OR left_at>?)",
            (prison, moment(end), moment(first)),
        )
        total = 0.0
        for arrived, left in rows:
            a = max(datetime.fromisoformat(arrived), first)
            b = min(datetime.fromisoformat(left), end) if left else end
            total += (b - a).total_seconds()
        return total / (days * 86_400)

    def indicators(self, prison: str, month: str) -> IndicatorRow:
        rows = self._all(
            "SELECT measure, SUM(value) FROM indicator_counts "
            "WHERE prison=? AND month=? GROUP BY measure",
            (prison, month),
        )
        counts = dict.fromkeys(MEASURES, 0) | {m: int(n) for m, n in rows}
        return IndicatorRow(
            prison, month, self.average_daily_population(prison, month), counts
        )

    def league_table(self, month: str) -> list[dict[str, Any]]:
        """Prisons ranked for a month: fewest incidents per 1,000 first."""
        rows = [self.indicators(p, month).as_dict() for p in self.prisons()]
        rows.sort(
            key=lambda r: (
                r["incidents_per_1000"],
                r["self_harm_per_1000"],
                r["drug_tests_positive_rate"],
                r["prison"],
            )
        )
        return [{"rank": i, **r} for i, r in enumerate(rows, start=1)]

    def access_log(
        self,
        *,
        prisoner_number: str | None = None,
        reader: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Reads recorded in the access log, in log order after position ``after``."""
        where = ["position > ?"]
        params: list[Any] = [after]
        for column, value in (("prisoner_number", prisoner_number), ("reader", reader)):
            if value is not None:
                where.append(f"{column}=?")
                params.append(value)
        return self._rows(
            ACCESS_LOG,
            f"WHERE {' AND '.join(where)} ORDER BY position LIMIT {int(limit)}",
            tuple(params),
        )

    def overdue(self, prison: str, now: datetime | None = None) -> list[dict[str, Any]]:
        return self._rows(
            OVERDUE_CHECKS,
            "WHERE prison=? AND due_at<? ORDER BY due_at, prisoner_number",
            (prison, moment(now or datetime.now(UTC))),
            columns=("prisoner_number", "check_name", "due_at", "detail"),
        )
