"""The embedded store: the library's SQLite module with gapless positions and the seal.

Everything the library's SQLite module does well is kept (its connection pool, WAL
mode, tracking and snapshot recorders). What changes is the application recorder:

- Positions are assigned in the write transaction as the log's size + 1 (the size is
  the frontier row, equal to MAX(notification_id)), under ``BEGIN IMMEDIATE``, which
  takes SQLite's write lock before reading anything. A rolled-back write assigns
  nothing, so there are no holes.
- Writes go through one dedicated connection per datastore (reads use the pool), and
  the writer keeps the frontier it last wrote: the frontier update applies only if
  the stored frontier is still that one, so the usual save reads nothing, and a
  write by another connection or process costs one read, never a wrong position.
- Each row carries its leaf hash and the interior nodes it completed, and the one-row
  frontier table advances in the same transaction (see ``store.seal``).
- ``subscribe()`` polls (``SQLITE_POLL_INTERVAL``, default 0.05 s) and is woken at once
  by writes from the same process.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn
from uuid import UUID

from eventsourcing import sqlite as es_sqlite
from eventsourcing.persistence import (
    ConnectionPoolClosedError,
    ConnectionUnavailableError,
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    Notification,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
    Subscription,
)
from eventsourcing.utils import Environment, EnvType

from store.append_watch import PollingAppendWatch
from store.merkle import Frontier
from store.notification_query import notification_query
from store.polling import PollingSubscription
from store.seal import LogRow, SealedRow, seal_rows

DEFAULT_POLL_INTERVAL = 0.05
WRITER_STATEMENT_CACHE_SIZE = 64


_ERRORS: tuple[tuple[type[sqlite3.Error], type[PersistenceError]], ...] = (
    (sqlite3.InterfaceError, InterfaceError),
    (sqlite3.DataError, DataError),
    (sqlite3.OperationalError, OperationalError),
    (sqlite3.IntegrityError, IntegrityError),
    (sqlite3.InternalError, InternalError),
    (sqlite3.ProgrammingError, ProgrammingError),
    (sqlite3.NotSupportedError, NotSupportedError),
    (sqlite3.DatabaseError, DatabaseError),
)


def _persistence_error(error: sqlite3.Error) -> PersistenceError:
    """The library's error for a sqlite3 one, as its SQLiteTransaction maps them."""
    for sqlite_error, library_error in _ERRORS:
        if isinstance(error, sqlite_error):
            return library_error(error)
    return PersistenceError(error)


class _ReadTransaction(es_sqlite.SQLiteTransaction):
    """The library's transaction for reads, with a failed BEGIN's error translated
    and its cursor closed (writes go through SealedSQLiteDatastore.begin_write)."""

    def __enter__(self) -> es_sqlite.SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN")
        except sqlite3.Error as e:
            cursor.sqlite_cursor.close()
            raise _persistence_error(e) from e
        return cursor


class SealedSQLiteDatastore(es_sqlite.SQLiteDatastore):
    """The library's datastore, with one dedicated connection for all writes.

    SQLite lets one connection write at a time anyway, so writes go through a single
    connection kept open behind a lock (what the pool's writer lock does, at a tenth
    of the cost per save); reads still come from the pool. An in-memory database
    keeps the pool for writes too: only the pool knows how to share it.
    """

    def __init__(
        self,
        db_name: str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        **kwargs: Any,
    ) -> None:
        super().__init__(db_name, **kwargs)
        self.poll_interval = poll_interval
        self._writer_lock = threading.Lock()
        self._writer: es_sqlite.SQLiteConnection | None = None
        self._writer_cursor: es_sqlite.SQLiteCursor | None = None
        self._uses_pool_for_writes = self.pool.is_sqlite_memory_mode
        self._closed = False

    def begin_write(self) -> tuple[es_sqlite.SQLiteConnection, es_sqlite.SQLiteCursor]:
        """Take the write side and start a ``BEGIN IMMEDIATE`` transaction.

        The caller must end it with :meth:`commit_write` or :meth:`fail_write`.
        """
        if self._uses_pool_for_writes:
            conn = self.pool.get_connection(is_writer=True)
            cursor = conn.cursor()
        else:
            if not self._writer_lock.acquire(timeout=self.pool.pool_timeout):
                msg = "Timed out waiting for the writer connection"
                raise ConnectionUnavailableError(msg)
            try:
                if self._closed:
                    raise ConnectionPoolClosedError
                if self._writer is None or self._writer_cursor is None:
                    self._writer = self._connect_writer()
                    self._writer_cursor = self._writer.cursor()
            except BaseException:
                self._writer_lock.release()
                raise
            conn = self._writer
            cursor = self._writer_cursor
        try:
            cursor.sqlite_cursor.execute("BEGIN IMMEDIATE")
        except BaseException as e:
            self._release_writer(conn, cursor)
            if isinstance(e, sqlite3.Error):
                raise _persistence_error(e) from e
            raise
        return conn, cursor

    def _connect_writer(self) -> es_sqlite.SQLiteConnection:
        """A connection set up as the pool's are, but with a statement cache.

        The library opens its connections with ``cached_statements=True``, which
        sqlite3 reads as a cache of one statement, so a save that alternates BEGIN,
        UPDATE and INSERT compiles each of them again every time.
        """
        pool = self.pool
        try:
            conn = sqlite3.connect(
                database=pool.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,  # transactions are begun explicitly
                cached_statements=WRITER_STATEMENT_CACHE_SIZE,
                timeout=pool.lock_timeout or es_sqlite.SQLITE3_DEFAULT_LOCK_TIMEOUT,
            )
        except (sqlite3.Error, TypeError) as e:
            raise InterfaceError(e) from e
        try:
            if not pool.is_journal_mode_wal:
                (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
                if mode.lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                    pool.journal_mode_was_changed_to_wal = True
                pool.is_journal_mode_wal = True
        except sqlite3.Error as e:
            conn.close()
            raise _persistence_error(e) from e
        conn.row_factory = sqlite3.Row  # the library's recorders read rows by name
        return es_sqlite.SQLiteConnection(sqlite_conn=conn, max_age=None)

    def commit_write(
        self, conn: es_sqlite.SQLiteConnection, cursor: es_sqlite.SQLiteCursor
    ) -> None:
        try:
            conn.commit()
        except BaseException as e:
            self.fail_write(conn, cursor, e)
        self._release_writer(conn, cursor)

    def fail_write(
        self,
        conn: es_sqlite.SQLiteConnection,
        cursor: es_sqlite.SQLiteCursor,
        error: BaseException,
    ) -> NoReturn:
        """Roll back, release the write side and raise: the library's error for a
        sqlite3 one (as its SQLiteTransaction translates them), any other as is."""
        try:
            conn.rollback()
        except sqlite3.Error as rollback_error:
            # A connection stuck in a transaction would fail every later write.
            self._discard_writer(conn)
            raise _persistence_error(rollback_error) from error
        finally:
            self._release_writer(conn, cursor)
        if isinstance(error, sqlite3.Error):
            raise _persistence_error(error) from error
        raise error

    def _release_writer(
        self, conn: es_sqlite.SQLiteConnection, cursor: es_sqlite.SQLiteCursor
    ) -> None:
        if self._uses_pool_for_writes:
            cursor.sqlite_cursor.close()
            self.pool.put_connection(conn)
        else:
            self._writer_lock.release()

    def _discard_writer(self, conn: es_sqlite.SQLiteConnection) -> None:
        if not self._uses_pool_for_writes and conn is self._writer:
            self._writer = self._writer_cursor = None
            conn.close()

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[es_sqlite.SQLiteCursor]:
        if commit:
            conn, cursor = self.begin_write()
            try:
                yield cursor
            except BaseException as e:
                self.fail_write(conn, cursor, e)
            self.commit_write(conn, cursor)
            return
        connection = self.get_connection(commit=False)
        with connection as conn, _ReadTransaction(conn) as curs, curs:
            yield curs

    def close(self) -> None:
        lock: threading.Lock | None = getattr(self, "_writer_lock", None)
        if lock is not None:  # None if __init__ failed (close is called by __del__)
            # A write still running after the pool timeout is cut off, as the
            # library's pool would: closing must not hang.
            acquired = lock.acquire(timeout=self.pool.pool_timeout)
            try:
                self._closed = True
                if self._writer is not None:
                    self._writer.close()
                    self._writer = self._writer_cursor = None
            finally:
                if acquired:
                    lock.release()
        super().close()


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
        self.update_frontier_if_statement = (
            self.update_frontier_statement + " WHERE tree_size=? AND hashes=?"
        )
        self._uuid_ids = self.datastore.originator_id_type == "uuid"
        self._frontier_hint: tuple[Frontier, bytes] | None = None
        # Woken by this process's commits.
        self._subscriptions: weakref.WeakSet[PollingSubscription] = weakref.WeakSet()
        self._watches: weakref.WeakSet[PollingAppendWatch] = weakref.WeakSet()

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
        # The library's path is three nested context managers (pool, transaction,
        # cursor); this is the same work written out flat, with the same errors.
        datastore = self.datastore
        conn, cursor = datastore.begin_write()
        try:
            notification_ids = self._insert_events(cursor, stored_events, **kwargs)
        except BaseException as e:
            self._frontier_hint = None
            datastore.fail_write(conn, cursor, e)
        try:
            datastore.commit_write(conn, cursor)
        except BaseException:
            self._frontier_hint = None
            raise
        if stored_events and self._subscriptions:
            for subscription in list(self._subscriptions):
                subscription.wake()
        if notification_ids and self._watches:
            for watch in list(self._watches):
                watch.wake(notification_ids[-1])
        return notification_ids

    def _insert_events(
        self,
        c: es_sqlite.SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        **_: Any,
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        stored_ids: list[str] = []
        hashed_ids: list[UUID | str] = []
        uuid_ids = self._uuid_ids
        for e in stored_events:
            originator_id = e.originator_id
            if isinstance(originator_id, UUID):
                stored_ids.append(originator_id.hex)
                # Hash the id in the form it will be read back in, so a verifier
                # that only has the stored rows computes the same leaf.
                hashed_ids.append(originator_id if uuid_ids else originator_id.hex)
            else:
                stored_ids.append(originator_id)
                hashed_ids.append(self.convert_originator_id(originator_id))
        events = [
            (i, e.originator_version, e.topic, e.state)
            for i, e in zip(hashed_ids, stored_events, strict=True)
        ]
        cursor = c.sqlite_cursor
        hint = self._frontier_hint
        stale = True
        if hint is not None:
            # The hint is only a guess: the update applies only if the stored
            # frontier is still the one the hint was taken from, which under the
            # write lock means no other connection or process has written since.
            known, known_bytes = hint
            frontier = Frontier(known.size, known.hashes)
            sealed = seal_rows(frontier, events)
            frontier_bytes = frontier.to_bytes()
            cursor.execute(
                self.update_frontier_if_statement,
                (frontier.size, frontier_bytes, known.size, known_bytes),
            )
            stale = cursor.rowcount != 1
        if stale:
            frontier = self._read_frontier(c)
            sealed = seal_rows(frontier, events)
            frontier_bytes = frontier.to_bytes()
            cursor.execute(
                self.update_frontier_statement, (frontier.size, frontier_bytes)
            )
        rows = [
            (position, i, e.originator_version, e.topic, e.state, leaf, nodes)
            for (position, leaf, nodes), i, e in zip(
                sealed, stored_ids, stored_events, strict=True
            )
        ]
        if len(rows) == 1:  # most saves; execute is cheaper than executemany
            cursor.execute(self.insert_events_statement, rows[0])
        else:
            cursor.executemany(self.insert_events_statement, rows)
        # Kept before commit: if the transaction rolls back, the next write finds
        # the hint stale and reads the stored frontier, so a wrong hint costs one
        # read, never a wrong position.
        self._frontier_hint = (frontier, frontier_bytes)
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

    def select_log_rows(self, after: int, limit: int) -> list[LogRow]:
        """Stored events after ``after`` in position order, each with its leaf hash
        (hex): what read models need of a page, and nothing more (no nodes)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT notification_id, originator_id, originator_version, topic, "
                f"state, lower(hex(leaf_hash)) FROM {self.events_table_name} "
                "WHERE notification_id>? ORDER BY notification_id LIMIT ?",
                (after, limit),
            )
            rows = c.fetchall()
        ids: dict[str, UUID | str] = {}
        page = []
        for position, text_id, version, topic, state, leaf in rows:
            originator_id = ids.get(text_id)
            if originator_id is None:
                originator_id = ids[text_id] = self.convert_originator_id(text_id)
            page.append(LogRow(position, originator_id, version, topic, state, leaf))
        return page

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[Any]:
        subscription = PollingSubscription(
            self, gt=gt, topics=topics, interval=self.datastore.poll_interval
        )
        self._subscriptions.add(subscription)
        return subscription

    def watch_appends(self) -> PollingAppendWatch:
        """Wake-ups when the log may have grown (no rows selected): for a follower
        that reads the log itself (``store.append_watch``)."""
        watch = PollingAppendWatch(
            lambda: self.max_notification_id() or 0, self.datastore.poll_interval
        )
        self._watches.add(watch)
        return watch


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
