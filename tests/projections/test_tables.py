"""Each read-model table is stored, written and read as its declaration says, on both
stores and by both ways rows are written (INSERT for a few, COPY for many)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import projections.database
from domain.access import AccessEvent
from domain.commands import (
    AllocateOfficer,
    CorrectEvent,
    MergeCases,
    OpenAcct,
    RegisterOfficer,
    SetReleaseDate,
)
from domain.events import CaseEvent
from domain.ledger import JourneyLedger
from projections.access_log import ACCESS_LOG, CASE_READ
from projections.case_state import CASE_STATE, row_of
from projections.caseloads import CASELOADS, OFFICERS, officer_row
from projections.catalogue import READ_MODELS
from projections.database import ReadModelDatabase
from projections.read_model import moment
from projections.tables import TEXT, Column, Table
from projections.timeline import TIMELINE, encode_data
from tests.ledgers import ctx, receive, risk_assessment
from tests.projections.conftest import ReadModels

PN, OTHER = "A1234BC", "B2222BB"
DAY = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def _stored_columns(
    database: ReadModelDatabase, table: str
) -> list[tuple[str, str, bool]]:
    """(name, SQL type, may be null) of each column of the stored table, in order."""
    with database.transaction() as sql:
        if database.dialect == "sqlite":
            sql.execute(f"PRAGMA table_info({table})")
            return [(r[1], r[2], not r[3] and not r[5]) for r in sql.fetchall()]
        sql.execute(
            "SELECT column_name, data_type, is_nullable "
            "FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? "
            "ORDER BY ordinal_position",
            (table,),
        )
        return [(r[0], r[1].upper(), r[2] == "YES") for r in sql.fetchall()]


def _stored_key(database: ReadModelDatabase, table: str) -> list[str]:
    with database.transaction() as sql:
        if database.dialect == "sqlite":
            sql.execute(f"PRAGMA table_info({table})")
            return [r[1] for r in sorted(sql.fetchall(), key=lambda r: r[5]) if r[5]]
        sql.execute(
            "SELECT k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k "
            "ON k.constraint_name = c.constraint_name "
            "AND k.table_schema = c.table_schema "
            "WHERE c.table_schema = current_schema() AND c.table_name = ? "
            "AND c.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position",
            (table,),
        )
        return [r[0] for r in sql.fetchall()]


def _stored_index(database: ReadModelDatabase, index: str) -> tuple[list[str], bool]:
    with database.transaction() as sql:
        if database.dialect == "sqlite":
            sql.execute(f"PRAGMA index_info({index})")
            names = [r[2] for r in sql.fetchall()]
            sql.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,))
            row = sql.fetchone()
            return names, row is not None and row[0].startswith("CREATE UNIQUE")
        sql.execute(
            "SELECT a.attname, i.indisunique FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) "
            "WHERE c.relname = ? AND c.relnamespace = current_schema()::regnamespace "
            "ORDER BY array_position(i.indkey::int2[], a.attnum)",
            (index,),
        )
        rows = sql.fetchall()
        return [r[0] for r in rows], bool(rows and rows[0][1])


def test_every_table_is_stored_as_declared(read_models: ReadModels) -> None:
    database = read_models.database
    tables = 0
    for model_class in READ_MODELS.values():
        model = model_class()
        for table in model.tables:
            tables += 1
            declared = [(c.name, c.kind.sql, c.nullable) for c in table.columns]
            assert _stored_columns(database, table.name) == declared, table.name
            assert _stored_key(database, table.name) == list(table.key), table.name
        for index in model.indexes:
            assert _stored_index(database, index.name) == (
                list(index.columns),
                index.unique,
            ), index.name
    assert tables == 8


@pytest.fixture(params=["insert", "copy"])
def append_by(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every page's rows written as INSERTs, or (PostgreSQL) as COPY."""
    if request.param == "copy":
        monkeypatch.setattr(projections.database, "SMALL_APPEND", 0)
    return str(request.param)


def _journeys(ledger: JourneyLedger) -> None:
    """Events whose every recorded field differs from its neighbours', so a value
    written to the wrong column shows."""
    ledger.register_officer(
        ctx(),
        RegisterOfficer(
            officer_id="KW1_LEI",
            name="Kay",
            roles=["key_worker", "pom"],
            home_prison="LEI",
        ),
    )
    # The officer's caseload full, so PN's allocation needs an override.
    for i in range(1, 7):
        number = f"C{i:04d}CC"
        receive(ledger, number)
        ledger.record(
            ctx(),
            number,
            AllocateOfficer(officer_id="KW1_LEI", role="key_worker", reason="new"),
        )
    receive(ledger, PN, legal_status="sentenced", movement_reason="I")
    version = ledger.record(
        ctx(occurred_at=DAY, source_ref="oasys-1", authority="SPO_LEI"),
        PN,
        risk_assessment(),
    ).version
    ledger.record(
        ctx(authority="GOV_LEI"),
        PN,
        CorrectEvent(
            version=version, reason="wrong form", corrected_fields={"tier": "C"}
        ),
    )
    ledger.record(
        ctx(authority="CUSTMGR_LEI"),
        PN,
        AllocateOfficer(
            officer_id="KW1_LEI",
            role="key_worker",
            reason="new",
            override_reason="staff sickness",
        ),
    )
    ledger.record(
        ctx(),
        PN,
        SetReleaseDate(date_type="CRD", release_date=(DAY + timedelta(days=11)).date()),
    )
    ledger.record(ctx(), PN, OpenAcct(triggers=["low mood"]))
    receive(ledger, OTHER, prison="MDI")
    ledger.execute(ctx(), OTHER, MergeCases(survivor_number=PN))
    ledger.record_case_read(
        reader="AUDITOR_GEN",
        roles=["inspector", "investigator"],
        correlation_id="corr-read",
        prisoner_number=PN,
        resource="timeline",
    )
    ledger.record_access_log_read(
        reader="AUDITOR_GEN",
        roles=["inspector"],
        correlation_id="corr-log",
        filters={"prisoner_number": PN, "reader": "KW1_LEI"},
    )


def _events(ledger: JourneyLedger) -> list[tuple[int, Any]]:
    recorder: Any = ledger.recorder
    return [
        (n.id, ledger.mapper.to_domain_event(n))
        for n in recorder.select_notifications(1, 1_000)
    ]


def test_rows_land_in_their_declared_columns(
    ledger: JourneyLedger, read_models: ReadModels, append_by: str
) -> None:
    _journeys(ledger)
    queries = read_models.catch_up()

    for number in (PN, OTHER):
        made = CASE_STATE.written_dict(row_of(ledger.case(number)))
        assert queries.case_state(number) == made

    officer = ledger.officer("KW1_LEI")
    assert queries.officer("KW1_LEI") == OFFICERS.written_dict(officer_row(officer))
    [held] = [r for r in queries.caseload("KW1_LEI") if r["prisoner_number"] == PN]
    assert held == {
        "prisoner_number": PN,
        "role": "key_worker",
        "prison": "LEI",
        "allocated_at": held["allocated_at"],
        "override_reason": "staff sickness",
        "authority": "CUSTMGR_LEI",
    }
    assert list(held) == list(CASELOADS.names[1:])

    numbers = (PN, OTHER, *(f"C{i:04d}CC" for i in range(1, 7)))
    timelines = {n: {r["position"]: r for r in queries.timeline(n)} for n in numbers}
    where = {p: n for n, rows in timelines.items() for p in rows}
    reads = {r["position"]: r for r in queries.access_log()}
    case_events = access_events = 0
    for position, event in _events(ledger):
        if isinstance(event, CaseEvent):
            case_events += 1
            number = where[position]
            row = timelines[number][position]
            assert list(row) == list(TIMELINE.names)
            assert row == {
                "position": position,
                "prisoner_number": number,
                "case_version": event.originator_version,
                "kind": type(event).__name__,
                "occurred_at": moment(event.occurred_at),
                "recorded_at": moment(event.timestamp),
                "recorded_by": event.recorded_by,
                "prison": event.prison,
                "source": event.source,
                "source_ref": event.source_ref,
                "correlation_id": event.correlation_id,
                "authority": event.authority,
                "summary": event.summary(),
                "data": encode_data(event.data()),
                "corrects_version": getattr(event, "corrects_version", None),
                "corrected_by_version": row["corrected_by_version"],
                "related_number": row["related_number"],
                "leaf_hash": row["leaf_hash"],
            }
        elif isinstance(event, AccessEvent) and position in reads:
            access_events += 1
            row = reads[position]
            assert list(row) == list(ACCESS_LOG.names)
            assert (row["read_at"], row["reader"], row["roles"]) == (
                moment(event.occurred_at),
                event.reader,
                ",".join(event.roles),
            )
            assert row["correlation_id"] == event.correlation_id
    assert (case_events, access_events) == (29, 2)
    corrected = next(r for r in timelines[PN].values() if r["kind"] == "RiskAssessed")
    correction = next(
        r for r in timelines[PN].values() if r["kind"] == "EventCorrected"
    )
    assert corrected["corrected_by_version"] == correction["case_version"]
    merges = [r for t in timelines.values() for r in t.values() if r["related_number"]]
    assert {(r["prisoner_number"], r["related_number"]) for r in merges} == {
        (PN, OTHER),
        (OTHER, PN),
    }
    case_read, log_read = sorted(reads.values(), key=lambda r: r["position"])
    assert (case_read["kind"], case_read["prisoner_number"]) == (CASE_READ, PN)
    assert (case_read["resource"], case_read["filters"]) == ("timeline", None)
    assert (log_read["prisoner_number"], log_read["resource"]) == (None, "access-log")
    assert log_read["filters"] == '{"prisoner_number": "A1234BC", "reader": "KW1_LEI"}'


def test_a_table_must_lead_with_its_key_and_name_each_column_once() -> None:
    def key(name: str) -> Column[Any]:
        return Column(name, TEXT, key=True)

    with pytest.raises(ValueError, match="key columns must come first"):
        Table("t", (Column("a", TEXT), key("b")))
    with pytest.raises(ValueError, match="declared twice"):
        Table("t", (key("a"), Column("a", TEXT)))
    with pytest.raises(ValueError, match="does not say its value"):
        Table("t", (key("a"),)).row_maker()
    with pytest.raises(KeyError):
        CASE_STATE.select_list(["prisoner_number", "no_such_column"])
