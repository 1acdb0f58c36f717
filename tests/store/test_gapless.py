"""Positions are gapless and never overtaken: a tailing reader misses nothing.

The store assigns positions under its write lock (PostgreSQL: LOCK TABLE ... IN
EXCLUSIVE MODE; SQLite: BEGIN IMMEDIATE) from the log's committed size, so a
rolled-back save leaves no hole and a reader that has seen position n can trust that
n + 1 is the next event anyone will ever commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from eventsourcing.persistence import IntegrityError

from tests.store.notes import Note, notes_app

SAVES_PER_WRITER = 400
CONFLICT_EVERY = 50
WRITERS = {"sqlite": 4, "postgres": 8}


def _run_writers(writers: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(w: int) -> None:
        try:
            work(w)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_tailing_reader_misses_nothing_while_writers_conflict(
    store: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{store}_url")
    app = notes_app(url)
    writers = WRITERS[store]
    recorder = app.recorder
    conflicts: list[str] = []
    acknowledged: list[int] = []
    done = threading.Event()

    def write(w: int) -> None:
        for i in range(SAVES_PER_WRITER):
            recordings = app.save(Note(f"writer{w}-{i}"))
            acknowledged.append(recordings[0].notification.id)
            if i % CONFLICT_EVERY == CONFLICT_EVERY - 1:
                # Opening the same name again collides on version 1 and is refused;
                # the rolled-back save must not use up a position.
                with pytest.raises(IntegrityError):
                    app.save(Note(f"writer{w}-{i}"))
                conflicts.append(f"writer{w}-{i}")

    seen: list[int] = []
    out_of_order: list[tuple[int, int]] = []

    def tail() -> None:
        last = 0
        while True:
            finished = done.is_set()  # read before selecting, so nothing is missed
            batch = recorder.select_notifications(
                start=last, limit=100, inclusive_of_start=False
            )
            for n in batch:
                if n.id != last + 1:
                    out_of_order.append((last, n.id))
                last = n.id
                seen.append(n.id)
            if finished and not batch:
                return

    reader = threading.Thread(target=tail)
    reader.start()
    try:
        errors = _run_writers(writers, write)
    finally:
        done.set()
        reader.join()
    assert errors == []

    total = writers * SAVES_PER_WRITER
    assert len(conflicts) == writers * (SAVES_PER_WRITER // CONFLICT_EVERY)
    assert out_of_order == [], "the reader saw a position before the one it follows"
    assert seen == list(range(1, total + 1))
    assert sorted(acknowledged) == list(range(1, total + 1))
    assert recorder.max_notification_id() == total


def test_subscription_delivers_every_event_in_order(store_url: str) -> None:
    """What the library's projection runners consume: LISTEN/NOTIFY or polling."""
    app = notes_app(store_url)
    writers, per_writer = 4, 50
    received: list[int] = []
    with app.recorder.subscribe(gt=0) as subscription:

        def write(w: int) -> None:
            for i in range(per_writer):
                app.save(Note(f"s{w}-{i}"))

        errors = _run_writers(writers, write)
        assert errors == []
        for notification in subscription:
            received.append(notification.id)
            if len(received) == writers * per_writer:
                break
    assert received == list(range(1, writers * per_writer + 1))


def test_failed_multi_event_save_is_all_or_nothing(store_url: str) -> None:
    app = notes_app(store_url)
    app.save(Note("taken"))
    fresh = Note("fresh")
    fresh.amend("second event")
    with pytest.raises(IntegrityError):
        app.save(fresh, Note("taken"))  # second aggregate collides
    assert app.recorder.max_notification_id() == 1
    assert list(app.events.get(fresh.id)) == []
    # The refused save used up no positions: the next one takes position 2.
    recordings = app.save(Note("after"))
    assert [r.notification.id for r in recordings] == [2]
