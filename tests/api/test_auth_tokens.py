"""Verified tokens are remembered, but never past their expiry or under another key."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from api.http import auth
from api.http.auth import ROLE_NAMES, NotAuthenticated, decode_token, mint_token
from api.settings import ApiSettings
from tests.api.conftest import Api

SECRET = "test-secret-for-synthetic-tokens-only"


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ApiSettings(jwt_secret=SECRET)
    token = mint_token(SECRET, roles=[ROLE_NAMES["recorder"]], ttl_seconds=60)
    assert decode_token(token, settings).roles == {ROLE_NAMES["recorder"]}
    assert decode_token(token, settings).roles == {ROLE_NAMES["recorder"]}
    later = time.time() + 61
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(NotAuthenticated, match="expired"):
        decode_token(token, settings)


def test_a_token_verified_under_one_key_is_refused_under_another() -> None:
    token = mint_token(SECRET, roles=[ROLE_NAMES["inspector"]])
    assert decode_token(token, ApiSettings(jwt_secret=SECRET)).user == "DEMO_USER"
    with pytest.raises(NotAuthenticated, match="does not verify"):
        decode_token(
            token, ApiSettings(jwt_secret="another-secret-for-synthetic-tokens-only")
        )


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": 10**400},
        {"exp": "tomorrow"},
        {"authorities": [["ROLE_JOURNEY_LEDGER__CASES__RW"]]},
        {"authorities": "ROLE_JOURNEY_LEDGER__CASES__RW"},
        {"caseloads": [{"LEI": True}]},
        {"sub": 7, "user_name": None},
    ],
)
def test_odd_claims_in_a_validly_signed_token_are_401(
    api: Api, claims: dict[str, Any]
) -> None:
    signed = {
        "sub": "ODD_USER",
        "exp": int(time.time()) + 600,
        "authorities": [ROLE_NAMES["inspector"].value],
        **claims,
    }
    token = jwt.encode(signed, SECRET, algorithm="HS256")
    reply = api.client.get(
        "/cases/A1234BC", headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 401, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
