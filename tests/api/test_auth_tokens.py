"""Verified tokens are remembered, but never past their expiry or under another key."""

from __future__ import annotations

import time

import pytest

from api.http import auth
from api.http.auth import ROLE_NAMES, NotAuthenticated, decode_token, mint_token
from api.settings import ApiSettings

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
