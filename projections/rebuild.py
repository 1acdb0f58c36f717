"""Rebuild read models from position 0 without downtime, or check them.

A rebuild writes fresh tables (suffix ``__rebuild``) beside the live ones, which keep
serving, then swaps them in with one transaction: drop the live tables, rename the
fresh ones, move the tracking position. A follower that was ahead re-reads its
position on its next page and fills the gap. ``check`` builds the fresh tables to
the live ones' position and lists every row that differs.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from domain.ledger import JourneyLedger
from projections.catalogue import READ_MODELS
from projections.database import PostgresDatabase, ReadModelDatabase, Sql
from projections.read_model import ReadModel
from projections.runner import PAGE_SIZE, TRACKING, ProjectionRunner, tracked_name
from store.seal import LogRow

REBUILD_SUFFIX = "__rebuild"
MAX_LISTED = 20
MAX_WORKERS = 4
"""Each part's reader walks the whole log to find its events: a few parts at most."""
PART_MARK = "#part"
_PR_SET_PDEATHSIG = 1


@contextmanager
def no_collections() -> Iterator[None]:
    """Turn the cyclic garbage collector off for a while.

    A rebuild keeps every aggregate it folds (each case with its facts: hundreds of
    thousands of containers), and each collection walks the ones that arrived since
    the last again: even at a threshold of 100,000 that was a twentieth of a
    rebuild's CPU time. A rebuild makes no reference cycles (a collection after a
    full rebuild of the bench's estate, with the collector off, found none), so
    all it throws away is freed by reference counting; what aggregates it keeps is
    bounded by the folder's cache, not by the collector.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
        name = tracked_name(model)
        # With the tracking rows of any parts a killed rebuild left behind.
        sql.execute(
            f"DELETE FROM {TRACKING} WHERE name=? OR name LIKE ? ESCAPE '!'",
            (name, _like_prefix(part_name(name, None))),
        )


def _like_prefix(prefix: str) -> str:
    return "".join("!" + c if c in "!%_" else c for c in prefix) + "%"


class RebuildRunning(RuntimeError):
    """Another rebuild holds the database's rebuild lock."""


def rebuild(
    ledger: JourneyLedger,
    database: ReadModelDatabase,
    names: Sequence[str],
    *,
    check: bool = False,
    after_page: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> RebuildReport:
    """Build ``names`` afresh from position 0, then swap them in (or ``check``).

    On PostgreSQL the log is shared among ``workers`` processes (default: one per
    CPU, at most ``MAX_WORKERS``), each applying the events of its part of the
    aggregates (see :func:`_build_in_parts`). One rebuild runs at a time per
    database (:class:`RebuildRunning` if another holds it).
    """
    with database.exclusive("rebuild") as held:
        if not held:
            # Two rebuilds swapping the same tables deadlock or fail half way.
            raise RebuildRunning(
                "a rebuild is already running on this database; wait for it to "
                "finish, then run this one again"
            )
        with no_collections():
            return _rebuild(
                ledger,
                database,
                names,
                check=check,
                after_page=after_page,
                workers=workers,
            )


def _rebuild(
    ledger: JourneyLedger,
    database: ReadModelDatabase,
    names: Sequence[str],
    *,
    check: bool,
    after_page: Callable[[int], None] | None,
    workers: int | None,
) -> RebuildReport:
    fresh = [READ_MODELS[name](REBUILD_SUFFIX) for name in names]
    live = [READ_MODELS[name]() for name in names]
    # The live tables must exist (and so have a tracking row) before comparing.
    live_runner = ProjectionRunner(ledger, database, live)
    with database.transaction() as sql:
        _drop_rebuild(sql, fresh)
    runner = ProjectionRunner(ledger, database, fresh, after_page=after_page)
    head = ledger.recorder.max_notification_id() or 0
    parts = _parts(database, head, workers)
    if parts > 1:
        _build_in_parts(ledger, database, fresh, parts, head, after_page)
    # Alone, or after the parts: whatever the log gained meanwhile.
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


# --- a rebuild in parts ---------------------------------------------------------------


class RebuildError(RuntimeError):
    pass


def part_name(name: str, part: tuple[int, int] | None) -> str:
    """The tracking row of part ``(k, n)`` of a rebuild (``None``: what all share)."""
    if part is None:
        return name + PART_MARK
    return f"{name}{PART_MARK}{part[0]}of{part[1]}"


def _parts(database: ReadModelDatabase, head: int, workers: int | None) -> int:
    if not isinstance(database, PostgresDatabase):
        return 1  # SQLite takes one writer at a time: parts would only queue
    if threading.active_count() > 1:
        return 1  # fork only a process with one thread (no lock held by another)
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
    # A part of less than a page is not worth a process.
    return max(1, min(workers, head // PAGE_SIZE))


class _PartRunner(ProjectionRunner):
    """Applies the events of one part of the aggregates, tracked in rows of its own.

    Every event of an aggregate is in the same part, and every row a read model
    writes comes from one aggregate's events, so parts never write the same rows.
    """

    def __init__(
        self,
        ledger: JourneyLedger,
        database: ReadModelDatabase,
        models: Sequence[ReadModel],
        part: tuple[int, int],
        after_page: Callable[[int], None] | None,
    ) -> None:
        self.part = part
        super().__init__(ledger, database, models, after_page=after_page)
        with database.transaction() as sql:
            sql.executemany(
                f"INSERT INTO {TRACKING} (name, position, events_applied) "
                "VALUES (?, 0, 0) ON CONFLICT (name) DO NOTHING",
                [(self._tracked(model),) for model in self.models],
            )

    def _tracked(self, model: ReadModel) -> str:
        return part_name(tracked_name(model), self.part)

    def _select(self, after: int, limit: int, until: int | None) -> list[LogRow]:
        # A page of the part is looked for in a window of positions at a time,
        # about as many as hold a page of it.
        assert until is not None
        recorder: Any = self.ledger.recorder
        while after < until:
            window = min(self.page_size * self.part[1], until - after)
            rows: list[LogRow] = recorder.select_log_rows(after, window, part=self.part)
            if rows:
                return rows
            after += window  # positions are gapless: the window held none of ours
        return []


def _build_in_parts(
    ledger: JourneyLedger,
    database: ReadModelDatabase,
    models: Sequence[ReadModel],
    parts: int,
    until: int,
    after_page: Callable[[int], None] | None,
) -> None:
    """Apply the log up to ``until`` in ``parts`` processes, then track it as one.

    Reading, decoding, folding and making rows all take CPU in Python, one core per
    process; a part is every event of the aggregates whose id hashes to it (the
    store selects them), so each process folds only its own aggregates. Forked
    children build every part, each on its own connections, while this process
    waits: a part built here would leave its aggregates to be freed one by one
    before the merge (40-50 ms), where a child leaves them with the process.
    Each part's pages commit with the part's own tracking rows, exactly once as
    ever; when all have reached ``until``, one transaction turns their rows into
    the models' own at ``until``, events applied summed.
    """
    context = multiprocessing.get_context("fork")
    children: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    try:
        for k in range(parts):
            receiver, sender = context.Pipe(duplex=False)
            started = context.Process(
                target=_part_process,
                args=(ledger, database, models, (k, parts), until, after_page),
                kwargs={"report": sender, "parent": os.getpid()},
                name=f"rebuild-part-{k}",
                daemon=True,
            )
            started.start()
            sender.close()
            children.append((started, receiver))
        for child, receiver in children:
            try:
                failure = receiver.recv()
            except EOFError:
                failure = f"exited with {child.exitcode}"
            child.join()
            if failure is not None:
                raise RebuildError(f"{child.name}: {failure}")
    finally:
        for child, receiver in children:
            if child.is_alive():
                child.kill()
                child.join()
            receiver.close()
    _merge_parts(database, models, parts, until)


def _part_process(
    ledger: JourneyLedger,
    database: ReadModelDatabase,
    models: Sequence[ReadModel],
    part: tuple[int, int],
    until: int,
    after_page: Callable[[int], None] | None,
    *,
    report: Connection,
    parent: int,
) -> None:
    """A forked part. The parent's connections are copies of its sockets here: never
    used or closed; the part opens its own."""
    _die_with(parent)

    def on_page(position: int) -> None:
        if os.getppid() != parent:  # where the parent's death sends no signal
            os._exit(1)
        if after_page is not None:
            after_page(position)

    try:
        own_ledger = JourneyLedger(env=ledger.env)
        assert isinstance(database, PostgresDatabase)
        own_database = PostgresDatabase(database.settings, database.schema)
        try:
            runner = _PartRunner(own_ledger, own_database, models, part, on_page)
            runner.catch_up(until)
        finally:
            own_database.close()
            own_ledger.close()
    except BaseException as e:
        report.send(f"{type(e).__name__}: {e}")
        raise
    report.send(None)
    # The part's pages are committed and reported. Its memory (every aggregate it
    # folded) goes with the process: freeing it object by object took 40-70 ms,
    # which the parent spent waiting to join.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _die_with(parent: int) -> None:
    """A part must not outlive the rebuild that forked it: a rebuild killed midway
    starts over, dropping the tables a stray part would go on writing to."""
    # Not on Linux (no prctl): the part checks its parent after each page instead.
    with suppress(OSError, AttributeError):
        # The process's own symbols: libc's on Linux (finding libc by name would
        # run ldconfig in a subprocess).
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


def _merge_parts(
    database: ReadModelDatabase, models: Sequence[ReadModel], parts: int, until: int
) -> None:
    with database.transaction() as sql:
        for model in models:
            name = tracked_name(model)
            names = [part_name(name, (k, parts)) for k in range(parts)]
            marks = ", ".join("?" * parts)
            sql.execute(
                f"SELECT events_applied FROM {TRACKING} WHERE name IN ({marks})", names
            )
            applied = [int(row[0]) for row in sql.fetchall()]
            if len(applied) != parts:
                raise RebuildError(f"{name}: {len(applied)} of {parts} parts tracked")
            sql.execute(
                f"UPDATE {TRACKING} SET position=?, events_applied=? WHERE name=?",
                (until, sum(applied), name),
            )
            sql.execute(f"DELETE FROM {TRACKING} WHERE name IN ({marks})", names)


def _swap(sql: Sql, dialect: str, live: ReadModel, fresh: ReadModel) -> None:
    for base, live_table in live.names().items():
        fresh_table = fresh.t(base)
        sql.execute(f"DROP TABLE IF EXISTS {live_table}")
        sql.execute(f"ALTER TABLE {fresh_table} RENAME TO {live_table}")
    # Index names carry the suffix. PostgreSQL renames them (building an index
    # again costs more than any other statement of the swap); SQLite cannot, so
    # there the fresh ones are dropped and the live ones built on the new tables.
    if dialect == "postgresql":
        for index in live.indexes:
            fresh_index, live_index = fresh.t(index.name), live.t(index.name)
            sql.execute(f"ALTER INDEX IF EXISTS {fresh_index} RENAME TO {live_index}")
    else:
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
    for table in live.tables:
        # Every table's key leads its columns (``Table`` insists).
        width, order_by = len(table.key), table.order_by
        live_rows = {r[:width]: r for r in _rows(sql, live.t(table.name), order_by)}
        fresh_rows = {r[:width]: r for r in _rows(sql, fresh.t(table.name), order_by)}
        for key in sorted(live_rows.keys() | fresh_rows.keys(), key=repr):
            a, b = live_rows.get(key), fresh_rows.get(key)
            if a != b:
                differences.append(Difference(live.t(table.name), key, a, b))
    return differences


def _counts(sql: Sql, model: ReadModel) -> dict[str, int]:
    counts = {}
    for table in model.names().values():
        sql.execute(f"SELECT COUNT(*) FROM {table}")
        row = sql.fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
