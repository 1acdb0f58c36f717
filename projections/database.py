"""The read models' database: the same one as the events, SQLite or PostgreSQL.

Read models write their rows and their tracking position in one transaction, so a
crash leaves either both or neither. This module gives them one small interface for
both databases: a transaction yielding a cursor that takes ``?`` placeholders.
"""

from __future__ import annotations

import fcntl
import io
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg2
from eventsourcing.persistence import PersistenceError

from store.postgres_pool import ConnectionSettings, connect, library_error


class Sql(Protocol):
    """The cursor a read model writes through (``?`` placeholders on both stores)."""

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None: ...

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...

    def fetchone(self) -> tuple[Any, ...] | None: ...

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        upsert_on: str | None = None,
    ) -> None:
        """Insert many rows (replacing rows with the same ``upsert_on`` key)."""

    def delete_where_in(self, table: str, column: str, values: Sequence[Any]) -> None:
        """Delete the rows whose ``column`` is one of ``values``."""

    def append(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert many new rows (no conflicts expected), the fastest way there is."""

    def notify(self, channel: str) -> None:
        """Tell whoever LISTENs on ``channel`` once this transaction commits
        (PostgreSQL; SQLite has no such thing, and no one to tell)."""


def _insert_statement(
    table: str, columns: Sequence[str], values: str, upsert_on: str | None
) -> str:
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"
    if upsert_on is not None:
        keys = {k.strip() for k in upsert_on.split(",")}
        updates = ", ".join(f"{c}=excluded.{c}" for c in columns if c not in keys)
        statement += f" ON CONFLICT ({upsert_on}) DO UPDATE SET {updates}"
    return statement


class ReadModelDatabase(Protocol):
    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """Held by one process at a time, across processes: True if this one holds
        it, False (at once, without waiting) if another does."""

    dialect: str

    def transaction(self) -> Any:
        """A context manager: a cursor in one transaction, committed on success."""

    def close(self) -> None: ...


class SQLiteDatabase:
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=30
        )
        self.connection.execute("PRAGMA journal_mode=WAL")
        # As on PostgreSQL: a crash may lose the last pages (applied again from the
        # tracking row), never half of one; WAL with NORMAL stays consistent.
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        """One connection serves every thread (the follower and the API's request
        threads): one transaction at a time on it, or they would interleave."""

    @contextmanager
    def transaction(self) -> Iterator[Sql]:
        with self._lock, self._transaction() as sql:
            yield sql

    @contextmanager
    def _transaction(self) -> Iterator[Sql]:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            yield _SQLiteCursor(cursor)
            cursor.execute("COMMIT")
        except BaseException:
            if self.connection.in_transaction:
                cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        if self.path == ":memory:":
            yield True  # nobody else can open it
            return
        with open(f"{self.path}.{name}.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def close(self) -> None:
        self.connection.close()


class _SQLiteCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(statement, tuple(params))

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        self.cursor.executemany(statement, rows)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.cursor.fetchall()

    def fetchone(self) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.cursor.fetchone()
        return row

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        upsert_on: str | None = None,
    ) -> None:
        marks = "(" + ", ".join("?" * len(columns)) + ")"
        self.cursor.executemany(
            _insert_statement(table, columns, marks, upsert_on), rows
        )

    def delete_where_in(self, table: str, column: str, values: Sequence[Any]) -> None:
        self.cursor.executemany(
            f"DELETE FROM {table} WHERE {column}=?", [(v,) for v in values]
        )

    def append(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        self.insert(table, columns, rows)

    def notify(self, channel: str) -> None:
        pass


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, settings: ConnectionSettings, schema: str) -> None:
        self.settings = settings
        self.schema = schema
        self.connection: Any = None
        self._lock = threading.RLock()
        """One connection serves every thread (the follower and the API's request
        threads): one transaction at a time on it, or a query's BEGIN and COMMIT
        would land inside a page's transaction (and its COPY)."""

    def _connection(self) -> Any:
        if self.connection is None or self.connection.closed:
            self.connection = connect(self.settings)
            with self.connection.cursor() as c:
                c.execute(f'SET search_path TO "{self.schema}"')
                # Read models can always be rebuilt from the log, and rows commit
                # with their tracking position, so a crash can only lose whole pages,
                # which the follower applies again. Not waiting for the disk on each
                # page's commit halves the fsyncs while it keeps up with the writers.
                c.execute("SET synchronous_commit TO off")
        return self.connection

    @contextmanager
    def transaction(self) -> Iterator[Sql]:
        with self._lock, self._transaction() as sql:
            yield sql

    def _begin(self) -> Any:
        """A cursor in a new transaction. A kept connection the server dropped while
        it was idle (a restart) is replaced once: nothing was sent on it yet."""
        kept = self.connection is not None and not self.connection.closed
        try:
            cursor = self._connection().cursor()
            cursor.execute("BEGIN")
            return cursor
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
            if not kept:
                raise library_error(e) from e
            self.connection.close()
        except psycopg2.Error as e:
            raise library_error(e) from e
        try:
            cursor = self._connection().cursor()
            cursor.execute("BEGIN")
            return cursor
        except psycopg2.Error as e:
            raise library_error(e) from e

    @contextmanager
    def _transaction(self) -> Iterator[Sql]:
        cursor = self._begin()
        try:
            deferring = _PostgresCursor(cursor)
            yield deferring
            deferring.commit()
        except psycopg2.Error as e:
            self._rollback(cursor)
            raise library_error(e) from e
        except BaseException:
            self._rollback(cursor)
            raise
        finally:
            cursor.close()

    def _rollback(self, cursor: Any) -> None:
        try:
            cursor.execute("ROLLBACK")
        except psycopg2.Error:
            # The connection is gone; the next transaction makes a new one.
            self.connection.close()

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """A session advisory lock on a connection of its own, so it is held for as
        long as the work runs and freed if the process dies."""
        connection = connect(self.settings)
        try:
            connection.autocommit = True
            with connection.cursor() as c:
                c.execute(
                    "SELECT pg_try_advisory_lock(hashtext(%s))",
                    (f"{self.schema}.{name}",),
                )
                row = c.fetchone()
            yield bool(row and row[0])
        finally:
            connection.close()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


class _PostgresCursor:
    """A page's statements, sent in as few round trips as they can be.

    Writes whose results no one reads (deletes, inserts, batches of updates) wait,
    and go with the next statement whose results are read, or with the COMMIT. A
    follower's page under load holds an event or two and writes a dozen statements
    across the read models; sent one by one, they were a dozen round trips, each a
    wake-up of this thread and of the server, where one will do. A failed
    statement fails the transaction all the same, at the statement sent with it.
    """

    _converted: dict[str, str] = {}  # noqa: RUF012 (a cache shared by all)

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self._deferred: list[bytes] = []

    def _sql(self, statement: str) -> str:
        converted = self._converted.get(statement)
        if converted is None:
            converted = self._converted[statement] = statement.replace("?", "%s")
        return converted

    def _defer(self, statement: bytes) -> None:
        self._deferred.append(statement)

    def _send_deferred(self) -> None:
        if self._deferred:
            statements, self._deferred = self._deferred, []
            self.cursor.execute(b";".join(statements))

    def commit(self) -> None:
        """The deferred writes and COMMIT, in one round trip."""
        statements, self._deferred = [*self._deferred, b"COMMIT"], []
        self.cursor.execute(b";".join(statements))

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        # Its results may be read: everything before it goes first.
        self._send_deferred()
        # No parameters: no formatting, so a literal % in the SQL stays a %.
        if params:
            self.cursor.execute(self._sql(statement), tuple(params))
        else:
            self.cursor.execute(statement)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            sql = self._sql(statement)
            mogrify = self.cursor.mogrify
            self._defer(b";".join([mogrify(sql, tuple(row)) for row in rows]))

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self.cursor.fetchall()
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.cursor.fetchone()
        return row

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        upsert_on: str | None = None,
    ) -> None:
        # One multi-row INSERT per thousand rows.
        for start in range(0, len(rows), 1_000):
            values = self._values(rows[start : start + 1_000], len(columns))
            self._defer(
                _insert_statement(table, columns, "%s", upsert_on).encode() % values
            )

    def delete_where_in(self, table: str, column: str, values: Sequence[Any]) -> None:
        if values:
            self._defer(
                self.cursor.mogrify(
                    f"DELETE FROM {table} WHERE {column} = ANY(%s)", (list(values),)
                )
            )

    def append(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        if len(rows) <= SMALL_APPEND:
            # Each value as COPY would send it (its text), cast by its column.
            values = self._values(rows, len(columns), str)
            self._defer(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ".encode() + values
            )
            return
        # COPY: the server parses one stream instead of a statement per batch. Sent
        # in chunks of up to a megabyte: at psycopg2's default of 8 KB a timeline
        # page took fifty reads and encodes (a third more client CPU).
        self._send_deferred()
        self.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN",
            io.StringIO(copy_text(rows, len(columns))),
            size=COPY_CHUNK,
        )

    def notify(self, channel: str) -> None:
        self._defer(self.cursor.mogrify("SELECT pg_notify(%s, '')", (channel,)))

    def _values(
        self,
        rows: Sequence[Sequence[Any]],
        width: int,
        value: Callable[[Any], Any] | None = None,
    ) -> bytes:
        # One call to quote every value of every row.
        row = "(" + ",".join(["%s"] * width) + ")"
        if value is None:
            params = [v for r in rows for v in r]
        else:
            params = [None if v is None else value(v) for r in rows for v in r]
        values: bytes = self.cursor.mogrify(",".join([row] * len(rows)), params)
        return values


SMALL_APPEND = 64
"""Rows up to which an append is a deferred INSERT rather than a COPY of its own
(two round trips): a follower's pages under load, never a rebuild's."""


COPY_CHUNK = 1 << 20
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_FIELD, _ROW, _NULL = "\x1f", "\x1e", "\x1d"
"""Stand-ins for tab, newline and NULL while a page's COPY text is built."""


def _copy_field(value: Any) -> str:
    """One field in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def copy_text(rows: Sequence[Sequence[Any]], width: int) -> str:
    """Rows in COPY's text format.

    Escaping field by field costs more than the rest of a timeline row. Most pages
    hold no tab, newline, carriage return or backslash in any value, and counting
    them in the joined text proves it: then the text is sent as joined. Otherwise
    the rows are joined with stand-in separators, the whole text is escaped with a
    few ``str.replace`` passes and the stand-ins become tabs, newlines and ``\\N``
    (counted too: a value holding a stand-in is escaped field by field).
    """
    nulls = sum([row.count(None) for row in rows])
    marks = len(rows) * (width - 1), len(rows) - 1
    text = "\n".join(
        ["\t".join(["\\N" if v is None else str(v) for v in row]) for row in rows]
    )
    if (
        (text.count("\t"), text.count("\n")) == marks
        and text.count("\\") == nulls
        and "\r" not in text
    ):
        return text + "\n"
    text = _ROW.join(
        [_FIELD.join([_NULL if v is None else str(v) for v in row]) for row in rows]
    )
    if (text.count(_FIELD), text.count(_ROW)) != marks or text.count(_NULL) != nulls:
        return "".join("\t".join(map(_copy_field, row)) + "\n" for row in rows)
    for special, escaped in (
        ("\\", "\\\\"),
        ("\t", "\\t"),
        ("\n", "\\n"),
        ("\r", "\\r"),
    ):
        if special in text:
            text = text.replace(special, escaped)
    text = text.replace(_FIELD, "\t").replace(_ROW, "\n").replace(_NULL, "\\N")
    return text + "\n"


def open_database(env: Mapping[str, str]) -> ReadModelDatabase:
    """The database an eventsourcing environment (``environment_for``) points at."""
    module = env.get("PERSISTENCE_MODULE")
    if module == "store.sqlite":
        return SQLiteDatabase(env["SQLITE_DBNAME"])
    if module == "store.postgres":
        return PostgresDatabase(
            ConnectionSettings(
                dbname=env["POSTGRES_DBNAME"],
                host=env.get("POSTGRES_HOST") or "127.0.0.1",
                port=int(env.get("POSTGRES_PORT") or 5432),
                user=env.get("POSTGRES_USER") or "postgres",
                password=env.get("POSTGRES_PASSWORD") or "",
                connect_timeout=float(env.get("POSTGRES_CONNECT_TIMEOUT") or 5),
            ),
            schema=env.get("POSTGRES_SCHEMA") or "public",
        )
    raise PersistenceError(f"read models need store.sqlite or store.postgres: {module}")
