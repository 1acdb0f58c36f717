"""The embedded store: the library's SQLite module with gapless positions and the seal.

Everything the library's SQLite module does well is kept (its connection pool, WAL
mode, tracking and snapshot recorders). What changes is the application recorder:

- Positions are assigned in the write transaction as the log's size + 1 (the size is
  the frontier row, equal to MAX(notification_id)), under ``BEGIN IMMEDIATE``, which
  takes SQLite's write lock before reading anything. A rolled-back write assigns
  nothing, so there are no holes.
- Each row carries its leaf hash and the interior nodes it completed, and the one-row
  frontier table advances in the same transaction (see ``store.seal``).
- ``subscribe()`` polls (``SQLITE_POLL_INTERVAL``, default 0.05 s) and is woken at once
  by writes from the same process.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing import sqlite as es_sqlite
from eventsourcing.persistence import (
    Notification,
    OperationalError,
    StoredEvent,
    Subscription,
)
from eventsourcing.utils import Environment, EnvType

from store.merkle import Frontier
from store.notification_query import notification_query
from store.polling import PollingSubscription
from store.seal import SealedRow, seal_rows

DEFAULT_POLL_INTERVAL = 0.05


class _WriteLockedTransaction(es_sqlite.SQLiteTransaction):
    """A transaction that takes the database write lock first when it will commit.

    With the library's plain (deferred) BEGIN, two writers can both read the log size
    and then race to upgrade their locks; BEGIN IMMEDIATE makes the read of the size
    and the insert one critical section, across threads and processes alike.
    """

    def __enter__(self) -> es_sqlite.SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if self.commit else "BEGIN")
        except sqlite3.OperationalError as e:
            cursor.sqlite_cursor.close()
            raise OperationalError(e) from e
        return cursor


class SealedSQLiteDatastore(es_sqlite.SQLiteDatastore):
    def __init__(
        self,
        db_name: str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        **kwargs: Any,
    ) -> None:
        super().__init__(db_name, **kwargs)
        self.poll_interval = poll_interval

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[es_sqlite.SQLiteCursor]:
        connection = self.get_connection(commit=commit)
        with (
            connection as conn,
            _WriteLockedTransaction(conn, commit=commit) as curs,
            curs,
        ):
            yield curs


class SealedSQLiteApplicationRecorder(es_sqlite.SQLiteApplicationRecorder):
    datastore: SealedSQLiteDatastore

    def __init__(
        self,
        datastore: es_sqlite.SQLiteDatastore,
        events_table_name: str = "stored_events",
    ) -> None:
        self.frontier_table_name = f"{events_table_name}_frontier"
        super().__init__(datastore, events_table_name)
        table = self.events_table_name
        self.insert_events_statement = (
            f"INSERT INTO {table} (notification_id, originator_id, "
            "originator_version, topic, state, leaf_hash, nodes) "
            "VALUES (?,?,?,?,?,?,?)"
        )
        self.select_events_statement = (
            "SELECT originator_id, originator_version, topic, state "
            f"FROM {table} WHERE originator_id=? "
        )
        self.select_frontier_statement = (
            f"SELECT tree_size, hashes FROM {self.frontier_table_name}"
        )
        self.update_frontier_statement = (
            f"UPDATE {self.frontier_table_name} SET tree_size=?, hashes=?"
        )
        self._subscriptions: weakref.WeakSet[PollingSubscription] = weakref.WeakSet()

    def construct_create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.events_table_name} ("
            "notification_id INTEGER PRIMARY KEY, "
            "originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, "
            "topic TEXT NOT NULL, "
            "state BLOB NOT NULL, "
            "leaf_hash BLOB NOT NULL, "
            "nodes BLOB NOT NULL, "
            "UNIQUE (originator_id, originator_version))",
            f"CREATE TABLE IF NOT EXISTS {self.frontier_table_name} ("
            "singleton INTEGER PRIMARY KEY CHECK (singleton = 1), "
            "tree_size INTEGER NOT NULL, "
            "hashes BLOB NOT NULL)",
            f"INSERT OR IGNORE INTO {self.frontier_table_name} VALUES (1, 0, x'')",
        ]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super().insert_events(stored_events, **kwargs)
        if stored_events and self._subscriptions:
            for subscription in list(self._subscriptions):
                subscription.wake()
        return notification_ids

    def _insert_events(
        self,
        c: es_sqlite.SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        **_: Any,
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        frontier = self._read_frontier(c)
        stored_ids = [
            e.originator_id.hex
            if isinstance(e.originator_id, UUID)
            else e.originator_id
            for e in stored_events
        ]
        # Hash the id in the form it will be read back in, so a verifier that only
        # has the stored rows computes the same leaf.
        sealed = seal_rows(
            frontier,
            [
                (self.convert_originator_id(i), e.originator_version, e.topic, e.state)
                for i, e in zip(stored_ids, stored_events, strict=True)
            ],
        )
        rows = [
            (position, i, e.originator_version, e.topic, e.state, leaf, nodes)
            for (position, leaf, nodes), i, e in zip(
                sealed, stored_ids, stored_events, strict=True
            )
        ]
        if len(rows) == 1:  # most saves; execute is cheaper than executemany
            c.execute(self.insert_events_statement, rows[0])
        else:
            c.executemany(self.insert_events_statement, rows)
        c.execute(self.update_frontier_statement, (frontier.size, frontier.to_bytes()))
        return [position for position, _, _ in sealed]

    def _read_frontier(self, c: es_sqlite.SQLiteCursor) -> Frontier:
        c.execute(self.select_frontier_statement)
        size, hashes = c.fetchone()
        return Frontier.from_bytes(size, hashes)

    def frontier(self) -> Frontier:
        """The committed frontier: the log's size and right-edge subtree roots."""
        with self.datastore.transaction(commit=False) as c:
            return self._read_frontier(c)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        statement, params = notification_query(
            self.events_table_name,
            start=start,
            limit=limit,
            stop=stop,
            topics=topics,
            inclusive_of_start=inclusive_of_start,
            placeholder="?",
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [
                Notification(
                    id=row[0],
                    originator_id=self.convert_originator_id(row[1]),
                    originator_version=row[2],
                    topic=row[3],
                    state=row[4],
                )
                for row in c.fetchall()
            ]

    def _max_notification_id(self, c: es_sqlite.SQLiteCursor) -> Any:
        return self._read_frontier(c).size or None

    def position_of(
        self, originator_id: UUID | str, originator_version: int
    ) -> int | None:
        """The notification id (log position) of one stored event, if stored."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT notification_id FROM {self.events_table_name} "
                "WHERE originator_id=? AND originator_version=?",
                (
                    originator_id.hex
                    if isinstance(originator_id, UUID)
                    else originator_id,
                    originator_version,
                ),
            )
            row = c.fetchone()
        return None if row is None else int(row[0])

    def select_sealed_rows(self, after: int, limit: int) -> list[SealedRow]:
        """Stored rows with their seal columns, in position order, after ``after``."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT notification_id, originator_id, originator_version, topic, "
                f"state, leaf_hash, nodes FROM {self.events_table_name} "
                "WHERE notification_id>? ORDER BY notification_id LIMIT ?",
                (after, limit),
            )
            return [
                SealedRow(
                    position=row[0],
                    originator_id=self.convert_originator_id(row[1]),
                    originator_version=row[2],
                    topic=row[3],
                    state=row[4],
                    leaf_hash=row[5],
                    nodes=row[6],
                )
                for row in c.fetchall()
            ]

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[Any]:
        subscription = PollingSubscription(
            self, gt=gt, topics=topics, interval=self.datastore.poll_interval
        )
        self._subscriptions.add(subscription)
        return subscription


class SealedSQLiteProcessRecorder(
    es_sqlite.SQLiteProcessRecorder, SealedSQLiteApplicationRecorder
):
    """The library's process recorder (events + tracking in one transaction), sealed.

    Its ``_insert_events`` inserts the tracking row after calling ``super()``, which
    by this class's MRO is the sealed application recorder's.
    """


class SealedSQLiteFactory(es_sqlite.SQLiteFactory):
    SQLITE_POLL_INTERVAL = "SQLITE_POLL_INTERVAL"

    application_recorder_class = SealedSQLiteApplicationRecorder
    process_recorder_class = SealedSQLiteProcessRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        library_datastore = self.datastore
        library_datastore.close()
        raw_interval = (self.env.get(self.SQLITE_POLL_INTERVAL) or "").strip()
        try:
            poll_interval = float(raw_interval) if raw_interval else None
        except ValueError:
            poll_interval = -1.0
        if poll_interval is not None and poll_interval <= 0:
            msg = (
                f"{self.SQLITE_POLL_INTERVAL} must be a positive number of seconds, "
                f"not {raw_interval!r}"
            )
            raise OSError(msg)
        db_name = library_datastore.pool.db_name
        if not library_datastore.pool.is_sqlite_memory_mode and not db_name.startswith(
            "file:"
        ):
            Path(db_name).parent.mkdir(parents=True, exist_ok=True)
        self.datastore = SealedSQLiteDatastore(
            db_name=db_name,
            lock_timeout=library_datastore.pool.lock_timeout,
            single_row_tracking=library_datastore.single_row_tracking,
            originator_id_type=library_datastore.originator_id_type,
            poll_interval=poll_interval or DEFAULT_POLL_INTERVAL,
        )


Factory = SealedSQLiteFactory
