"""Rebuild read models from position 0 without downtime, or check them.

A rebuild writes fresh tables (suffix ``__rebuild``) beside the live ones, which keep
serving, then swaps them in with one transaction: drop the live tables, rename the
fresh ones, move the tracking position. A follower that was ahead re-reads its
position on its next page and fills the gap. ``check`` builds the fresh tables to
the live ones' position and lists every row that differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.ledger import JourneyLedger
from projections.catalogue import READ_MODELS
from projections.database import ReadModelDatabase, Sql
from projections.read_model import ReadModel
from projections.runner import TRACKING, ProjectionRunner, tracked_name

REBUILD_SUFFIX = "__rebuild"
MAX_LISTED = 20


@dataclass
class Difference:
    table: str
    key: tuple[Any, ...]
    live: tuple[Any, ...] | None
    rebuilt: tuple[Any, ...] | None

    def __str__(self) -> str:
        if self.live is None:
            return f"{self.table} {self.key}: missing from the live table"
        if self.rebuilt is None:
            return f"{self.table} {self.key}: in the live table, not in the rebuild"
        return f"{self.table} {self.key}: live {self.live} != rebuilt {self.rebuilt}"


@dataclass
class RebuildReport:
    models: list[str]
    position: int
    rows: dict[str, int] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    swapped: bool = False

    def __str__(self) -> str:
        lines = [
            f"{'rebuilt and swapped in' if self.swapped else 'checked'}: "
            f"{', '.join(self.models)} at position {self.position}"
        ]
        for table, n in sorted(self.rows.items()):
            lines.append(f"  {table:<22} {n:>9,} rows")
        if not self.swapped:
            lines.append(f"{len(self.differences)} differences")
            lines.extend(f"  {d}" for d in self.differences[:MAX_LISTED])
            if len(self.differences) > MAX_LISTED:
                lines.append(f"  ... and {len(self.differences) - MAX_LISTED} more")
        return "\n".join(lines)


def _drop_rebuild(sql: Sql, models: Sequence[ReadModel]) -> None:
    for model in models:
        for table in model.names().values():
            sql.execute(f"DROP TABLE IF EXISTS {table}")
        sql.execute(f"DELETE FROM {TRACKING} WHERE name=?", (tracked_name(model),))


def rebuild(
    ledger: JourneyLedger,
    database: ReadModelDatabase,
    names: Sequence[str],
    *,
    check: bool = False,
    after_page: Callable[[int], None] | None = None,
) -> RebuildReport:
    fresh = [READ_MODELS[name](REBUILD_SUFFIX) for name in names]
    live = [READ_MODELS[name]() for name in names]
    # The live tables must exist (and so have a tracking row) before comparing.
    live_runner = ProjectionRunner(ledger, database, live)
    with database.transaction() as sql:
        _drop_rebuild(sql, fresh)
    runner = ProjectionRunner(ledger, database, fresh, after_page=after_page)
    position = runner.catch_up()
    report = RebuildReport(list(names), position)
    if check:
        # Compare at one position: the live tables catch up to the head of the log
        # (which is at least where the rebuild reached), then the rebuild to them.
        position = runner.catch_up(until=live_runner.catch_up())
        report.position = position
        with database.transaction() as sql:
            for live_model, fresh_model in zip(live, fresh, strict=True):
                report.differences.extend(_compare(sql, live_model, fresh_model))
                report.rows.update(_counts(sql, live_model))
            _drop_rebuild(sql, fresh)
        return report
    with database.transaction() as sql:
        for live_model, fresh_model in zip(live, fresh, strict=True):
            _swap(sql, database.dialect, live_model, fresh_model)
        for live_model in live:
            report.rows.update(_counts(sql, live_model))
    report.swapped = True
    return report


def _swap(sql: Sql, dialect: str, live: ReadModel, fresh: ReadModel) -> None:
    for base, live_table in live.names().items():
        fresh_table = fresh.t(base)
        sql.execute(f"DROP TABLE IF EXISTS {live_table}")
        sql.execute(f"ALTER TABLE {fresh_table} RENAME TO {live_table}")
    # Index names carry the suffix; recreate the live ones on the renamed tables.
    fresh.drop_indexes(sql)
    live.create(sql)
    sql.execute(
        f"SELECT position, events_applied FROM {TRACKING} WHERE name=?",
        (tracked_name(fresh),),
    )
    row = sql.fetchone()
    position, applied = row if row else (0, 0)
    sql.execute(
        f"UPDATE {TRACKING} SET position=?, events_applied=? WHERE name=?",
        (position, applied, tracked_name(live)),
    )
    sql.execute(f"DELETE FROM {TRACKING} WHERE name=?", (tracked_name(fresh),))


def _rows(sql: Sql, table: str, order_by: str) -> list[tuple[Any, ...]]:
    sql.execute(f"SELECT * FROM {table} ORDER BY {order_by}")
    return [tuple(row) for row in sql.fetchall()]


def _compare(sql: Sql, live: ReadModel, fresh: ReadModel) -> list[Difference]:
    differences = []
    for base in live.tables:
        order_by = live.order_by[base]
        width = len(order_by.split(","))
        # Keys come first in every table's column order, as order_by lists them.
        live_rows = {r[:width]: r for r in _rows(sql, live.t(base), order_by)}
        fresh_rows = {r[:width]: r for r in _rows(sql, fresh.t(base), order_by)}
        for key in sorted(live_rows.keys() | fresh_rows.keys(), key=repr):
            a, b = live_rows.get(key), fresh_rows.get(key)
            if a != b:
                differences.append(Difference(live.t(base), key, a, b))
    return differences


def _counts(sql: Sql, model: ReadModel) -> dict[str, int]:
    counts = {}
    for table in model.names().values():
        sql.execute(f"SELECT COUNT(*) FROM {table}")
        row = sql.fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
