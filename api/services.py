"""What the API's routes use: the ledger, the read models and their follower."""

from __future__ import annotations

import logging
import os
import select
import threading
from dataclasses import dataclass, field

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
    """The thread that keeps ``runner.position`` current, so that waiting for a
    position can succeed: the follower applying the log in this process, or, when
    ``ledger project`` follows elsewhere, a :class:`PositionWatch` (PostgreSQL)."""
    watch: PositionWatch | None = field(default=None)

    @classmethod
    def open(cls, url: str | None = None, *, follow: bool = True) -> Services:
        ledger = open_ledger(url)
        database = open_database(environment_for(url))
        runner = ProjectionRunner(ledger, database, all_models())
        services = cls(ledger, database, runner, ReadModelQueries(database))
        if follow:
            services.follower = runner.start()
        elif isinstance(database, PostgresDatabase):
            services.watch = PositionWatch(runner, database)
            services.follower = services.watch.thread
        return services

    def close(self) -> None:
        self.runner.stop()
        if self.watch is not None:
            self.watch.stop()
        if self.follower is not None:
            self.follower.join(timeout=5)
        self.database.close()
        self.ledger.close()


class PositionWatch:
    """Keeps a runner's position current while another process applies the pages
    (``ledger project``): it listens on the channel each page's commit notifies and
    reads the tracked positions again on each notification, so read-your-writes and
    /readyz see the shared read models' progress as soon as it commits."""

    def __init__(self, runner: ProjectionRunner, database: PostgresDatabase) -> None:
        self.runner = runner
        self.settings = database.settings
        self.channel = positions_channel(database.schema)
        self._stopping = threading.Event()
        self._wake_read, self._wake_write = os.pipe()
        self.thread = threading.Thread(
            target=self._watch, name="read-model-positions", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        os.write(self._wake_write, b"x")
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            os.close(self._wake_read)
            os.close(self._wake_write)

    def _watch(self) -> None:
        shortest, longest = RETRY_SECONDS
        delay = shortest
        while not self._stopping.is_set():
            try:
                self._listen()
            except (psycopg2.Error, PersistenceError) as e:
                log.warning("read-model positions: %s; listening again", e)
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, longest)

    def _listen(self) -> None:
        conn = connect(self.settings)
        try:
            with conn.cursor() as cursor:
                cursor.execute(f'LISTEN "{self.channel}"')
            # Pages committed before LISTEN notified no one: read the positions now.
            self.runner.refresh()
            while not self._stopping.is_set():
                ready, _, _ = select.select([conn.fileno(), self._wake_read], [], [])
                if conn.fileno() in ready:
                    conn.poll()
                    if conn.notifies:
                        # One read for however many pages committed meanwhile.
                        conn.notifies.clear()
                        self.runner.refresh()
        finally:
            conn.close()


async def services(request: Request) -> Services:
    """A route dependency: the app's services.

    A coroutine, though it never awaits: FastAPI runs a plain function dependency in
    its thread pool, a hand-off to a worker thread and back on every request."""
    found: Services = request.app.state.services
    return found
