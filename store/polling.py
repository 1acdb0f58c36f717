"""A subscription for stores without a push channel: poll; wake early on local writes.

Built on the library's ListenNotifySubscription (its pull thread and queue), with a
thread that checks the log's size every ``interval`` seconds in place of a LISTEN
connection. Writers in the same process also call :meth:`wake` after they commit, so a
local follower sees a new event without waiting for the next poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from threading import Event, Thread
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, ListenNotifySubscription


class PollingSubscription(ListenNotifySubscription[ApplicationRecorder]):
    def __init__(
        self,
        recorder: ApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
        *,
        interval: float = 0.05,
    ) -> None:
        self._interval = interval
        self._stopping = Event()
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._poll_thread = Thread(target=self._poll, daemon=True)
        self._poll_thread.start()

    def wake(self) -> None:
        """Called by a local writer after it commits: pull now."""
        self._has_been_notified.set()

    def stop(self) -> None:
        self._stopping.set()
        super().stop()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._poll_thread.join()

    def _poll(self) -> None:
        seen = self._recorder.max_notification_id() or 0
        # A write committed between the first pull and the line above raised the log
        # past ``seen`` unheard (its writer's wake may have come before this
        # subscription was registered): pull once more now that the poll has a base.
        self._has_been_notified.set()
        try:
            while not self._stopping.wait(self._interval):
                latest = self._recorder.max_notification_id() or 0
                if latest > seen:
                    seen = latest
                    self._has_been_notified.set()
        except BaseException as e:  # surfaced to the iterating thread by stop()
            if self._thread_error is None:
                self._thread_error = e
            self.stop()
