"""Every operation in the OpenAPI document, fuzzed by schemathesis from its schema.

For each operation schemathesis sends the schema's examples and then generated
requests, as an inspector and (separately) as a recorder at LEI, to the app in
process (ASGI) on a SQLite store holding one case. Every response must be no 5xx,
a status the operation declares, with a declared content type, and a body that
matches the declared schema (problem+json responses are declared on every route
through ``api.http.problems.PROBLEM_RESPONSES``). Examples per operation are bounded
(``MAX_EXAMPLES``) so that the whole file runs in about a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.http.app import create_app
from api.settings import ApiSettings
from tests.api.conftest import RECEPTION, SECRET, bearer

MAX_EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class _NoServices:
    """Enough for the app to publish its OpenAPI document; serves no request."""

    def close(self) -> None:
        pass


# Loaded once, at import, from an app with no store behind it (the document does not
# depend on the store); each test sends its cases to an app of its own (``app=``).
# (schemathesis.pytest.from_fixture would load it per test, but it sets the
# removed ``_nodeid`` attribute on pytest 9 items.)
# The server-sent event stream stays open for events to come, so it is left out: a
# request/response check cannot judge it (tests/api cover it directly).
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(ApiSettings(jwt_secret=SECRET), services=_NoServices()),  # type: ignore[arg-type]
).exclude(path="/feed/stream")
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The API on a SQLite store holding one case, A1234BC at LEI."""
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(tmp_path / "log.key"))
    app = create_app(
        ApiSettings(jwt_secret=SECRET, read_your_writes_timeout=0.2),
        url=f"sqlite:///{tmp_path / 'ledger.db'}",
    )
    services = app.state.services
    try:
        reply = TestClient(app).post(
            "/cases/A1234BC/receptions", json=RECEPTION, headers=bearer("recorder")
        )
        assert reply.status_code == 201, reply.text
        yield app
    finally:
        shutdown_lifespans()  # schemathesis keeps an app's lifespan open till exit
        services.close()


@schema.parametrize()
@FUZZ_SETTINGS
def test_as_an_inspector(case: Any, app: Any) -> None:
    case.call_and_validate(app=app, headers=bearer("inspector"), checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_as_a_recorder(case: Any, app: Any) -> None:
    headers = bearer("recorder", ("LEI", "MDI"))
    case.call_and_validate(app=app, headers=headers, checks=CHECKS)
