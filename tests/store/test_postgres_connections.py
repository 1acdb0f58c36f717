"""Connections: a dropped one is replaced on next use, and a lost save is resolved."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import psycopg2
import pytest
from eventsourcing.persistence import OperationalError, ProgrammingError

from store.postgres import PostgresApplicationRecorder
from store.postgres_pool import Psycopg2ConnectionPool
from tests.postgres_server import server_dsn
from tests.store.notes import Note, notes_app


def _terminate(pid: int) -> None:
    admin = psycopg2.connect(server_dsn())
    try:
        admin.autocommit = True
        with admin.cursor() as curs:
            curs.execute("SELECT pg_terminate_backend(%s)", (pid,))
    finally:
        admin.close()


def _pooled_backend(recorder: Any) -> int:
    ((pid,),) = recorder.datastore.query("SELECT pg_backend_pid()")
    return int(pid)


def test_a_connection_the_server_dropped_is_replaced_on_next_use(
    postgres_url: str,
) -> None:
    app = notes_app(postgres_url)
    recorder: Any = app.recorder
    app.save(Note("before"))

    _terminate(_pooled_backend(recorder))
    assert [n.id for n in recorder.select_notifications(start=None, limit=10)] == [1]

    _terminate(_pooled_backend(recorder))
    # The write finds its connection dead before anything was sent; it learns the
    # save did not commit, retries on a new connection, and succeeds.
    recordings = app.save(Note("after"))
    assert [r.notification.id for r in recordings] == [2]
    assert recorder.max_notification_id() == 2


def test_a_save_whose_reply_was_lost_is_reported_by_what_was_stored(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = notes_app(postgres_url)
    recorder: Any = app.recorder
    app.save(Note("first"))
    real_attempt = PostgresApplicationRecorder._attempt_save
    lost_replies = []

    def commit_then_lose_the_reply(self: Any, *args: Any) -> Any:
        outcome, positions = real_attempt(self, *args)
        if not lost_replies:
            lost_replies.append(positions)
            return "lost", []  # committed on the server; the reply never came
        return outcome, positions

    monkeypatch.setattr(
        PostgresApplicationRecorder, "_attempt_save", commit_then_lose_the_reply
    )
    recordings = app.save(Note("second"))
    # Not a false conflict, not a duplicate: the one save, at its one position.
    assert [r.notification.id for r in recordings] == [2]
    assert recorder.max_notification_id() == 2
    assert len(lost_replies) == 1


def test_a_save_that_cannot_learn_its_outcome_says_so(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = notes_app(postgres_url)
    recorder: Any = app.recorder
    datastore = recorder.datastore

    def lose_the_connection_and_the_server(self: Any, *args: Any) -> Any:
        # The connection drops mid-save and the server cannot be reached again.
        datastore.pool = Psycopg2ConnectionPool(
            replace(datastore.settings, port=1), pool_timeout=1.0
        )
        return "lost", []

    monkeypatch.setattr(
        PostgresApplicationRecorder, "_attempt_save", lose_the_connection_and_the_server
    )
    with pytest.raises(
        OperationalError, match=r"whether its 1 event\(s\) were committed"
    ):
        app.save(Note("unknowable"))


def test_a_store_made_before_the_append_function_says_how_to_add_it(
    postgres_url: str,
) -> None:
    app = notes_app(postgres_url)
    app.save(Note("before"))
    recorder: Any = app.recorder
    # As a database made by an earlier version looks, opened without creating.
    with recorder.datastore.pool.connection() as conn, conn.cursor() as curs:
        curs.execute(f"DROP FUNCTION {recorder.append_function}")
    app.close()

    unprepared = notes_app(postgres_url, CREATE_TABLE="no")
    with pytest.raises(ProgrammingError, match="start once with CREATE_TABLE=yes"):
        unprepared.save(Note("refused"))
    unprepared.close()

    prepared = notes_app(postgres_url)  # CREATE_TABLE defaults to yes
    recordings = prepared.save(Note("after"))
    assert [r.notification.id for r in recordings] == [2]
    prepared.close()
