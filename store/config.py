"""One setting chooses the store: ``LEDGER_DATABASE_URL``, mapped onto eventsourcing's.

Accepted forms::

    sqlite:///var/ledger.db                      (the default, relative to the cwd)
    sqlite:////absolute/path/ledger.db
    sqlite:///:memory:
    postgresql://user:password@host:port/dbname?schema=ledger

Options go in the query string: for SQLite ``poll_interval`` (seconds, default 0.05)
and ``lock_timeout`` (seconds); for PostgreSQL ``schema`` (default public),
``pool_size``, ``max_overflow``, ``pool_timeout``, ``connect_timeout``,
``lock_timeout`` and ``conn_max_age``.
"""

from __future__ import annotations

import os
import re
from typing import NoReturn
from urllib.parse import parse_qsl, unquote, urlsplit

VARIABLE = "LEDGER_DATABASE_URL"
DEFAULT_URL = "sqlite:///var/ledger.db"
ACCEPTED_FORMS = (
    "sqlite:///path/to/ledger.db (default sqlite:///var/ledger.db), "
    "sqlite:///:memory:, or postgresql://user:password@host:port/dbname?schema=ledger"
)

_SQLITE_OPTIONS = {
    "poll_interval": "SQLITE_POLL_INTERVAL",
    "lock_timeout": "SQLITE_LOCK_TIMEOUT",
}
_POSTGRES_OPTIONS = {
    "schema": "POSTGRES_SCHEMA",
    "pool_size": "POSTGRES_POOL_SIZE",
    "max_overflow": "POSTGRES_MAX_OVERFLOW",
    "pool_timeout": "POSTGRES_POOL_TIMEOUT",
    "connect_timeout": "POSTGRES_CONNECT_TIMEOUT",
    "lock_timeout": "POSTGRES_LOCK_TIMEOUT",
    "conn_max_age": "POSTGRES_CONN_MAX_AGE",
}
POOL_DEFAULTS = {"POSTGRES_POOL_SIZE": "15", "POSTGRES_MAX_OVERFLOW": "0"}
"""Connections to a PostgreSQL store, unless the URL sets ``pool_size`` /
``max_overflow``: at most 15 at once, as the library's defaults allow (5 kept, 10
more on demand), but all kept. With only 5 kept, a process with more busy threads
than that (an API under load, a follower and its subscription) made and closed a
connection, a server process each, on most saves."""
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StoreConfigurationError(ValueError):
    """LEDGER_DATABASE_URL is not a URL the ledger can use."""


def database_url() -> str:
    """The configured URL: ``LEDGER_DATABASE_URL``, else the embedded default."""
    return os.environ.get(VARIABLE, "").strip() or DEFAULT_URL


def environment_for(url: str | None = None) -> dict[str, str]:
    """The eventsourcing environment (PERSISTENCE_MODULE and settings) for a URL."""
    url = url or database_url()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    options = _options(url, parts.query)
    if scheme == "sqlite":
        if parts.netloc:
            _fail(url, "a SQLite URL has no host: use three slashes, sqlite:///path")
        path = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
        if not path:
            _fail(url, "the SQLite URL names no file")
        env = {"PERSISTENCE_MODULE": "store.sqlite", "SQLITE_DBNAME": path}
        return env | _mapped(url, options, _SQLITE_OPTIONS)
    if scheme in ("postgresql", "postgres"):
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname or "/" in dbname:
            _fail(url, "the PostgreSQL URL names no database")
        try:
            port = parts.port or 5432
        except ValueError:
            _fail(url, "the port is not a number")
        env = {
            "PERSISTENCE_MODULE": "store.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(port),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
        }
        env |= POOL_DEFAULTS | _mapped(url, options, _POSTGRES_OPTIONS)
        if not _SCHEMA.match(env.get("POSTGRES_SCHEMA", "public")):
            _fail(url, "schema must be lower case letters, digits and _")
        return env
    _fail(url, f"unknown scheme {parts.scheme!r}" if parts.scheme else "no scheme")


def _options(url: str, query: str) -> dict[str, str]:
    try:
        return dict(
            parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        )
    except ValueError:
        _fail(url, "the query string is malformed")


def _mapped(url: str, options: dict[str, str], known: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(options) - set(known))
    if unknown:
        _fail(url, f"unknown option(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return {known[name]: value for name, value in options.items()}


def _fail(url: str, reason: str) -> NoReturn:
    shown = re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)  # never echo a password
    msg = (
        f"{VARIABLE}={shown!r} is not usable: {reason}. "
        f"Accepted forms: {ACCEPTED_FORMS}"
    )
    raise StoreConfigurationError(msg)
