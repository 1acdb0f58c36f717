"""An append watch wakes a follower when the log grows, whoever wrote, and stops."""

from __future__ import annotations

import threading
from typing import Any

from domain.ledger import JourneyLedger
from tests.ledgers import ledger_on, receive

LONG = 30.0
"""Far longer than any wake-up takes; a wait that needs it has already failed."""


def watch_of(ledger: JourneyLedger) -> Any:
    recorder: Any = ledger.recorder
    return recorder.watch_appends()


def test_a_commit_in_this_process_wakes_the_watch(ledger: JourneyLedger) -> None:
    with watch_of(ledger) as watch:
        assert not watch.wait(timeout=0)
        receive(ledger, "A1234BC")
        assert watch.wait(timeout=LONG)


def test_a_commit_by_another_writer_wakes_the_watch(
    ledger: JourneyLedger, store_url: str
) -> None:
    """Another ledger on the same store stands for another process (on SQLite, a
    connection of its own that never calls this recorder's wake-up)."""
    other = ledger_on(store_url)
    try:
        with watch_of(ledger) as watch:
            receive(other, "A1234BC")
            assert watch.wait(timeout=LONG)
    finally:
        other.close()


def test_stop_wakes_a_waiting_thread_and_later_waits_return_at_once(
    ledger: JourneyLedger,
) -> None:
    with watch_of(ledger) as watch:
        answers: list[bool] = []
        waiting = threading.Thread(target=lambda: answers.append(watch.wait()))
        waiting.start()
        watch.stop()
        waiting.join(timeout=LONG)
        assert not waiting.is_alive()
        assert answers == [False]
        receive(ledger, "A1234BC")
        assert not watch.wait()
        assert watch.stopped
