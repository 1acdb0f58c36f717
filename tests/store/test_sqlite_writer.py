"""SQLite's write path: one writer connection and a frontier kept between saves.

A writer keeps the frontier it last wrote as a hint and sends it with the update, which
applies only if the stored frontier is still that one. These tests make the hint wrong
in every way it can be (another application on the same file, another connection, a
rolled-back save) and check that positions stay gapless and the seal right.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import (
    ConnectionPoolClosedError,
    IntegrityError,
    OperationalError,
    StoredEvent,
)

from store.merkle import Frontier
from store.sqlite import SealedSQLiteApplicationRecorder
from tests.store.notes import Note, Notes, notes_app
from tests.store.test_seal import assert_seal_is_consistent


class FrontierReads:
    """Counts how often a recorder reads the stored frontier in a write."""

    def __init__(self, recorder: SealedSQLiteApplicationRecorder) -> None:
        self.count = 0
        original = recorder._read_frontier

        def counting(c: Any) -> Frontier:
            self.count += 1
            return original(c)

        recorder._read_frontier = counting  # type: ignore[method-assign]


def recorder_of(app: Notes) -> SealedSQLiteApplicationRecorder:
    recorder = app.recorder
    assert isinstance(recorder, SealedSQLiteApplicationRecorder)
    return recorder


@pytest.fixture
def two_apps(sqlite_url: str) -> Iterator[tuple[Notes, Notes]]:
    first, second = notes_app(sqlite_url), notes_app(sqlite_url)
    yield first, second
    first.close()
    second.close()


def test_a_save_after_the_first_does_not_read_the_frontier(sqlite_url: str) -> None:
    app = notes_app(sqlite_url)
    reads = FrontierReads(recorder_of(app))
    for i in range(20):
        app.save(Note(f"n{i}"))
    assert reads.count == 1
    assert_seal_is_consistent(app.recorder)


def test_two_applications_on_one_file_writing_alternately(
    two_apps: tuple[Notes, Notes],
) -> None:
    first, second = two_apps
    reads = [FrontierReads(recorder_of(first)), FrontierReads(recorder_of(second))]
    positions = []
    for i in range(40):
        app = two_apps[i % 2]
        positions.append(app.save(Note(f"alternate{i}"))[0].notification.id)
    assert positions == list(range(1, 41))
    # Every save found its hint stale (the other application wrote last).
    assert [r.count for r in reads] == [20, 20]
    for app in two_apps:
        rows = assert_seal_is_consistent(app.recorder)
        assert len(rows) == 40


def test_runs_of_saves_from_two_applications(two_apps: tuple[Notes, Notes]) -> None:
    first, second = two_apps
    positions = []
    for run, app in enumerate([first, first, first, second, second, first, second]):
        for i in range(run + 1):
            positions.append(app.save(Note(f"run{run}-{i}"))[0].notification.id)
    assert positions == list(range(1, len(positions) + 1))
    assert_seal_is_consistent(first.recorder)
    assert recorder_of(first).frontier() == recorder_of(second).frontier()


def test_a_refused_save_leaves_no_hole_and_no_stale_hint(
    two_apps: tuple[Notes, Notes],
) -> None:
    first, second = two_apps
    first.save(Note("taken"))
    for app in (first, second):
        with pytest.raises(IntegrityError):
            app.save(Note("taken"))  # version 1 of the same id: refused
    positions = [
        first.save(Note("after")).pop().notification.id,
        second.save(Note("after, elsewhere")).pop().notification.id,
        first.save(Note("last")).pop().notification.id,
    ]
    assert positions == [2, 3, 4]
    assert len(assert_seal_is_consistent(first.recorder)) == 4


def test_a_write_by_another_recorder_is_noticed(sqlite_url: str) -> None:
    """Another datastore (its own connections, its own hint) on the same file."""
    app = notes_app(sqlite_url)
    recorder = recorder_of(app)
    app.save(Note("one"))
    other = SealedSQLiteApplicationRecorder(
        type(recorder.datastore)(recorder.datastore.pool.db_name)
    )
    other.insert_events([StoredEvent(uuid4(), 1, "elsewhere:Event", b"{}")])
    other.datastore.close()
    assert app.save(Note("three"))[0].notification.id == 3
    assert len(assert_seal_is_consistent(recorder)) == 3


def test_a_frontier_changed_to_the_same_size_is_noticed(sqlite_url: str) -> None:
    """The hint is checked on the stored hashes, not only the size."""
    app = notes_app(sqlite_url)
    recorder = recorder_of(app)
    app.save(Note("one"))
    app.save(Note("two"))
    path = recorder.datastore.pool.db_name
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE stored_events_frontier SET hashes = ?", (bytes(32),)
        )  # a corrupted (or restored) frontier of the same size
    reads = FrontierReads(recorder)
    app.save(Note("three"))
    assert reads.count == 1
    assert recorder.frontier().hashes[-1] != bytes(32)


def test_failures_are_the_library_errors_and_release_the_writer(
    sqlite_url: str,
) -> None:
    app = notes_app(sqlite_url)
    recorder = recorder_of(app)
    app.save(Note("one"))
    with pytest.raises(IntegrityError):
        recorder.insert_events(
            [StoredEvent(Note.create_id("one"), 1, "x:Y", b"{}")]  # taken version
        )
    # Another connection holds the write lock: BEGIN IMMEDIATE gives up.
    db_name = recorder.datastore.pool.db_name
    busy = SealedSQLiteApplicationRecorder(type(recorder.datastore)(db_name))
    busy.datastore.pool.lock_timeout = 0.01  # type: ignore[assignment]
    blocker = sqlite3.connect(db_name, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError):
        busy.insert_events([StoredEvent(uuid4(), 1, "x:Y", b"{}")])
    blocker.rollback()
    blocker.close()
    # Both writers still work: nothing was left locked or mid-transaction.
    busy.insert_events([StoredEvent(uuid4(), 1, "x:Y", b"{}")])
    busy.datastore.close()
    assert app.save(Note("two"))[0].notification.id == 3
    assert len(assert_seal_is_consistent(recorder)) == 3


def test_a_closed_store_refuses_writes_as_the_library_does(sqlite_url: str) -> None:
    app = notes_app(sqlite_url)
    app.save(Note("one"))
    app.close()
    with pytest.raises(ConnectionPoolClosedError):
        app.save(Note("two"))
