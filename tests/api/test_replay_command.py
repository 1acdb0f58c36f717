"""``ledger replay`` on a SQLite file: state, events, both time axes, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from api.cli import main
from api.cli.replay_commands import moment
from domain.commands import (
    CorrectEvent,
    IncidentPerson,
    OpenAcct,
    RecordRelease,
)
from domain.events import CaseEvent
from domain.identifiers import case_id
from domain.ledger import JourneyLedger
from tests.ledgers import ctx, incident, receive, risk_assessment

PN = "A1234BC"


def on(day: int, hour: int = 9) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def store_url(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Only SQLite, the store the command is pointed at (the shared ``ledger`` is
    on it)."""
    monkeypatch.setenv("LEDGER_DATABASE_URL", sqlite_url)
    return sqlite_url


@pytest.fixture
def journey(ledger: JourneyLedger) -> dict[str, Any]:
    """Received 1 March, tiered B on the 2nd (corrected to C later), an incident on
    the 3rd, a late-keyed ACCT opened on the 4th, released on the 20th."""
    receive(ledger, PN, occurred_at=on(1))
    tiered = ledger.record(
        ctx(occurred_at=on(2)), PN, risk_assessment(tier_change_level=1)
    ).version
    ledger.record_incident(
        ctx(occurred_at=on(3)),
        incident(
            IncidentPerson(prisoner_number=PN, role="perpetrator"),
            incident_ref="IR-2025-000123",
            incident_type="fight",
            location="A wing",
            severity="minor",
            narrative="a private account",
        ),
    )
    correction = ledger.record(
        ctx(),
        PN,
        CorrectEvent(
            version=tiered, reason="keyed wrong", corrected_fields={"tier": "C"}
        ),
    ).version
    acct = ledger.record(
        ctx(occurred_at=on(4)), PN, OpenAcct(triggers=["low mood"])
    ).version
    released = ledger.record(
        ctx(occurred_at=on(20)),
        PN,
        RecordRelease(movement_reason="CR", accommodation="settled"),
    ).version
    history = [e for e in ledger.events.get(case_id(PN)) if isinstance(e, CaseEvent)]
    stamps = [e.timestamp for e in history]
    assert stamps == sorted(set(stamps))
    return {
        "tiered": tiered,
        "correction": correction,
        "acct": acct,
        "released": released,
        "stamps": stamps,
    }


def replay_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["replay", PN, *args, "--json"]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_the_case_as_it_stood_for_people(
    journey: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", PN, "--as-of", "2025-03-10"]) == 0
    out = capsys.readouterr().out
    assert "A1234BC as of 2025-03-10T00:00:00+00:00 (valid time)" in out
    assert "in_custody" in out
    assert "C1 / high" in out  # the correction, made later, applies
    assert "ACCT          open" in out
    assert "10001A (received 2025-03-01T09:00:00+00:00 at LEI)" in out
    assert "Events that made it: 6 of 7" in out
    assert "1 excluded by --as-of" in out
    assert f"corrects v{journey['tiered']}: tier=C (reason: keyed wrong)" in out
    assert f"[corrected by v{journey['correction']}]" in out
    assert "Released" not in out
    assert "private account" not in out and "McTestface" not in out


def test_json_on_both_axes(
    journey: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Known when the incident was recorded: before the correction and the ACCT.
    known_at = journey["stamps"][journey["correction"] - 2].isoformat()
    doc = replay_json(capsys, "--as-of", "2025-03-10T12:00", "--known-at", known_at)
    assert doc["exists"] and doc["absent_because"] is None
    assert doc["as_of"] == "2025-03-10T12:00:00+00:00"
    assert doc["known_at"] == known_at
    state = doc["state"]
    assert (state["status"], state["tier"], state["acct_open"]) == (
        "in_custody",
        "B",
        False,
    )
    assert [e["version"] for e in doc["events"]] == list(range(1, 5))
    assert doc["excluded"] == {"known_at": 3, "as_of": 0}
    assert doc["latest_version"] == 7
    incident = doc["events"][3]
    assert incident["kind"] == "IncidentRecorded"
    assert incident["data"]["narrative"] == "(withheld)"
    assert incident["recorded_by"] == "TSTAFF_GEN" and incident["prison"] == "LEI"
    assert doc["events"][1]["data"]["personal_details"] == "(withheld)"

    # Everything known, after the release.
    doc = replay_json(capsys)
    assert doc["state"]["status"] == "released"
    assert doc["state"]["tier"] == "C"
    assert doc["excluded"] == {"known_at": 0, "as_of": 0}
    correction = doc["events"][journey["correction"] - 1]
    assert correction["corrects_version"] == journey["tiered"]
    assert correction["corrected_fields"] == {"tier": "C"}


def test_before_the_case_existed(
    journey: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", PN, "--as-of", "2025-02-28T23:59+00:00"]) == 0
    assert "no case at that time: it was not yet opened" in capsys.readouterr().out
    doc = replay_json(capsys, "--known-at", "2020-01-01")
    assert doc["exists"] is False and doc["absent_because"] == "known_at"
    assert doc["state"] is None and doc["events"] == []
    assert doc["excluded"] == {"known_at": 7, "as_of": 0}


def test_unknown_prisoner_and_bad_input(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", "Z9999ZZ"]) == 1
    captured = capsys.readouterr()
    assert "no case for Z9999ZZ" in captured.err
    assert "Traceback" not in captured.err + captured.out
    for args in (
        ["replay", PN, "--as-of", "last tuesday"],
        ["replay", PN, "--known-at", "2025-13-01"],
        ["replay", "a1234bc"],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(args)
        assert exit_.value.code == 2
    assert "not an ISO date" in capsys.readouterr().err


def test_times_without_an_offset_are_utc() -> None:
    assert moment("2025-03-01") == datetime(2025, 3, 1, tzinfo=UTC)
    assert moment("2025-03-01T12:00") == datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert moment("2025-03-01T12:00+01:00") == datetime(2025, 3, 1, 11, tzinfo=UTC)
    assert moment("2025-03-01T12:00Z") == datetime(2025, 3, 1, 12, tzinfo=UTC)
