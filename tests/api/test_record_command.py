"""``ledger record``: the commands on a case from the command line, generated from the
same declarations as the API, refusing what the API refuses. Synthetic data."""

from __future__ import annotations

import json

import pytest

from api.cli import main
from domain.commands import CASE_COMMANDS
from tests.ledgers import ledger_on

PN = "A1234BC"
WHO = ["--prison", "LEI", "--recorded-by", "JSMITH_GEN"]


@pytest.fixture
def url(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LEDGER_DATABASE_URL", store_url)
    return store_url


def record(*args: str) -> int:
    return main(["record", *args])


def receive() -> None:
    assert (
        record(
            "receptions", PN, *WHO, "--booking-no", "12345A",
            "--movement-reason", "N", "--legal-status", "remand",
            "--personal-details", '{"first_name": "Alex", "last_name": "Example"}',
        )
        == 0
    )  # fmt: skip


def stored(url: str) -> int:
    ledger = ledger_on(url)
    try:
        return ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()


def test_every_command_on_a_case_is_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["record", "--help"])
    shown = capsys.readouterr().out
    assert all(c.resource in shown for c in CASE_COMMANDS)


def test_commands_are_recorded_and_answered_as_json(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    receive()
    assert json.loads(capsys.readouterr().out)["version"] == 2
    assert (
        record(
            "health-screenings", PN, *WHO, "--stage", "initial", "--outcome", "ok",
            "--referrals", "dentist", "--referrals", "optician",
        )
        == 0
    )  # fmt: skip
    assert json.loads(capsys.readouterr().out)["version"] == 3
    ledger = ledger_on(url)
    try:
        case = ledger.case(PN)
        assert case.screenings.keys() == {"initial"}
        assert case.facts[-1]["fields"]["referrals"] == ["dentist", "optician"]
        assert case.personal_details == {"first_name": "Alex", "last_name": "Example"}
    finally:
        ledger.close()


def test_refusals_name_the_field_and_store_nothing(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    receive()
    before = stored(url)
    capsys.readouterr()
    assert (
        record("transfers", PN, *WHO, "--to-prison", "XYZ", "--movement-reason", "NOTR")
        == 1
    )
    assert "XYZ is not a prison in the register" in capsys.readouterr().err
    assert record("acct-reviews", PN, *WHO, "--outcome", "never") == 1
    assert "outcome 'never' is not one of" in capsys.readouterr().err
    with pytest.raises(SystemExit) as misspelt:
        record("acct-closures", PN, *WHO, "--reason", "ok", "--reasn", "typo")
    assert misspelt.value.code == 2
    assert "--reasn" in capsys.readouterr().err
    assert stored(url) == before
