"""Feeds read models the log in pages, exactly once, and follows it as it grows.

Each page (many positions) is applied in one transaction together with each model's
tracking row, so after a crash every model resumes exactly where its last committed
page ended: no event is lost or applied twice. The tracking row is read inside the
page's transaction (locked on PostgreSQL), so two runners on one database cannot both
apply a page either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from eventsourcing.persistence import PersistenceError

from domain.case import Case
from domain.ledger import JourneyLedger
from domain.officer import Officer
from projections.case_folder import AggregateFolder
from projections.database import ReadModelDatabase, Sql
from projections.read_model import Page, ReadModel, Recorded
from store.append_watch import AppendWatch
from store.seal import LogRow

PAGE_SIZE = 1_000
PAGE_INTERVAL = 0.02
"""While commits keep coming, a follower starts a page at most this often (seconds).
An idle log is followed at once; a busy one at most this late (read-your-writes
waits accordingly), in pages of every event committed meanwhile. Under 600
commands/s, pages of one or two events cost the follower and its database about
0.9 ms of CPU per command, on the CPUs the API shares."""
TRACKING = "read_model_positions"
RETRY_SECONDS = (0.1, 1.0)
"""A follower that loses the store retries after 0.1 s, doubling up to 1 s."""
log = logging.getLogger("journey_ledger.projections")


def create_tracking(sql: Sql) -> None:
    sql.execute(
        f"CREATE TABLE IF NOT EXISTS {TRACKING} ("
        "name TEXT PRIMARY KEY, position BIGINT NOT NULL, "
        "events_applied BIGINT NOT NULL)"
    )


def tracked_name(model: ReadModel) -> str:
    return model.name + model.suffix


def positions_channel(schema: str) -> str:
    """The PostgreSQL channel each page's commit notifies, so processes that serve
    the read models while another follows them (``ledger serve --workers`` beside
    ``ledger project``) know when to read the tracked positions again."""
    return f"{schema}_{TRACKING}"[:63]


class ProjectionRunner:
    def __init__(
        self,
        ledger: JourneyLedger,
        database: ReadModelDatabase,
        models: Sequence[ReadModel],
        *,
        page_size: int = PAGE_SIZE,
        page_interval: float = PAGE_INTERVAL,
        after_page: Callable[[int], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.database = database
        self.models = list(models)
        self.page_size = page_size
        self.page_interval = page_interval
        self.after_page = after_page
        self.folder = AggregateFolder(ledger)
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._append_watch: AppendWatch | None = None
        with database.transaction() as sql:
            create_tracking(sql)
            for model in self.models:
                model.create(sql)
                sql.execute(
                    f"INSERT INTO {TRACKING} (name, position, events_applied) "
                    "VALUES (?, 0, 0) ON CONFLICT (name) DO NOTHING",
                    (tracked_name(model),),
                )
        self.position = self._lowest_position()

    def _lowest_position(self) -> int:
        names = [self._tracked(m) for m in self.models]
        with self.database.transaction() as sql:
            sql.execute(
                f"SELECT name, position FROM {TRACKING} "
                f"WHERE name IN ({', '.join('?' * len(names))})",
                names,
            )
            positions = dict(sql.fetchall())
        return min((int(positions.get(n, 0)) for n in names), default=0)

    # --- catching up ------------------------------------------------------------------

    def catch_up(self, until: int | None = None) -> int:
        """Apply every recorded event (up to ``until``); return the position reached."""
        # Re-read: a rebuild may have swapped in tables at another position.
        self.position = self._lowest_position()
        while not self._stopping.is_set():
            limit = self.page_size
            if until is not None:
                limit = min(limit, until - self.position)
                if limit <= 0:
                    break
            rows = self._select(self.position, limit, until)
            if not rows:
                break
            self._apply(self._page(rows))
        return self.position

    def _tracked(self, model: ReadModel) -> str:
        """The name of the model's tracking row (a rebuild's parts have their own)."""
        return tracked_name(model)

    def _select(self, after: int, limit: int, until: int | None) -> list[LogRow]:
        # Positions are gapless, so ``limit`` alone keeps a page within ``until``.
        recorder: Any = self.ledger.recorder  # our store's sealed recorder
        rows: list[LogRow] = recorder.select_log_rows(after, limit)
        return rows

    def _page(self, rows: Sequence[LogRow]) -> Page:
        # A log row has every attribute the mapper reads of a StoredEvent.
        to_event = cast(Callable[[LogRow], Any], self.ledger.mapper.to_domain_event)
        page = Page([])
        for row in rows:
            event = to_event(row)
            version = row.originator_version
            if version == 1:
                page.born.add(event.originator_id)
            aggregate = self.folder.fold(event)
            data = None
            if isinstance(aggregate, Case):
                page.cases[aggregate.id] = aggregate
                # The fold made the event's data for the case's new fact: the
                # timeline encodes that dict rather than making it again.
                facts = aggregate.facts
                if facts and facts[-1]["version"] == version:
                    data = facts[-1]["fields"]
            elif isinstance(aggregate, Officer):
                page.officers[aggregate.id] = aggregate
            recorded = Recorded(row.position, row.leaf_hash, event, data)
            page.items.append(recorded)
            if data is not None:
                # The event is the fact, until a correction replaces its fields.
                page.folded.setdefault(aggregate.id, {})[version] = recorded
        return page

    def _apply(self, page: Page, *, follows: int | None = None) -> bool:
        """Apply ``page`` to every model not already past it, in one transaction.

        ``follows``: the position this runner believes the page follows on from.
        If a model's tracked position is lower (a rebuild swapped in tables built
        to an earlier position), nothing is applied, the runner moves back to the
        lowest tracked position, and False is returned: the gap is read next.
        """
        last = page.items[-1].position
        names = [self._tracked(m) for m in self.models]
        with self.database.transaction() as sql:
            # One read of every model's position (locked on PostgreSQL, so a second
            # runner waits) and one batch of updates: a page's bookkeeping is two
            # statements however many read models there are.
            marks = ", ".join("?" * len(names))
            lock = " FOR UPDATE" if self.database.dialect == "postgresql" else ""
            sql.execute(
                f"SELECT name, position FROM {TRACKING} WHERE name IN ({marks}){lock}",
                names,
            )
            done = {name: int(position) for name, position in sql.fetchall()}
            behind = min((done.get(name, 0) for name in names), default=0)
            if follows is not None and behind < follows:
                with self._changed:
                    self.position = behind
                return False
            updates = []
            for model, name in zip(self.models, names, strict=True):
                applied = done.get(name, 0)
                if applied >= last:
                    continue
                todo = page.after(applied)
                model.apply(sql, todo)
                updates.append((last, len(todo.items), name))
            sql.executemany(
                f"UPDATE {TRACKING} SET position=?, "
                "events_applied=events_applied+? WHERE name=?",
                updates,
            )
            schema = getattr(self.database, "schema", None)
            # Delivered when the page commits. A rebuild's fresh tables serve no one
            # until the swap: their pages tell no one.
            if schema is not None and not any(m.suffix for m in self.models):
                sql.notify(positions_channel(schema))
        with self._changed:
            self.position = last
            self._changed.notify_all()
        if self.after_page is not None:
            self.after_page(last)
        return True

    # --- following --------------------------------------------------------------------

    def follow(self) -> None:
        """Keep the read models current until :meth:`stop` (runs in this thread).

        If the store goes away (a ``PersistenceError`` while catching up or
        listening), the follower waits and starts again from its tracked position,
        until the store answers or :meth:`stop` is called: a follower in a
        long-running process outlives a database restart. Pages are atomic, so a
        page cut short by the outage is simply applied again.
        """
        shortest, longest = RETRY_SECONDS
        delay = shortest
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self._follow()
                return
            except PersistenceError as e:
                if time.monotonic() - started > longest:
                    delay = shortest  # it had been running: a new outage
                log.warning("read models: the store is unavailable (%s); retrying", e)
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, longest)

    def _follow(self) -> None:
        recorder: Any = self.ledger.recorder  # our store's recorders watch appends
        # Made before catching up, so a commit after the catch-up's last read wakes.
        with recorder.watch_appends() as watch:
            self._append_watch = watch
            if self._stopping.is_set():
                return
            # Where every model has got to (a rebuild may have moved them).
            self.position = self._lowest_position()
            while True:
                began = time.monotonic()
                self._follow_on()
                while not self._stopping.is_set() and self._head() > self.position:
                    # Commits came in while those pages were applied: the log is
                    # busy. Let more gather, so that a page carries many events and
                    # not one or two: a page costs mostly per page, not per event.
                    rest = began + self.page_interval - time.monotonic()
                    if rest > 0 and self._stopping.wait(rest):
                        return
                    began = time.monotonic()
                    self._follow_on()
                if not watch.wait():
                    return

    def _head(self) -> int:
        recorder: Any = self.ledger.recorder
        head: int | None = recorder.max_notification_id()
        return head or 0

    def _follow_on(self) -> None:
        """Apply what the log has grown by, to its head.

        Woken by a commit, the runner reads from its own position without reading
        the tracked positions first (each page checks them in its transaction), and
        a short page is the head: no read to find that nothing follows it.
        """
        while not self._stopping.is_set():
            rows = self._select(self.position, self.page_size, None)
            if not rows:
                return
            if not self._apply(self._page(rows), follows=self.position):
                continue  # moved back to fill a gap: read from there
            if len(rows) < self.page_size:
                return

    def start(self) -> threading.Thread:
        """Follow in a background thread."""
        thread = threading.Thread(target=self.follow, name="read-models", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stopping.set()
        if self._append_watch is not None:
            self._append_watch.stop()
        with self._changed:
            self._changed.notify_all()

    def refresh(self) -> int:
        """Read the tracked positions again and wake whoever waits: for a process
        whose read models another process follows (``ledger project``)."""
        position = self._lowest_position()
        with self._changed:
            self.position = position
            self._changed.notify_all()
        return position

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until the read models reach ``position`` (read-your-writes)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping.is_set():
                    return False
                self._changed.wait(remaining)
        return True
