"""Shared fixtures: per-test SQLite and PostgreSQL store URLs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from domain.ledger import JourneyLedger
from tests.ledgers import ledger_on
from tests.postgres_server import drop_schema_url, fresh_schema_url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty schema in the test database; dropped afterwards."""
    problem = ""
    try:
        url = fresh_schema_url()
    except (RuntimeError, psycopg2.Error) as error:
        problem = str(error)
    if problem:
        # Never skip: a missing PostgreSQL server is a failure.
        pytest.fail(problem, pytrace=False)
    yield url
    drop_schema_url(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file in the test's temporary directory."""
    return "sqlite:///" + str(tmp_path / "ledger.db")


@pytest.fixture(params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each store backend in turn."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def ledger(store_url: str) -> Iterator[JourneyLedger]:
    """A JourneyLedger on each store in turn."""
    app = ledger_on(store_url)
    yield app
    app.close()
