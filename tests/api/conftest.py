"""The HTTP API on each store, with tokens for each role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.auth import ROLE_NAMES, mint_token
from api.settings import ApiSettings
from domain.ledger import JourneyLedger
from tests.api.bundles import export, point_the_cli_at, tiered_case

SECRET = "test-secret-for-synthetic-tokens-only"


def token(role: str, prisons: tuple[str, ...] = ("LEI",), user: str = "") -> str:
    return mint_token(
        SECRET,
        roles=[ROLE_NAMES[role]],
        prisons=prisons,
        user=user or f"{role.upper()}_USER",
    )


def bearer(role: str, prisons: tuple[str, ...] = ("LEI",)) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, prisons)}"}


@dataclass
class Api:
    client: TestClient

    def as_(self, role: str, prisons: tuple[str, ...] = ("LEI",)) -> Callable[..., Any]:
        headers = bearer(role, prisons)

        def call(method: str, path: str, **kw: Any) -> Any:
            kw["headers"] = {**headers, **kw.get("headers", {})}
            return self.client.request(method, path, **kw)

        return call


RECEPTION = {
    "prison": "LEI",
    "booking_no": "38412A",
    "movement_reason": "N",
    "legal_status": "remand",
    "personal_details": {"first_name": "Alex", "last_name": "Example"},
}


@pytest.fixture
def api(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Api]:
    # The settings are read once, as the app starts: a test that makes a log key
    # makes it here (tmp_path / "log.key"), never in ./var.
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(tmp_path / "log.key"))
    monkeypatch.delenv("LEDGER_LOG_ORIGIN", raising=False)
    # Queries with min_position wait for the follower, woken as it commits; the
    # generous bound only matters on a loaded machine (the 503 past it is tested
    # on its own).
    settings = ApiSettings(jwt_secret=SECRET, read_your_writes_timeout=30.0)
    app = create_app(settings, url=store_url)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client)


@pytest.fixture
def log_key(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI pointed at the store, with a log signing key made for it: its file."""
    return point_the_cli_at(store_url, tmp_path, monkeypatch)


@pytest.fixture
def case_file(
    ledger: JourneyLedger,
    log_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Path:
    """The case of ``tiered_case`` exported by the CLI, signed with ``log_key``: the
    bundle's file."""
    tiered_case(ledger)
    path = tmp_path / "case.json"
    export(path, capsys)
    return path
