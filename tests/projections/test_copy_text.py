"""COPY text says exactly what field-by-field escaping says; a small append stores
what COPY stores; deferred writes are read back in their transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from eventsourcing.persistence import PersistenceError

from projections.database import (
    SMALL_APPEND,
    PostgresDatabase,
    _copy_field,
    copy_text,
    open_database,
)
from store.config import environment_for


def field_by_field(rows: list[tuple[Any, ...]]) -> str:
    return "".join("\t".join(map(_copy_field, row)) + "\n" for row in rows)


@pytest.mark.parametrize(
    "rows",
    [
        [(1, "A1234BC", None, "plain")],
        [(2, "tab\there", "new\nline", "back\\slash", "cr\rhere", None, 3.5, True)],
        [(3, "\\N", "None", "", None), (4, "", None, "\\\\t", "x")],
        # Values holding the stand-ins themselves: still exact (the slow way).
        [(5, "unit\x1fsep", None), (6, "rec\x1esep", "grp\x1dsep")],
        [(7, "\x1d", None, "a")],
    ],
)
def test_copy_text_matches_field_by_field(rows: list[tuple[Any, ...]]) -> None:
    assert copy_text(rows, len(rows[0])) == field_by_field(rows)


AWKWARD: list[tuple[Any, ...]] = [
    (1, "A1234BC", True, date(2026, 11, 23), None, 3.5),
    (2, "tab\there new\nline back\\slash cr\rhere", False, None, "x", -0.25),
    (3, "\\N", None, date(2025, 1, 31), "", 0.0),
    (4, "unit\x1fsep rec\x1esep grp\x1dsep 'quoted' \"double\" ünïcødé", True, None,
     "%s %(name)s ?", 1e-9),
]  # fmt: skip
COLUMNS = ("n", "t", "b", "d", "o", "f")


@pytest.fixture
def database(postgres_url: str) -> Iterator[PostgresDatabase]:
    found = open_database(environment_for(postgres_url))
    assert isinstance(found, PostgresDatabase)
    with found.transaction() as sql:
        for table in ("small", "copied"):
            sql.execute(
                f"CREATE TABLE {table} (n BIGINT, t TEXT, b BOOLEAN, d DATE, o TEXT, "
                "f DOUBLE PRECISION)"
            )
    yield found
    found.close()


def test_a_small_append_stores_what_copy_stores(database: PostgresDatabase) -> None:
    """A follower's few rows go as a deferred INSERT, a rebuild's as COPY: the
    tables must not tell them apart."""
    filler = [(100 + i, f"row {i}", False, None, None, float(i)) for i in range(100)]
    assert len(AWKWARD) <= SMALL_APPEND < len(AWKWARD) + len(filler)
    with database.transaction() as sql:
        sql.append("small", COLUMNS, AWKWARD)
        sql.append("copied", COLUMNS, AWKWARD + filler)
    with database.transaction() as sql:
        sql.execute("SELECT * FROM small ORDER BY n")
        small = sql.fetchall()
        sql.execute("SELECT * FROM copied WHERE n < 100 ORDER BY n")
        assert small == sql.fetchall()
    assert [row[1] for row in small] == [row[1] for row in AWKWARD]


def test_deferred_writes_are_read_back_in_their_transaction_and_fail_it(
    database: PostgresDatabase,
) -> None:
    with database.transaction() as sql:
        sql.append("small", COLUMNS, AWKWARD)
        sql.delete_where_in("small", "n", [1, 2])
        sql.execute("SELECT n FROM small ORDER BY n")
        assert sql.fetchall() == [(3,), (4,)]
    with pytest.raises(PersistenceError), database.transaction() as sql:
        sql.delete_where_in("small", "n", [3])
        sql.executemany("INSERT INTO small (n, d) VALUES (?, ?)", [(9, "not a date")])
    with database.transaction() as sql:
        sql.execute("SELECT n FROM small ORDER BY n")
        assert sql.fetchall() == [(3,), (4,)]
