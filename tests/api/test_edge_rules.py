"""The write edge refuses what it cannot record faithfully, and nothing is stored.

An accepted mistake is permanent in an append-only ledger, so each rule here is shown
failing a request that today's clients could plausibly send: a misspelt field,
non-ASCII digits in an identifier, a time in the future or outside any real custody,
an unknown prison, and an Idempotency-Key reused for another request. All on both
stores. All data is synthetic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_commands import (
    COMMANDS,
    OTHER,
    PN,
    body_of,
    last_position,
    ledger_of,
    received,
)


def post(
    api: Api,
    path: str,
    body: dict[str, Any],
    *,
    prisons: tuple[str, ...] = ("LEI", "MDI"),
    key: str | None = None,
) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return api.as_("recorder", prisons)("POST", path, json=body, headers=headers)


def refused(reply: Any, status: int, field: str) -> dict[str, Any]:
    """The reply is problem+json with ``status``, naming ``field``."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = reply.json()
    assert problem["field"] == field, problem
    return problem


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_misspelt_field_is_refused_by_every_command(api: Api, name: str) -> None:
    command = COMMANDS[name]
    command.prepare(ledger_of(api))
    before = last_position(api)
    body = {**body_of(command), "occured_at": "2025-03-01T09:30:00Z"}
    if name == "officers":
        body["home_prison"] = "LEI"
    problem = refused(post(api, command.path, body), 422, "occured_at")
    assert "occured_at" in problem["detail"]
    assert last_position(api) == before


def test_a_misspelt_field_inside_a_nested_object_is_refused(api: Api) -> None:
    body = body_of(COMMANDS["receptions"], personal_details={"frist_name": "Alex"})
    refused(
        post(api, f"/cases/{PN}/receptions", body), 422, "personal_details.frist_name"
    )
    assert last_position(api) == 0


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # Arabic-Indic digits: a regular expression's \d matches them.
        ("/cases/A\u0661\u0662\u0663\u0664BC/receptions", {}, "prisoner_number"),
        (f"/cases/{PN}/receptions", {"booking_no": "\u0661\u0662345A"}, "booking_no"),
        (f"/cases/{PN}/receptions", {"prison": "LE\u0130"}, "prison"),
        (f"/cases/{PN}/receptions", {"booking_no": "12345\uff21"}, "booking_no"),
    ],
)
def test_identifiers_are_ascii_only(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    reply = post(api, path, {**body_of(COMMANDS["receptions"]), **body})
    assert reply.status_code == 422, reply.text
    assert field in reply.json()["field"]
    assert last_position(api) == 0


def test_an_incident_refuses_a_non_ascii_prisoner_number(api: Api) -> None:
    received(ledger_of(api), PN, OTHER)
    before = last_position(api)
    body = body_of(COMMANDS["incidents"])
    body["people"] = [{"prisoner_number": "A\u0661234BC", "role": "victim"}]
    reply = post(api, "/incidents", body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == "people.0.prisoner_number"
    assert last_position(api) == before


def test_occurred_at_may_not_be_in_the_future_beyond_the_clock_skew(api: Api) -> None:
    received(ledger_of(api))
    before = last_position(api)
    tests = COMMANDS["drug-tests"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    problem = refused(
        post(api, tests.path, body_of(tests, occurred_at=later)), 422, "occurred_at"
    )
    assert "future" in problem["detail"]
    assert last_position(api) == before
    # A client's clock a minute fast is within the allowed skew.
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert post(api, tests.path, body_of(tests, occurred_at=soon)).status_code == 201


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1850-06-01T12:00Z"],
)
def test_impossible_times_are_refused(api: Api, moment: str) -> None:
    body = body_of(COMMANDS["receptions"], occurred_at=moment)
    refused(post(api, f"/cases/{PN}/receptions", body), 422, "occurred_at")
    assert last_position(api) == 0


def test_a_date_of_birth_in_the_future_is_refused(api: Api) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    body = body_of(
        COMMANDS["receptions"],
        personal_details={"first_name": "Alex", "date_of_birth": tomorrow},
    )
    problem = refused(
        post(api, f"/cases/{PN}/receptions", body),
        422,
        "personal_details.date_of_birth",
    )
    assert "future" in problem["detail"]
    assert last_position(api) == 0


def test_a_correction_cannot_move_an_event_into_the_future(api: Api) -> None:
    received(ledger_of(api))
    before = last_position(api)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = body_of(
        COMMANDS["corrections"],
        version=2,
        corrected_fields={"occurred_at": later},
    )
    reply = post(api, COMMANDS["corrections"].path, body)
    assert reply.status_code == 422, reply.text
    assert "future" in reply.json()["detail"]
    assert last_position(api) == before


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("transfers", {"to_prison": "XYZ"}),
        ("drug-tests", {"prison": "XYZ"}),
        ("receptions", {"prison": "XYZ"}),
    ],
)
def test_an_unknown_prison_is_refused_in_a_command(
    api: Api, name: str, change: dict[str, Any]
) -> None:
    command = COMMANDS[name]
    command.prepare(ledger_of(api))
    before = last_position(api)
    problem = refused(
        post(api, command.path, body_of(command, **change), prisons=("LEI", "XYZ")),
        422,
        next(iter(change)),
    )
    assert problem["rule"] == "known-prison"
    assert last_position(api) == before


def test_nothing_new_is_recorded_at_a_closed_prison(api: Api) -> None:
    received(ledger_of(api))
    before = last_position(api)
    transfer = COMMANDS["transfers"]
    # HMP Albany (ALI) is in the register, and closed.
    problem = refused(
        post(api, transfer.path, body_of(transfer, to_prison="ALI")), 422, "to_prison"
    )
    assert "closed" in problem["detail"]
    assert last_position(api) == before


# --- Idempotency-Key and source_ref are bound to the request --------------------------


def test_a_retry_gets_the_first_answer(api: Api) -> None:
    received(ledger_of(api))
    tests = COMMANDS["drug-tests"]
    first = post(api, tests.path, body_of(tests), key="retry-1")
    assert first.status_code == 201, first.text
    stored = last_position(api)
    again = post(api, tests.path, body_of(tests), key="retry-1")
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "duplicate": True}
    assert again.headers["ETag"] == first.headers["ETag"]
    assert last_position(api) == stored


@pytest.mark.parametrize(
    ("name", "change"),
    [
        # Another command under the key: an ACCT opening sent under a test's key.
        ("acct-openings", {}),
        # The same command with another body.
        ("drug-tests", {"result": "negative", "substances": []}),
        # The same body, said to have happened at another time.
        ("drug-tests", {"occurred_at": "2025-03-01T09:30:00Z"}),
    ],
)
def test_a_key_reused_for_another_request_is_refused(
    api: Api, name: str, change: dict[str, Any]
) -> None:
    received(ledger_of(api))
    tests = COMMANDS["drug-tests"]
    assert post(api, tests.path, body_of(tests), key="key-7").status_code == 201
    stored = last_position(api)
    command = COMMANDS[name]
    reply = post(api, command.path, body_of(command, **change), key="key-7")
    problem = refused(reply, 422, "source_ref")
    assert problem["rule"] == "one-request-per-reference"
    assert "key-7" in problem["detail"]
    assert last_position(api) == stored
    assert not ledger_of(api).case(PN).acct_open


def test_a_retried_transfer_is_answered_after_the_person_has_left(api: Api) -> None:
    received(ledger_of(api))
    transfer = COMMANDS["transfers"]
    # The recorder works only at LEI; the person goes to MDI.
    first = post(api, transfer.path, body_of(transfer), prisons=("LEI",), key="t-1")
    assert first.status_code == 201, first.text
    again = post(api, transfer.path, body_of(transfer), prisons=("LEI",), key="t-1")
    assert again.status_code == 200, again.text
    assert again.json()["version"] == first.json()["version"]
    assert again.json()["position"] == first.json()["position"]
    # A new request by the same recorder is still refused: the person is at MDI now.
    tests = COMMANDS["drug-tests"]
    assert post(api, tests.path, body_of(tests), prisons=("LEI",)).status_code == 403
