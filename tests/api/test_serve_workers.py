"""``ledger serve --workers N`` beside ``ledger project`` (PostgreSQL): what each
worker answers must not depend on which worker answers it."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from api.http.auth import ROLE_NAMES, mint_token
from api.services import Services
from api.settings import LedgerSettings
from domain.commands import ReceivePrisoner
from domain.context import RequestContext
from projections.catalogue import all_models
from projections.database import open_database
from projections.runner import ProjectionRunner
from projections.watched_runner import WatchedRunner
from store.config import environment_for
from tests.api.test_serve_commands import free_port, wait_until_listening
from tests.ledgers import ledger_on

SECRET = "workers-test-secret-for-synthetic-tokens"
ROOT = Path(__file__).resolve().parents[2]
RECEPTION = {
    "prison": "LEI",
    "booking_no": "38412A",
    "movement_reason": "N",
    "legal_status": "remand",
}


def context() -> RequestContext:
    return RequestContext(
        recorded_by="TEST_RECORDER", prison="LEI", source="test", correlation_id="t"
    )


def test_workers_need_postgresql(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LEDGER_JWT_SECRET", SECRET)
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    assert main(["serve", "--workers", "2"]) == 1
    assert "--workers 2 needs PostgreSQL" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--workers", "0"])
    assert "must be from 1 to 64" in capsys.readouterr().err


def test_a_process_that_does_not_follow_sees_ledger_project_apply_pages(
    postgres_url: str,
) -> None:
    """Read-your-writes in a worker: woken when the other process's page commits."""
    services = Services.open(LedgerSettings(database_url=postgres_url), follow=False)
    try:
        assert isinstance(services.runner, WatchedRunner)
        result = services.ledger.record(
            context(),
            "A1234BC",
            ReceivePrisoner(
                booking_no="38412A", movement_reason="N", legal_status="remand"
            ),
        )
        assert result.position is not None
        assert not services.runner.wait_for(result.position, timeout=0.2)
        waited: list[tuple[bool, float]] = []

        def wait() -> None:
            started = time.monotonic()
            reached = services.runner.wait_for(result.position or 0, timeout=30)
            waited.append((reached, time.monotonic() - started))

        waiter = threading.Thread(target=wait)
        waiter.start()
        with ledger_on(postgres_url) as ledger:
            database = open_database(environment_for(postgres_url))
            try:
                ProjectionRunner(ledger, database, all_models()).catch_up()
            finally:
                database.close()
        waiter.join(timeout=30)
        [(reached, seconds)] = waited
        assert reached and seconds < 10
        assert services.runner.position >= result.position
        assert services.queries.case_state("A1234BC") is not None
    finally:
        services.close()
    assert services.follower is not None and not services.follower.is_alive()


@pytest.fixture
def workers(postgres_url: str, tmp_path: Path) -> Iterator[int]:
    """ledger serve --workers 2 and ledger project on one schema; the port."""
    port = free_port()
    env = {
        **os.environ,
        "LEDGER_JWT_SECRET": SECRET,
        "LEDGER_DATABASE_URL": postgres_url,
        "LEDGER_SIGNING_KEY_FILE": str(tmp_path / "none.key"),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    ledger = [sys.executable, "-m", "api.cli"]
    project = subprocess.Popen(
        [*ledger, "project"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    serve = subprocess.Popen(
        [*ledger, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_listening(port, serve)
        yield port
    finally:
        for process in (serve, project):
            process.terminate()
            process.wait(timeout=30)


def request(
    port: int, method: str, path: str, role: str, body: Any = None, **headers: str
) -> tuple[int, bytes]:
    """One request on a new connection, so requests spread over the workers."""
    token = mint_token(SECRET, roles=[ROLE_NAMES[role]], prisons=["LEI"])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            method,
            path,
            body=None if body is None else json.dumps(body),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                **headers,
            },
        )
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def test_workers_beside_ledger_project(workers: int) -> None:
    port = workers
    received = 0
    for i in range(8):
        number = f"A{i:04d}BC"
        status, body = request(
            port, "POST", f"/cases/{number}/receptions", "recorder", RECEPTION,
            **{"Idempotency-Key": f"reception-{i}"},
        )  # fmt: skip
        assert status == 201, body
        received += 1
        first = json.loads(body)
        # Read-your-writes, whichever worker answers: it waits for ledger project.
        started = time.monotonic()
        status, body = request(
            port, "GET", f"/cases/{number}?min_position={first['position']}",
            "recorder",
        )  # fmt: skip
        assert status == 200, body
        assert json.loads(body)["version"] == first["version"]
        assert time.monotonic() - started < 2  # the wait's bound: it never ran out
        # A retry with the same key, whichever worker answers: the first answer.
        status, body = request(
            port, "POST", f"/cases/{number}/receptions", "recorder", RECEPTION,
            **{"Idempotency-Key": f"reception-{i}"},
        )  # fmt: skip
        assert status == 200, body
        assert json.loads(body) == {**first, "duplicate": True}

    deadline = time.monotonic() + 20
    while True:  # the reads' own access-log events land a moment later
        status, body = request(port, "GET", "/readyz", "recorder")
        ready = json.loads(body)
        if ready["lag"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (status, ready["lag"]) == (200, 0)
    assert ready["read_model_position"] == ready["store_position"] > 0

    status, body = request(port, "GET", "/metrics", "recorder")
    counted = re.search(
        r'journey_ledger_http_requests_total\{method="POST",'
        r'route="/cases/\{prisoner_number\}/receptions",status="201"\} (\S+)',
        body.decode(),
    )
    assert counted is not None, body.decode()[:2000]
    assert float(counted.group(1)) == received  # every worker's, not one's
