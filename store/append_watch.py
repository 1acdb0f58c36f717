"""Waking a follower when the log may have grown, and nothing more.

A follower that reads the log itself, in pages of its own choosing (the read models'
runner), needs only to know *when* to look. The library's subscriptions also select
each new notification, state and all, for every commit: under load that was a second
read of every event, and a query per commit, beside the follower's own page reads.

- :class:`PostgresAppendWatch`: LISTEN on the events table's channel, on a connection
  of its own; the waiting thread blocks in ``select()`` on that connection (no thread
  of its own, no query).
- :class:`PollingAppendWatch` (SQLite): woken at once by writers in this process, and
  every ``interval`` seconds it compares the log's size with the size it saw last,
  for writers in other processes.

A follower makes its watch *before* it catches up, so a commit after the catch-up's
last read always wakes it.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import psycopg2
import psycopg2.extensions

from store.postgres_pool import ConnectionSettings, connect, library_error


class AppendWatch(Protocol):
    def wait(self, timeout: float | None = None) -> bool:
        """Block until the log may have grown since the last wait returned True (or
        since the watch was made), or until ``timeout``; False if it timed out or
        the watch was stopped."""

    def stop(self) -> None:
        """Wake a waiting thread and make every later wait return False at once."""

    @property
    def stopped(self) -> bool: ...

    def __enter__(self) -> AppendWatch: ...

    def __exit__(self, *args: object) -> None: ...


class PostgresAppendWatch:
    """LISTEN on ``channel``; each commit's NOTIFY is a wake-up, read in ``wait``."""

    def __init__(self, settings: ConnectionSettings, channel: str) -> None:
        self._stopped = False
        self._conn = connect(settings)
        try:
            with self._conn.cursor() as cursor:
                cursor.execute(f"LISTEN {channel}")
        except psycopg2.Error as e:
            self._conn.close()
            raise library_error(e) from e
        self._stop_read, self._stop_write = os.pipe()
        self._closing = threading.Lock()  # stop() from another thread, close() here

    @property
    def stopped(self) -> bool:
        return self._stopped

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        conn = self._conn
        try:
            while not self._stopped:
                if conn.notifies:
                    # However many commits notified, one wake-up: the follower reads
                    # to the head of the log anyway.
                    conn.notifies.clear()
                    return True
                remaining = None
                if deadline is not None:
                    remaining = max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select(
                    [conn.fileno(), self._stop_read], [], [], remaining
                )
                if not ready:
                    return False
                if conn.fileno() in ready:
                    conn.poll()  # reads the notifications; raises if the server went
        except psycopg2.Error as e:
            raise library_error(e) from e
        return False

    def stop(self) -> None:
        with self._closing:
            if not self._stopped:
                self._stopped = True
                os.write(self._stop_write, b"x")

    def close(self) -> None:
        self.stop()
        with self._closing:
            self._conn.close()
            os.close(self._stop_read)
            os.close(self._stop_write)

    def __enter__(self) -> PostgresAppendWatch:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


class PollingAppendWatch:
    """For a store with no push channel: local writers call :meth:`wake`; other
    processes' writes are seen by comparing the log's size every ``interval``."""

    def __init__(self, log_size: Callable[[], int], interval: float) -> None:
        self._log_size = log_size
        self._interval = interval
        self._seen = log_size()
        self._woken = threading.Event()
        self._stopped = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    def wake(self, size: int) -> None:
        """Called by a writer in this process after it commits: the log's size is
        now at least ``size`` (so the next poll does not wake for it again)."""
        self._seen = max(self._seen, size)
        self._woken.set()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stopped:
            pause = self._interval
            if deadline is not None:
                pause = min(pause, max(0.0, deadline - time.monotonic()))
            if self._woken.wait(pause):
                self._woken.clear()
                return not self._stopped
            size = self._log_size()
            if size > self._seen:
                self._seen = size
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return False

    def stop(self) -> None:
        self._stopped = True
        self._woken.set()

    def __enter__(self) -> PollingAppendWatch:
        return self

    def __exit__(self, *args: Any) -> None:
        self.stop()
