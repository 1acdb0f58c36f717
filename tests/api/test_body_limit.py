"""Request bodies are bounded: over LEDGER_MAX_BODY_BYTES is 413 problem+json, refused
before parsing and before the token is checked, and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from api.settings import ApiConfigurationError, ApiSettings
from tests.api.conftest import RECEPTION, Api
from tests.api.test_commands import last_position

LIMIT = 1024 * 1024


def test_a_declared_length_over_the_limit_is_refused_unread(api: Api) -> None:
    body = b"{" + b" " * LIMIT + b"}"
    # No token: a body this large is refused before anyone asks who sent it.
    reply = api.client.post(
        "/cases/A1234BC/receptions",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 413, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert "larger than 1,048,576 bytes" in reply.json()["detail"]
    assert last_position(api) == 0


def test_a_streamed_body_over_the_limit_is_refused(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(LIMIT // 65_536 + 2):
            yield b" " * 65_536

    reply = api.as_("recorder")(
        "POST",
        "/cases/A1234BC/receptions",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 413, reply.text
    assert last_position(api) == 0


def test_a_body_within_the_limit_is_read_as_sent(api: Api) -> None:
    # Sent in small pieces: the middleware hands the app the body whole.
    body = json.dumps(RECEPTION).encode()

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 16):
            yield body[start : start + 16]

    reply = api.as_("recorder")(
        "POST",
        "/cases/A1234BC/receptions",
        content=pieces(),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 201, reply.text


@pytest.mark.parametrize("value", ["lots", "10"])
def test_an_unusable_limit_stops_the_start(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_JWT_SECRET", "test-secret-for-synthetic-tokens-only")
    monkeypatch.setenv("LEDGER_MAX_BODY_BYTES", value)
    with pytest.raises(ApiConfigurationError, match="LEDGER_MAX_BODY_BYTES"):
        ApiSettings.from_environment()
