"""Find a PostgreSQL server for the tests and hand out isolated schemas/databases.

Usable from pytest fixtures and from unittest.TestCase subclasses alike.

Lookup order for the server (see ``server_dsn``):

1. ``LEDGER_TEST_POSTGRES_URL``, if set;
2. the local server ``postgresql://postgres@127.0.0.1:5432/postgres``, if it
   accepts a connection;
3. a throwaway cluster started with ``initdb`` and ``pg_ctl`` (stopped and
   deleted at process exit);
4. otherwise ``RuntimeError`` saying how to get PostgreSQL.
"""

from __future__ import annotations

import atexit
import functools
import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from contextlib import closing, suppress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg2
from psycopg2 import errors, sql
from psycopg2.extensions import connection as Connection

ENV_VAR = "LEDGER_TEST_POSTGRES_URL"
LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TEST_DATABASE = "ledger_tests"

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

_server_error: RuntimeError | None = None


def server_dsn() -> str:
    """Return a postgresql:// URL for a server the tests may create things in.

    The result (or the failure) is cached for the life of the process.
    """
    global _server_error
    if _server_error is not None:
        raise _server_error
    try:
        return _find_server()
    except RuntimeError as error:
        _server_error = error
        raise


@functools.cache
def _find_server() -> str:
    url = os.environ.get(ENV_VAR)
    if url:
        return url
    if _accepts_connection(LOCAL_URL):
        return LOCAL_URL
    pg_ctl = _find_pg_ctl()
    if pg_ctl is not None:
        return start_throwaway_cluster(pg_ctl)
    raise RuntimeError(
        "No PostgreSQL server for the tests: nothing accepts connections at "
        f"{LOCAL_URL} and pg_ctl is not installed. Install PostgreSQL "
        "(Debian/Ubuntu: apt-get install -y postgresql) or set "
        f"{ENV_VAR} to a postgresql:// URL of a database the tests may "
        "create schemas and databases in."
    )


def connect(url: str, **kwargs: object) -> Connection:
    """Open a psycopg2 connection for a URL, honouring a ``?schema=`` parameter."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = dict(query).get("schema")
    rest = [(key, value) for key, value in query if key != "schema"]
    dsn = urlunsplit(parts._replace(query=urlencode(rest)))
    if schema is not None:
        kwargs.setdefault("options", f"-c search_path={_checked(schema)}")
    kwargs.setdefault("connect_timeout", 10)
    return psycopg2.connect(dsn, **kwargs)


def fresh_schema_url() -> str:
    """Create a new schema in the shared ``ledger_tests`` database; return its URL."""
    _ensure_test_database()
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = _with_database(server_dsn(), TEST_DATABASE, schema=name)
    with closing(connect(_without_schema(url))) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        conn.commit()
    return url


def drop_schema_url(url: str) -> None:
    """Drop the schema named in a URL from ``fresh_schema_url`` (CASCADE)."""
    schema = dict(parse_qsl(urlsplit(url).query)).get("schema")
    if schema is None:
        raise ValueError(f"no schema in {url!r}")
    with closing(connect(_without_schema(url))) as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(_checked(schema))
            )
        )
        conn.commit()


def fresh_database_url() -> str:
    """Create a new database ``ledger_t_<hex>`` on the server; return its URL."""
    name = f"ledger_t_{uuid.uuid4().hex[:12]}"
    _autocommit(
        server_dsn(), sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    )
    return _with_database(server_dsn(), name)


def drop_database_url(url: str) -> None:
    """Drop the database named in a URL from ``fresh_database_url`` (FORCE)."""
    name = _checked(urlsplit(url).path.lstrip("/"))
    _autocommit(
        server_dsn(),
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
    )


def start_throwaway_cluster(pg_ctl: str) -> str:
    """Start a private cluster with ``initdb``/``pg_ctl``; return its URL.

    The cluster listens on 127.0.0.1 at a free port, trusts local connections
    for the user ``postgres``, and is stopped and deleted at process exit.
    """
    bindir = os.path.dirname(os.path.realpath(pg_ctl))
    initdb = os.path.join(bindir, "initdb")
    if not os.path.exists(initdb):
        initdb = shutil.which("initdb") or initdb
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []

    datadir = tempfile.mkdtemp(prefix="ledger-pg-")
    if as_root:
        shutil.chown(datadir, user="postgres", group="postgres")

    def run(*command: str) -> None:
        result = subprocess.run(
            [*prefix, *command],
            cwd=datadir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            log = _read(os.path.join(datadir, "server.log"))
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{log}"
            )

    def stop() -> None:
        if not os.path.isdir(datadir):
            return
        subprocess.run(
            [*prefix, pg_ctl, "-D", datadir, "-m", "immediate", "stop"],
            cwd=datadir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
        shutil.rmtree(datadir, ignore_errors=True)

    port = _free_port()
    try:
        run(
            initdb,
            "-D",
            datadir,
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        atexit.register(stop)
        run(
            pg_ctl,
            "-D",
            datadir,
            "-o",
            f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1",
            "-l",
            os.path.join(datadir, "server.log"),
            "-w",
            "start",
        )
    except (OSError, RuntimeError) as error:
        stop()
        raise RuntimeError(
            f"Could not start a throwaway PostgreSQL cluster in {datadir}: {error}"
        ) from error
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


@functools.cache
def _ensure_test_database() -> None:
    with closing(connect(server_dsn())) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (TEST_DATABASE,)
            )
            if cur.fetchone() is not None:
                return
            # Tolerate another process creating it first.
            with suppress(errors.DuplicateDatabase, errors.UniqueViolation):
                cur.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEST_DATABASE))
                )


def _autocommit(url: str, statement: sql.Composable) -> None:
    with closing(connect(url)) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement)


def _with_database(url: str, database: str, schema: str | None = None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"]
    if schema is not None:
        query.append(("schema", schema))
    return urlunsplit(parts._replace(path=f"/{database}", query=urlencode(query)))


def _without_schema(url: str) -> str:
    return _with_database(url, urlsplit(url).path.lstrip("/"))


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"unexpected identifier {name!r}")
    return name


def _accepts_connection(url: str) -> bool:
    try:
        with closing(psycopg2.connect(url, connect_timeout=2)):
            return True
    except psycopg2.Error:
        return False


def _find_pg_ctl() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return found
    candidates = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    candidates.sort(key=_version_key, reverse=True)
    return candidates[0] if candidates else None


def _version_key(path: str) -> tuple[int, ...]:
    version = path.split("/")[-3]
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""
