"""The PostgreSQL test harness isolates tests from each other."""

from __future__ import annotations

from contextlib import closing
from urllib.parse import parse_qs, urlsplit

from tests.postgres_server import (
    connect,
    drop_database_url,
    drop_schema_url,
    fresh_database_url,
    fresh_schema_url,
    server_dsn,
)


def _schema(url: str) -> str:
    return parse_qs(urlsplit(url).query)["schema"][0]


def _schema_exists(url: str) -> bool:
    with closing(connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
            (_schema(url),),
        )
        return cur.fetchone() is not None


def _database_exists(name: str) -> bool:
    with closing(connect(server_dsn())) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return cur.fetchone() is not None


def test_fresh_schemas_are_distinct_and_isolated() -> None:
    first, second = fresh_schema_url(), fresh_schema_url()
    try:
        assert _schema(first) != _schema(second)
        assert _schema_exists(first)
        assert _schema_exists(second)

        with closing(connect(first)) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE only_here (id int)")
            conn.commit()
            cur.execute("SELECT to_regclass('only_here') IS NOT NULL")
            assert cur.fetchone() == (True,)
        with closing(connect(second)) as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('only_here') IS NOT NULL")
            assert cur.fetchone() == (False,)
    finally:
        drop_schema_url(first)
        drop_schema_url(second)


def test_drop_schema_url_removes_the_schema() -> None:
    url = fresh_schema_url()
    assert _schema_exists(url)
    drop_schema_url(url)
    assert not _schema_exists(url)


def test_fresh_database_url_creates_and_drops_a_database() -> None:
    url = fresh_database_url()
    name = urlsplit(url).path.lstrip("/")
    assert name.startswith("ledger_t_")
    assert _database_exists(name)
    with closing(connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_database()")
        assert cur.fetchone() == (name,)
    drop_database_url(url)
    assert not _database_exists(name)


def test_postgres_url_fixture_gives_an_empty_schema(postgres_url: str) -> None:
    with closing(connect(postgres_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_schema()")
        assert cur.fetchone() == (_schema(postgres_url),)
        cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
            (_schema(postgres_url),),
        )
        assert cur.fetchone() == (0,)


def test_store_url_covers_both_backends(store_url: str) -> None:
    assert store_url.startswith(("sqlite:///", "postgresql://"))
