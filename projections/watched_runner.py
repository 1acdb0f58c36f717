"""The read models' position in a process that serves them while another process
follows the log (``ledger serve --workers`` beside ``ledger project``, PostgreSQL).

The follower's every page commit notifies a channel named for the schema
(``projections.runner.positions_channel``); this runner LISTENs on it and reads the
tracked positions again only when someone asks, so read-your-writes waits and
readiness reflect the shared read models, woken by the notification, never by a
fixed sleep.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from typing import Any

import psycopg2
from eventsourcing.persistence import PersistenceError

from projections.database import PostgresDatabase
from projections.runner import ProjectionRunner, positions_channel
from store.postgres_pool import connect

log = logging.getLogger("journey_ledger.projections")
RETRY_SECONDS = (0.1, 1.0)
"""The first and the longest pause before listening again after a failure."""


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
