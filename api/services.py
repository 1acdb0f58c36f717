"""What the API's routes use: the ledger, the read models and their follower."""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg2
from eventsourcing.persistence import PersistenceError
from fastapi import Request

from api.wiring import open_ledger
from domain.ledger import JourneyLedger
from projections.catalogue import all_models
from projections.database import PostgresDatabase, ReadModelDatabase, open_database
from projections.queries import ReadModelQueries
from projections.runner import ProjectionRunner, positions_channel
from store.config import environment_for
from store.postgres_pool import connect

log = logging.getLogger("journey_ledger.api")
RETRY_SECONDS = (0.1, 1.0)


@dataclass
class Services:
    ledger: JourneyLedger
    database: ReadModelDatabase
    runner: ProjectionRunner
    queries: ReadModelQueries
    follower: threading.Thread | None = field(default=None)
    """The thread that keeps the read models' position known here, so that waiting
    for a position can succeed: the follower applying the log in this process, or,
    when ``ledger project`` follows elsewhere, a :class:`WatchedRunner`'s watch."""

    @classmethod
    def open(cls, url: str | None = None, *, follow: bool = True) -> Services:
        ledger = open_ledger(url)
        database = open_database(environment_for(url))
        if not follow and isinstance(database, PostgresDatabase):
            watched = WatchedRunner(ledger, database, all_models())
            services = cls(ledger, database, watched, ReadModelQueries(database))
            services.follower = watched.watch()
            return services
        runner = ProjectionRunner(ledger, database, all_models())
        services = cls(ledger, database, runner, ReadModelQueries(database))
        if follow:
            services.follower = runner.start()
        return services

    def read_model_position(self) -> int:
        """Where the read models are now (for /readyz)."""
        if isinstance(self.runner, WatchedRunner):
            return self.runner.current_position()
        return self.runner.position

    def close(self) -> None:
        self.runner.stop()
        if self.follower is not None:
            self.follower.join(timeout=5)
        self.database.close()
        self.ledger.close()


class WatchedRunner(ProjectionRunner):
    """The read models' position in a process that does not apply pages, while
    another does (``ledger project``, beside ``ledger serve --workers``).

    A thread listens on the channel each page's commit notifies, and only marks the
    known position stale: it is read again from the tracking rows when someone asks
    (a read-your-writes wait, /readyz), not on every page. Under load the follower
    commits a page every few commands, and reading the positions on each was a
    query per page in every worker."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        database = self.database
        assert isinstance(database, PostgresDatabase)
        self.settings = database.settings
        self.channel = positions_channel(database.schema)
        self._stale = True
        self._notified = threading.Condition()
        self._wake_read, self._wake_write = os.pipe()
        self._thread: threading.Thread | None = None

    def watch(self) -> threading.Thread:
        self._thread = threading.Thread(
            target=self._watch, name="read-model-positions", daemon=True
        )
        self._thread.start()
        return self._thread

    def current_position(self) -> int:
        with self._notified:
            stale, self._stale = self._stale, False
        if stale:
            try:
                self.refresh()
            except PersistenceError:
                self._mark_stale()
                raise
            with self._notified:
                self._notified.notify_all()  # for waiters a read by another reached
        return self.position

    def wait_for(self, position: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.current_position() < position:
            with self._notified:
                while not self._stale and self.position < position:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._stopping.is_set():
                        return False
                    self._notified.wait(remaining)
        return True

    def stop(self) -> None:
        stopping = self._stopping.is_set()
        super().stop()
        with self._notified:
            self._notified.notify_all()
        if stopping:
            return
        os.write(self._wake_write, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
            if self._thread.is_alive():
                return  # leave its descriptors open rather than close them under it
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _mark_stale(self) -> None:
        with self._notified:
            self._stale = True
            self._notified.notify_all()

    def _watch(self) -> None:
        shortest, longest = RETRY_SECONDS
        delay = shortest
        while not self._stopping.is_set():
            try:
                self._listen()
            except (psycopg2.Error, PersistenceError) as e:
                log.warning("read-model positions: %s; listening again", e)
                self._mark_stale()
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, longest)

    def _listen(self) -> None:
        conn = connect(self.settings)
        try:
            with conn.cursor() as cursor:
                cursor.execute(f'LISTEN "{self.channel}"')
            # Pages committed before LISTEN notified no one.
            self._mark_stale()
            while not self._stopping.is_set():
                ready, _, _ = select.select([conn.fileno(), self._wake_read], [], [])
                if conn.fileno() in ready:
                    conn.poll()
                    if conn.notifies:
                        conn.notifies.clear()
                        self._mark_stale()
        finally:
            conn.close()


async def services(request: Request) -> Services:
    """A route dependency: the app's services.

    A coroutine, though it never awaits: FastAPI runs a plain function dependency in
    its thread pool, a hand-off to a worker thread and back on every request."""
    found: Services = request.app.state.services
    return found
