"""The production store: eventsourcing persistence on PostgreSQL through psycopg2.

The library's bundled PostgreSQL module needs psycopg 3; this one implements the same
recorder interfaces on psycopg2 and adds the ledger's guarantees:

- Gapless positions. A save runs under ``LOCK TABLE ... IN EXCLUSIVE MODE`` (readers
  are not blocked) and takes positions size + 1 ... size + k, where size is the one-row
  frontier, which moves with the rows in every write transaction, so it always equals
  MAX(notification_id). No sequence is used: a sequence hands out numbers that a
  rolled-back save never uses, leaving holes a tailing reader cannot tell from lag.
- The seal inside the write. Leaf hashes and completed interior nodes are stored on
  each row and the frontier advances in the same transaction (``store.seal``).
- One round trip per save, whichever process wrote last. The writer hashes each
  row's leaf (the leaf depends only on the row's own bytes) and calls the table's
  append function (``APPEND_FUNCTION``), which takes the table lock, reads the
  frontier, computes the interior nodes, inserts the rows, advances the frontier and
  notifies, and commits with the statement. Until 2026-11 the writer also kept the
  frontier and computed the nodes itself, with a check in the batch that no other
  process had moved the frontier; with several API processes writing, more than half
  of all saves found it moved and paid two more round trips, the table lock held
  across the second. The lock is still held only while the server works.
- No database function that could run the insert without holding the table lock
  (the library's POSTGRES_ENABLE_DB_FUNCTIONS path does that): the append function
  takes the lock itself, and it is released with the commit.
"""

from __future__ import annotations

import re
import select
import threading
from collections.abc import Sequence
from contextlib import suppress
from typing import Any, cast
from uuid import UUID

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from eventsourcing import persistence as es
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ListenNotifySubscription,
    Notification,
    ProcessRecorder,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic, strtobool

from store.append_watch import PostgresAppendWatch
from store.merkle import Frontier
from store.notification_query import notification_query
from store.postgres_pool import (
    ConnectionSettings,
    Psycopg2ConnectionPool,
    connect,
    library_error,
)
from store.seal import LogRow, SealedRow, event_leaf_hash

APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}(p_ids {id_type}[], p_versions bigint[],
    p_topics text[], p_states bytea[], p_leaves bytea[], p_lock_timeout text)
RETURNS bigint LANGUAGE plpgsql AS $ledger$
DECLARE
  v_size bigint; v_hashes bytea; v_first bigint; v_nodes bytea[];
  v_acc bytea; v_done bytea; v_carry bigint; v_keep int;
BEGIN
  PERFORM set_config('lock_timeout', p_lock_timeout, true);
  LOCK TABLE {events} IN EXCLUSIVE MODE;
  SELECT tree_size, hashes INTO v_size, v_hashes FROM {frontier};
  v_first := v_size + 1;
  v_nodes := array_fill(''::bytea, ARRAY[cardinality(p_leaves)]);
  FOR i IN 1 .. cardinality(p_leaves) LOOP
    v_acc := p_leaves[i];
    v_done := '';
    v_carry := v_size;
    WHILE v_carry & 1 = 1 LOOP
      v_keep := length(v_hashes) - 32;
      v_acc := sha256('\\x01'::bytea || substr(v_hashes, v_keep + 1) || v_acc);
      v_hashes := substr(v_hashes, 1, v_keep);
      v_done := v_done || v_acc;
      v_carry := v_carry >> 1;
    END LOOP;
    v_hashes := v_hashes || v_acc;
    v_nodes[i] := v_done;
    v_size := v_size + 1;
  END LOOP;
  INSERT INTO {events} (notification_id, originator_id, originator_version, topic,
      state, leaf_hash, nodes)
    SELECT v_first + r.n - 1, r.id, r.version, r.topic, r.state, r.leaf, r.nodes
    FROM unnest(p_ids, p_versions, p_topics, p_states, p_leaves, v_nodes)
      WITH ORDINALITY AS r(id, version, topic, state, leaf, nodes, n);
  UPDATE {frontier} SET tree_size = v_size, hashes = v_hashes;
  PERFORM pg_notify('{channel}', '');
  RETURN v_first;
END
$ledger$"""
"""The write path's server half: under the table lock, the rows take positions
size + 1 ... size + k, each row's completed interior nodes are computed as
``Frontier.append_leaf`` computes them (RFC 9162's tree: SHA-256(0x01 || left ||
right)), the rows are inserted, the frontier advances and listeners are woken, in
the one statement's transaction. A row's leaf hash comes from the writer, which
hashed the row's own bytes (``store.seal``); a position or a node never does. The
lock is taken inside the function, never dropped before its commit: a tailing
reader must never miss a committed event."""
MAX_SAVE_ATTEMPTS = 5
"""Tries of one save whose connection fails before its batch was sent."""
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def quoted(name: str) -> str:
    """A validated, double-quoted SQL identifier."""
    if not _IDENTIFIER.match(name):
        msg = f"{name!r} is not a valid name (lower case letters, digits, _)"
        raise es.ProgrammingError(msg)
    return f'"{name}"'


class PostgresDatastore:
    """Connection settings, the pool, and per-table state shared by recorders."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        schema: str = "public",
        pool_size: int = 5,
        max_overflow: int = 10,
        pool_timeout: float = 5.0,
        max_age: float | None = None,
        pre_ping: bool = False,
        lock_timeout: float = 5.0,
        originator_id_type: str = "uuid",
    ) -> None:
        if originator_id_type not in ("uuid", "text"):
            msg = f"ORIGINATOR_ID_TYPE must be 'uuid' or 'text': {originator_id_type!r}"
            raise OSError(msg)
        quoted(schema)
        self.settings = settings
        self.schema = schema
        self.lock_timeout = lock_timeout
        self.originator_id_type = originator_id_type
        self.pool = Psycopg2ConnectionPool(
            settings,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            max_age=max_age,
            pre_ping=pre_ping,
        )

    def table(self, name: str) -> str:
        return f"{quoted(self.schema)}.{quoted(name)}"

    def query(
        self, statement: str, params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement; retried once on a connection lost idle."""
        for attempt in (1, 2):
            try:
                with self.pool.connection() as conn, conn.cursor() as curs:
                    curs.execute(statement, params)
                    return cast(list[tuple[Any, ...]], curs.fetchall())
            except (es.OperationalError, es.InterfaceError):
                if attempt == 2:
                    raise
        raise AssertionError  # pragma: no cover

    def close(self) -> None:
        self.pool.close()


class PostgresRecorder:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def create_table_statements(self) -> list[str]:
        return [f"CREATE SCHEMA IF NOT EXISTS {quoted(self.datastore.schema)}"]

    def create_table(self) -> None:
        # One transaction, serialised by an advisory lock, so processes starting
        # together do not race on CREATE ... IF NOT EXISTS.
        batch = ";".join(
            [
                "BEGIN",
                "SELECT pg_advisory_xact_lock(hashtext('journey-ledger-schema'))",
                *self.create_table_statements(),
                "COMMIT",
            ]
        )
        with self.datastore.pool.connection() as conn, conn.cursor() as curs:
            try:
                curs.execute(batch)
            except psycopg2.Error:
                _rollback_quietly(curs)
                raise

    def _id_param(self, originator_id: UUID | str) -> UUID | str:
        if self.datastore.originator_id_type == "uuid":
            return (
                originator_id
                if isinstance(originator_id, UUID)
                else UUID(originator_id)
            )
        return str(originator_id)


def _rollback_quietly(curs: Any) -> None:
    if not curs.connection.closed:
        with suppress(psycopg2.Error):
            curs.execute("ROLLBACK")


class PostgresAggregateRecorder(PostgresRecorder, AggregateRecorder):
    """Events kept per aggregate only (the library uses this for snapshots)."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore)
        self.events_table_name = events_table_name
        self.events_table = datastore.table(events_table_name)
        self.select_events_statement = (
            "SELECT originator_id, originator_version, topic, state "
            f"FROM {self.events_table} WHERE originator_id = %s"
        )

    def create_table_statements(self) -> list[str]:
        return [
            *super().create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.events_table} ("
            f"originator_id {self.datastore.originator_id_type} NOT NULL, "
            "originator_version bigint NOT NULL, "
            "topic text NOT NULL, "
            "state bytea NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version))",
        ]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if stored_events:
            with self.datastore.pool.connection() as conn, conn.cursor() as curs:
                values = b",".join(
                    curs.mogrify(
                        "(%s,%s,%s,%s)",
                        (
                            self._id_param(e.originator_id),
                            e.originator_version,
                            e.topic,
                            e.state,
                        ),
                    )
                    for e in stored_events
                )
                # One statement in autocommit mode: atomic on its own.
                curs.execute(
                    f"INSERT INTO {self.events_table} "
                    "(originator_id, originator_version, topic, state) VALUES ".encode()
                    + values
                )
        return None

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        statement = self.select_events_statement
        params: list[Any] = [self._id_param(originator_id)]
        if gt is not None:
            statement += " AND originator_version > %s"
            params.append(gt)
        if lte is not None:
            statement += " AND originator_version <= %s"
            params.append(lte)
        statement += " ORDER BY originator_version " + ("DESC" if desc else "ASC")
        if limit is not None:
            statement += " LIMIT %s"
            params.append(limit)
        return [
            StoredEvent(
                originator_id=row[0],
                originator_version=row[1],
                topic=row[2],
                state=bytes(row[3]),
            )
            for row in self.datastore.query(statement, params)
        ]


class PostgresApplicationRecorder(PostgresAggregateRecorder, ApplicationRecorder):
    """Events in aggregate sequences and in one gapless, sealed application log."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.frontier_table = datastore.table(f"{events_table_name}_frontier")
        self.channel_name = f"{datastore.schema}_{events_table_name}"[:63]
        self.channel = quoted(self.channel_name)
        self._topic_literals: dict[str, str] = {}
        self.append_function = datastore.table(f"{events_table_name}_append"[:63])

    def create_table_statements(self) -> list[str]:
        index = quoted(f"{self.events_table_name}_position"[:63])
        return [
            *super().create_table_statements()[:-1],
            f"CREATE TABLE IF NOT EXISTS {self.events_table} ("
            "notification_id bigint NOT NULL CHECK (notification_id > 0), "
            f"originator_id {self.datastore.originator_id_type} NOT NULL, "
            "originator_version bigint NOT NULL, "
            "topic text NOT NULL, "
            "state bytea NOT NULL, "
            "leaf_hash bytea NOT NULL, "
            "nodes bytea NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version))",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {index} "
            f"ON {self.events_table} (notification_id)",
            f"CREATE TABLE IF NOT EXISTS {self.frontier_table} ("
            "singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), "
            "tree_size bigint NOT NULL, "
            "hashes bytea NOT NULL)",
            f"INSERT INTO {self.frontier_table} VALUES (true, 0, '') "
            "ON CONFLICT DO NOTHING",
            self._append_function(),
        ]

    # -- writing --------------------------------------------------------------

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        tracking: Tracking | None = kwargs.get("tracking")
        if not stored_events:
            if tracking is not None:
                self._record_tracking_only(tracking)
            return []
        # The leaves do not depend on where the events land, so they are hashed
        # here, outside the table lock; the tree's interior is the server's part.
        ids = [self._id_param(e.originator_id) for e in stored_events]
        leaves = [
            event_leaf_hash(i, e.originator_version, e.topic, e.state)
            for i, e in zip(ids, stored_events, strict=True)
        ]
        for _ in range(MAX_SAVE_ATTEMPTS):
            outcome, positions = self._attempt_save(
                stored_events, ids, leaves, tracking
            )
            if outcome == "lost":
                positions = self._committed(stored_events, ids, leaves) or []
                outcome = "saved" if positions else "unsent"
            if outcome == "saved":
                return positions
        msg = "the connection kept failing under this writer; gave up after retries"
        raise es.OperationalError(msg)

    def _attempt_save(
        self,
        stored_events: Sequence[StoredEvent],
        ids: list[UUID | str],
        leaves: list[bytes],
        tracking: Tracking | None,
    ) -> tuple[str, list[int]]:
        """One try: "saved" with the positions, or "lost": the connection failed,
        and the batch may have been sent and committed, so the caller looks.

        One round trip whichever process wrote last: the append function takes the
        table lock, reads the frontier, seals and inserts the rows, advances the
        frontier and notifies, all in the server (its SQL is in ``_append_function``).
        """
        with self.datastore.pool.connection(writer=True) as conn, conn.cursor() as curs:
            call = self._append_call(curs, stored_events, ids, leaves)
            statement = call
            if tracking is not None:
                # The tracking row must commit with the events, and a batch's reply
                # is its last statement's, so this one takes two round trips.
                statement = (
                    b"BEGIN;" + self._tracking_statement(curs, tracking) + b";" + call
                )
            try:
                curs.execute(statement)
                (first,) = curs.fetchone()
                if tracking is not None:
                    curs.execute("COMMIT")
            except psycopg2.errors.UndefinedFunction as e:
                _rollback_quietly(curs)
                msg = (
                    f"this store has no {self.append_function} function, which "
                    "every save calls: its tables were made by an older version "
                    "of the ledger; start once with CREATE_TABLE=yes (the "
                    "default), which adds it"
                )
                raise es.ProgrammingError(msg) from e
            except psycopg2.Error as e:
                if conn.closed and isinstance(
                    e, psycopg2.OperationalError | psycopg2.InterfaceError
                ):
                    self.datastore.pool.discard_idle()
                    return "lost", []
                _rollback_quietly(curs)
                raise
            return "saved", list(range(first, first + len(stored_events)))

    def _committed(
        self,
        stored_events: Sequence[StoredEvent],
        ids: list[UUID | str],
        leaves: list[bytes],
    ) -> list[int] | None:
        """After a connection was lost mid-save: did that save commit? If so, where.

        Its rows would be stored under their aggregates' versions with the leaf
        hashes computed here; none of them would be stored if it did not commit.
        SHARE mode waits for any writer still holding the table lock (our own save
        among them, if the server is still running it) before looking.
        """
        keys = ",".join(["(%s,%s)"] * len(ids))
        params: list[Any] = []
        for i, event in zip(ids, stored_events, strict=True):
            params += [i, event.originator_version]
        try:
            with self.datastore.pool.connection() as conn, conn.cursor() as curs:
                try:
                    curs.execute(
                        f"BEGIN;LOCK TABLE {self.events_table} IN SHARE MODE;"
                        "SELECT originator_id, originator_version, notification_id, "
                        f"leaf_hash FROM {self.events_table} "
                        f"WHERE (originator_id, originator_version) IN ({keys})",
                        params,
                    )
                    found = {
                        (str(row[0]), row[1]): (row[2], bytes(row[3]))
                        for row in curs.fetchall()
                    }
                finally:
                    _rollback_quietly(curs)
        except es.PersistenceError as e:
            first = stored_events[0]
            msg = (
                "the connection was lost during a save and the store cannot be "
                f"reached to learn whether its {len(stored_events)} event(s) were "
                f"committed (first: {first.originator_id} version "
                f"{first.originator_version})"
            )
            raise es.OperationalError(msg) from e
        positions = []
        for i, event, leaf in zip(ids, stored_events, leaves, strict=True):
            stored = found.get((str(i), event.originator_version))
            if stored is None or stored[1] != leaf:
                return None
            positions.append(stored[0])
        return positions

    def _append_call(
        self,
        curs: Any,
        stored_events: Sequence[StoredEvent],
        ids: list[UUID | str],
        leaves: list[bytes],
    ) -> bytes:
        """``SELECT <append function>(...)`` with the rows as array literals.

        Literals are written directly rather than by mogrify per value, which was a
        third of a 100-event save (bench/README.md). Only text goes through the
        driver's quoting; numbers are ints, UUIDs are hex and hyphens, and bytea is
        '\\x<hex>' (connect() insists on standard_conforming_strings)."""
        ids_sql = ",".join(self._id_literal(curs, i) for i in ids)
        versions = ",".join(str(int(e.originator_version)) for e in stored_events)
        topics = ",".join(self._topic_literal(curs, e.topic) for e in stored_events)
        states = ",".join("'\\x" + bytes(e.state).hex() + "'" for e in stored_events)
        hashes = ",".join("'\\x" + leaf.hex() + "'" for leaf in leaves)
        return (
            f"SELECT {self.append_function}("
            f"ARRAY[{ids_sql}]::{self.datastore.originator_id_type}[],"
            f"ARRAY[{versions}]::bigint[],ARRAY[{topics}]::text[],"
            f"ARRAY[{states}]::bytea[],ARRAY[{hashes}]::bytea[],"
            f"'{int(self.datastore.lock_timeout * 1000)}ms')"
        ).encode()

    def _append_function(self) -> str:
        """The write path's server half (``APPEND_FUNCTION``), for this table."""
        return APPEND_FUNCTION.format(
            function=self.append_function,
            id_type=self.datastore.originator_id_type,
            events=self.events_table,
            frontier=self.frontier_table,
            channel=self.channel_name,
        )

    def _id_literal(self, curs: Any, originator_id: UUID | str) -> str:
        if isinstance(originator_id, UUID):
            return f"'{originator_id}'"
        return str(curs.mogrify("%s", (originator_id,)).decode())

    def _topic_literal(self, curs: Any, topic: str) -> str:
        literal = self._topic_literals.get(topic)
        if literal is None:
            literal = str(curs.mogrify("%s", (topic,)).decode())
            self._topic_literals[topic] = literal
        return literal

    def _tracking_statement(self, curs: Any, tracking: Tracking) -> bytes:
        msg = "process recorders record tracking: see PostgresProcessRecorder"
        raise es.ProgrammingError(msg)

    def _record_tracking_only(self, tracking: Tracking) -> None:
        with self.datastore.pool.connection() as conn, conn.cursor() as curs:
            try:
                curs.execute(
                    b"BEGIN;" + self._tracking_statement(curs, tracking) + b";COMMIT"
                )
            except psycopg2.Error:
                _rollback_quietly(curs)
                raise

    # -- reading --------------------------------------------------------------

    def frontier(self) -> Frontier:
        """The committed frontier: the log's size and right-edge subtree roots."""
        ((size, hashes),) = self.datastore.query(
            f"SELECT tree_size, hashes FROM {self.frontier_table}"
        )
        return Frontier.from_bytes(size, bytes(hashes))

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
            self.events_table,
            start=start,
            limit=limit,
            stop=stop,
            topics=topics,
            inclusive_of_start=inclusive_of_start,
            placeholder="%s",
        )
        return [
            Notification(
                id=row[0],
                originator_id=row[1],
                originator_version=row[2],
                topic=row[3],
                state=bytes(row[4]),
            )
            for row in self.datastore.query(statement, params)
        ]

    def max_notification_id(self) -> int | None:
        return self.frontier().size or None

    def position_of(
        self, originator_id: UUID | str, originator_version: int
    ) -> int | None:
        """The notification id (log position) of one stored event, if stored."""
        rows = self.datastore.query(
            f"SELECT notification_id FROM {self.events_table} "
            "WHERE originator_id = %s AND originator_version = %s",
            (self._id_param(originator_id), originator_version),
        )
        return int(rows[0][0]) if rows else None

    def select_sealed_rows(self, after: int, limit: int) -> list[SealedRow]:
        """Stored rows with their seal columns, in position order, after ``after``."""
        rows = self.datastore.query(
            "SELECT notification_id, originator_id, originator_version, topic, state, "
            f"leaf_hash, nodes FROM {self.events_table} "
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
            (after, limit),
        )
        return [
            SealedRow(
                position=row[0],
                originator_id=row[1],
                originator_version=row[2],
                topic=row[3],
                state=bytes(row[4]),
                leaf_hash=bytes(row[5]),
                nodes=bytes(row[6]),
            )
            for row in rows
        ]

    def select_log_rows(
        self, after: int, limit: int, *, part: tuple[int, int] | None = None
    ) -> list[LogRow]:
        """Stored events after ``after`` in position order, each with its leaf hash
        (hex): what read models need of a page, and nothing more (no nodes).

        ``part=(k, n)``: of the next ``limit`` positions, only the events of
        originators in part ``k`` of ``n`` (by a hash of the originator id), so
        ``n`` readers can share the log with every aggregate's events in one.
        """
        uuid_ids = self.datastore.originator_id_type == "uuid"
        columns = (
            "notification_id, originator_id::text, originator_version, topic, state, "
            "encode(leaf_hash, 'hex')"
        )
        where = "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        params: tuple[Any, ...] = (after, limit)
        if part is None:
            statement = f"SELECT {columns} FROM {self.events_table} {where}"
        else:
            # The filter outside the range: a filter on a range hides from the
            # planner how many rows the range holds, and then it sorts them all.
            statement = (
                f"SELECT {columns} FROM (SELECT * FROM {self.events_table} {where}) "
                "AS positions WHERE (hashtext(originator_id::text) & 2147483647) "
                "%% %s = %s ORDER BY notification_id"
            )
            params = (*params, part[1], part[0])
        # A uuid as text and a dict of those seen: a page holds few originators,
        # and psycopg2's uuid caster parses each row's afresh.
        rows = self.datastore.query(statement, params)
        ids: dict[str, UUID | str] = {}
        page = []
        for position, text_id, version, topic, state, leaf in rows:
            originator_id = ids.get(text_id)
            if originator_id is None:
                originator_id = ids[text_id] = UUID(text_id) if uuid_ids else text_id
            page.append(
                LogRow(position, originator_id, version, topic, bytes(state), leaf)
            )
        return page

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return PostgresSubscription(self, gt=gt, topics=topics)

    def watch_appends(self) -> PostgresAppendWatch:
        """Wake-ups when the log may have grown (no rows selected): for a follower
        that reads the log itself (``store.append_watch``)."""
        return PostgresAppendWatch(self.datastore.settings, self.channel)


class PostgresSubscription(ListenNotifySubscription[PostgresApplicationRecorder]):
    """Follows the log: LISTEN on the events table's channel, pull on each NOTIFY.

    The listening connection is its own, not the pool's, so long-lived followers
    never starve request handlers of connections.
    """

    def __init__(
        self,
        recorder: PostgresApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._listen_thread = threading.Thread(target=self._listen, daemon=True)
        self._listen_thread.start()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._listen_thread.join()

    def _listen(self) -> None:
        conn: psycopg2.extensions.connection | None = None
        try:
            conn = connect(self._recorder.datastore.settings)
            with conn.cursor() as curs:
                curs.execute(f"LISTEN {self._recorder.channel}")
            # Anything committed between the first pull and LISTEN sent no
            # notification we could hear: pull once more now that we are listening.
            self._has_been_notified.set()
            while not self._has_been_stopped and not self._thread_error:
                if select.select([conn], [], [], 0.1)[0]:
                    conn.poll()
                    if conn.notifies:
                        conn.notifies.clear()
                        self._has_been_notified.set()
        except psycopg2.Error as e:
            if self._thread_error is None:
                self._thread_error = library_error(e)
            self.stop()
        except BaseException as e:
            if self._thread_error is None:
                self._thread_error = e
            self.stop()
        finally:
            if conn is not None:
                conn.close()


class PostgresTrackingRecorder(PostgresRecorder, TrackingRecorder):
    """One row per upstream application: the last position it has processed."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        tracking_table_name: str = "notification_tracking",
        **kwargs: Any,
    ) -> None:
        super().__init__(datastore, **kwargs)
        self.tracking_table = datastore.table(tracking_table_name)

    def create_table_statements(self) -> list[str]:
        return [
            *super().create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.tracking_table} ("
            "application_name text PRIMARY KEY, "
            "notification_id bigint NOT NULL)",
        ]

    def _upsert_tracking(self) -> str:
        # Only ever forwards: a position at or below the recorded one is refused.
        return (
            f"INSERT INTO {self.tracking_table} AS t VALUES (%s, %s) "
            "ON CONFLICT (application_name) DO UPDATE "
            "SET notification_id = EXCLUDED.notification_id "
            "WHERE t.notification_id < EXCLUDED.notification_id"
        )

    def insert_tracking(self, tracking: Tracking) -> None:
        rows = self.datastore.query(
            self._upsert_tracking() + " RETURNING notification_id",
            (tracking.application_name, tracking.notification_id),
        )
        if not rows:
            msg = (
                f"tracking for {tracking.application_name!r} is already at or past "
                f"{tracking.notification_id}"
            )
            raise es.IntegrityError(msg)

    def max_tracking_id(self, application_name: str) -> int | None:
        rows = self.datastore.query(
            f"SELECT notification_id FROM {self.tracking_table} "
            "WHERE application_name = %s",
            (application_name,),
        )
        return rows[0][0] if rows else None


class PostgresProcessRecorder(
    PostgresTrackingRecorder, PostgresApplicationRecorder, ProcessRecorder
):
    """New events and the upstream position that caused them, in one transaction."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ) -> None:
        super().__init__(
            datastore,
            tracking_table_name=tracking_table_name,
            events_table_name=events_table_name,
        )

    def _tracking_statement(self, curs: Any, tracking: Tracking) -> bytes:
        # Inside the save's batch there is no round trip to look at RETURNING, so a
        # refused position raises unique_violation (-> IntegrityError) server-side.
        upsert: bytes = curs.mogrify(
            self._upsert_tracking(),
            (tracking.application_name, tracking.notification_id),
        )
        return (
            b"DO $ledger$BEGIN "
            + upsert
            + b"; IF NOT FOUND THEN RAISE unique_violation USING MESSAGE = "
            + b"'tracking position already recorded'; END IF; END$ledger$"
        )


class PostgresFactory(InfrastructureFactory[PostgresTrackingRecorder]):
    """Builds the recorders from the environment (see ``store.config``)."""

    POSTGRES_DBNAME = "POSTGRES_DBNAME"
    POSTGRES_HOST = "POSTGRES_HOST"
    POSTGRES_PORT = "POSTGRES_PORT"
    POSTGRES_USER = "POSTGRES_USER"
    POSTGRES_PASSWORD = "POSTGRES_PASSWORD"
    POSTGRES_SCHEMA = "POSTGRES_SCHEMA"
    POSTGRES_POOL_SIZE = "POSTGRES_POOL_SIZE"
    POSTGRES_MAX_OVERFLOW = "POSTGRES_MAX_OVERFLOW"
    POSTGRES_POOL_TIMEOUT = "POSTGRES_POOL_TIMEOUT"
    POSTGRES_CONNECT_TIMEOUT = "POSTGRES_CONNECT_TIMEOUT"
    POSTGRES_LOCK_TIMEOUT = "POSTGRES_LOCK_TIMEOUT"
    POSTGRES_CONN_MAX_AGE = "POSTGRES_CONN_MAX_AGE"
    POSTGRES_PRE_PING = "POSTGRES_PRE_PING"
    ORIGINATOR_ID_TYPE = "ORIGINATOR_ID_TYPE"
    CREATE_TABLE = "CREATE_TABLE"

    aggregate_recorder_class = PostgresAggregateRecorder
    application_recorder_class = PostgresApplicationRecorder
    tracking_recorder_class = PostgresTrackingRecorder
    process_recorder_class = PostgresProcessRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        dbname = self.env.get(self.POSTGRES_DBNAME)
        if not dbname:
            msg = (
                "PostgreSQL database name not found in environment with keys: "
                + ", ".join(self.env.create_keys(self.POSTGRES_DBNAME))
            )
            raise OSError(msg)
        max_age = self._number(self.POSTGRES_CONN_MAX_AGE, 0.0)
        self.datastore = PostgresDatastore(
            ConnectionSettings(
                dbname=dbname,
                host=self.env.get(self.POSTGRES_HOST) or "127.0.0.1",
                port=int(self._number(self.POSTGRES_PORT, 5432)),
                user=self.env.get(self.POSTGRES_USER) or "postgres",
                password=self.env.get(self.POSTGRES_PASSWORD) or "",
                connect_timeout=self._number(self.POSTGRES_CONNECT_TIMEOUT, 5.0),
            ),
            schema=self.env.get(self.POSTGRES_SCHEMA) or "public",
            pool_size=int(self._number(self.POSTGRES_POOL_SIZE, 5)),
            max_overflow=int(self._number(self.POSTGRES_MAX_OVERFLOW, 10)),
            pool_timeout=self._number(self.POSTGRES_POOL_TIMEOUT, 5.0),
            max_age=max_age or None,
            pre_ping=strtobool(self.env.get(self.POSTGRES_PRE_PING) or "no"),
            lock_timeout=self._number(self.POSTGRES_LOCK_TIMEOUT, 5.0),
            originator_id_type=(
                self.env.get(self.ORIGINATOR_ID_TYPE) or "uuid"
            ).lower(),
        )

    def _number(self, key: str, default: float) -> float:
        raw = (self.env.get(key) or "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1
        if value < 0:
            msg = f"{key} must be a non-negative number, not {raw!r}"
            raise OSError(msg)
        return value

    def _create_table(self) -> bool:
        return bool(strtobool(self.env.get(self.CREATE_TABLE) or "yes"))

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = self.aggregate_recorder_class(
            self.datastore, events_table_name=f"stored_{purpose}"
        )
        if self._create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        topic = self.env.get(self.APPLICATION_RECORDER_TOPIC)
        cls = resolve_topic(topic) if topic else self.application_recorder_class
        recorder = cls(self.datastore)
        if self._create_table():
            recorder.create_table()
        return recorder

    def tracking_recorder(
        self, tracking_recorder_class: type[PostgresTrackingRecorder] | None = None
    ) -> PostgresTrackingRecorder:
        if tracking_recorder_class is None:
            topic = self.env.get(self.TRACKING_RECORDER_TOPIC)
            tracking_recorder_class = (
                resolve_topic(topic) if topic else self.tracking_recorder_class
            )
        assert tracking_recorder_class is not None
        recorder = tracking_recorder_class(self.datastore)
        if self._create_table():
            recorder.create_table()
        return recorder

    def process_recorder(self) -> ProcessRecorder:
        topic = self.env.get(self.PROCESS_RECORDER_TOPIC)
        cls = resolve_topic(topic) if topic else self.process_recorder_class
        recorder = cls(self.datastore)
        if self._create_table():
            recorder.create_table()
        return recorder

    def close(self) -> None:
        self.datastore.close()


Factory = PostgresFactory
