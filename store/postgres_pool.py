"""psycopg2 connections, pooled by the library's thread-safe ConnectionPool.

The library's pool brings fairness, overflow, timeouts, max age and an in-process
writer lock; this module adds psycopg2 connections to it, turns driver errors into the
library's persistence errors, and replaces connections that the server has dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from eventsourcing import persistence as es


@dataclass(frozen=True)
class ConnectionSettings:
    dbname: str
    host: str
    port: int
    user: str
    password: str
    connect_timeout: float

    def describe(self) -> str:
        return f"PostgreSQL at {self.host}:{self.port} (database {self.dbname!r})"


# Most specific first; psycopg2's classes mirror DB-API's, as the library's do.
_ERROR_MAP: tuple[tuple[type[psycopg2.Error], type[es.PersistenceError]], ...] = (
    (psycopg2.IntegrityError, es.IntegrityError),
    (psycopg2.OperationalError, es.OperationalError),
    (psycopg2.InterfaceError, es.InterfaceError),
    (psycopg2.DataError, es.DataError),
    (psycopg2.InternalError, es.InternalError),
    (psycopg2.ProgrammingError, es.ProgrammingError),
    (psycopg2.NotSupportedError, es.NotSupportedError),
    (psycopg2.DatabaseError, es.DatabaseError),
    (psycopg2.Error, es.PersistenceError),
)


def library_error(error: psycopg2.Error) -> es.PersistenceError:
    """The library's persistence error for a psycopg2 error."""
    for driver_class, library_class in _ERROR_MAP:
        if isinstance(error, driver_class):
            return library_class(str(error).strip() or type(error).__name__)
    return es.PersistenceError(str(error))  # pragma: no cover (map ends in Error)


def connect(settings: ConnectionSettings) -> psycopg2.extensions.connection:
    """A new autocommit connection; unreachable servers are named, not tracebacks."""
    try:
        conn = psycopg2.connect(
            dbname=settings.dbname,
            host=settings.host,
            port=settings.port,
            user=settings.user,
            password=settings.password or None,
            connect_timeout=max(1, round(settings.connect_timeout)),
            application_name="journey-ledger",
            # Keepalives let a LISTEN connection notice a dead server.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
    except psycopg2.OperationalError as e:
        # libpq: 'connection to server at "h", port p failed: <why>\n\t<hint>'
        first_line = (str(e).strip().splitlines() or ["no reason given"])[0]
        reason = first_line.rpartition(" failed: ")[2] or first_line
        msg = f"cannot connect to {settings.describe()}: {reason}"
        raise es.OperationalError(msg) from e
    # Transactions are explicit (BEGIN ... COMMIT sent in the same batch as the work),
    # which is what lets a save be one round trip.
    if conn.get_parameter_status("standard_conforming_strings") != "on":
        conn.close()
        msg = (
            f"{settings.describe()} has standard_conforming_strings off; the store "
            "writes bytea as '\\x...' literals and needs it on (the default)"
        )
        raise es.OperationalError(msg)
    conn.autocommit = True
    psycopg2.extras.register_uuid(conn_or_curs=conn)  # type: ignore[no-untyped-call]
    return conn


class PooledConnection(es.Connection[Any]):
    """A pooled connection that connects on first use.

    Connecting lazily, inside :meth:`Psycopg2ConnectionPool.connection`, means a
    failed connect is raised while the pool's bookkeeping (its writer lock above all)
    can still be released; a failed connection counts as closed and is discarded.
    """

    def __init__(self, settings: ConnectionSettings, max_age: float | None) -> None:
        super().__init__(max_age=max_age)
        self._settings = settings
        self._pg_conn: psycopg2.extensions.connection | None = None
        self._failed = False

    @property
    def pg_conn(self) -> psycopg2.extensions.connection:
        if self._pg_conn is None:
            try:
                self._pg_conn = connect(self._settings)
            except es.OperationalError:
                self._failed = True
                raise
        return self._pg_conn

    @property
    def closed(self) -> bool:
        return (
            self._closed
            or self._failed
            or (self._pg_conn is not None and bool(self._pg_conn.closed))
        )

    def cursor(self) -> Any:
        return self.pg_conn.cursor()

    def commit(self) -> None:
        self.pg_conn.commit()

    def rollback(self) -> None:
        self.pg_conn.rollback()

    def _close(self) -> None:
        if self._pg_conn is not None:
            self._pg_conn.close()
        super()._close()


class Psycopg2ConnectionPool(es.ConnectionPool[PooledConnection]):
    def __init__(self, settings: ConnectionSettings, **pool_options: Any) -> None:
        self.settings = settings
        super().__init__(**pool_options)

    def _create_connection(self) -> PooledConnection:
        return PooledConnection(self.settings, max_age=self.max_age)

    def discard_idle(self) -> None:
        """Close all idle connections: when one is found dead, the rest usually are."""
        with self._put_condition:
            while self._pool:
                self._pool.popleft().close()

    @contextmanager
    def connection(self, *, writer: bool = False) -> Iterator[PooledConnection]:
        """A connection for the block; a broken one is dropped, not returned to use.

        ``writer=True`` takes the pool's writer lock, so in one process only one
        thread at a time is in the write path. The table lock would serialise them
        anyway; waiting here keeps one connection per process, not one per thread,
        queued on it in the server, where each waiter counts against lock_timeout.
        """
        conn = self.get_connection(is_writer=True if writer else None)
        try:
            yield conn
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
            if conn.closed:
                self.discard_idle()
            raise library_error(e) from e
        except psycopg2.Error as e:
            raise library_error(e) from e
        finally:
            self.put_connection(conn)
