"""The console on each store: a small seeded estate, a signed checkpoint, and (for
the browser tests) the app served by uvicorn on a real socket."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.services import Services
from api.settings import DEFAULT_ORIGIN, ApiSettings, LedgerSettings
from evidence.checkpoint import issue_checkpoint
from evidence.database import evidence_store
from evidence.keys import create_key_file
from synthetic.estate import seed_estate
from tests.api.conftest import SECRET, token

__all__ = ["SECRET", "token"]


@dataclass
class Estate:
    app: FastAPI
    services: Services
    verifier_key: str


@pytest.fixture
def estate(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Estate]:
    """Three prisons, 120 people, the read models current, a signed checkpoint."""
    key_file = tmp_path / "log.key"
    settings = LedgerSettings(database_url=store_url, signing_key_file=key_file)
    services = Services.open(settings, follow=True)
    seed_estate(services.ledger, prisons=3, people=120, years=2, seed=7)
    services.runner.catch_up()
    signer = create_key_file(key_file, DEFAULT_ORIGIN)
    issue_checkpoint(evidence_store(services.ledger.recorder), signer)
    app = create_app(ApiSettings(jwt_secret=SECRET), services=services)
    yield Estate(app, services, signer.vkey())
    services.close()


@pytest.fixture
def console(estate: Estate) -> Iterator[TestClient]:
    with TestClient(estate.app, raise_server_exceptions=False) as client:
        yield client


def sign_in(client: TestClient, role: str, prisons: tuple[str, ...] = ("LEI",)) -> None:
    reply = client.post(
        "/console/sign-in",
        data={"token": token(role, prisons), "next": "/console"},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text


@pytest.fixture
def served(estate: Estate) -> Iterator[str]:
    """The console's base URL on a real socket (bound before the server starts,
    so the first request simply queues until uvicorn accepts it)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(estate.app, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()
