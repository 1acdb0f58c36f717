"""SQLite's subscription polls, and wakes early on local writes; it must never miss one.

The window that matters: a write commits after the subscription's first pull but
before its poller reads the log's size, and its writer's wake comes before the
subscription is registered. The poller then takes that write as already seen; unless
it pulls once more, the event waits for the next write, however long that is.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from eventsourcing.persistence import Notification

from store.polling import PollingSubscription
from tests.store.notes import Note, notes_app

NEVER = 3600.0
"""A poll interval no test waits for: only the subscription's own pulls count."""


class WriteInTheWindow:
    """The real recorder, except that the poller's first look at the log's size
    waits for the first pull to finish and lets a write commit just before it."""

    def __init__(self, recorder: Any, write: Any) -> None:
        self._recorder = recorder
        self._write = write
        self._pulled = threading.Event()
        self._written = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._recorder, name)

    def select_notifications(self, *args: Any, **kwargs: Any) -> list[Notification]:
        try:
            return list(self._recorder.select_notifications(*args, **kwargs))
        finally:
            self._pulled.set()

    def max_notification_id(self) -> int | None:
        if not self._written:
            self._written = True
            assert self._pulled.wait(10)
            self._write()
        result: int | None = self._recorder.max_notification_id()
        return result


def test_a_write_between_first_pull_and_first_poll_is_delivered(
    sqlite_url: str,
) -> None:
    app = notes_app(sqlite_url)
    app.save(Note("before"))
    recorder = WriteInTheWindow(app.recorder, lambda: app.save(Note("in the window")))
    got: queue.Queue[int] = queue.Queue()
    subscription = PollingSubscription(recorder, gt=1, interval=NEVER)

    def follow() -> None:
        with subscription:
            for notification in subscription:
                got.put(notification.id)
                break

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        assert got.get(timeout=10) == 2
    finally:
        subscription.stop()
        follower.join(timeout=10)
