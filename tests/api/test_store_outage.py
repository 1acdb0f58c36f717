"""The store goes away and comes back: 503 problems meanwhile, then service again.

The test owns its PostgreSQL cluster (a throwaway one from ``tests.postgres_server``),
never the shared server other tests use. It serves the API from it, makes writes,
stops the cluster, and expects every request to be answered 503 problem+json within
2 s; then starts the cluster again and expects the next request to succeed, in the
same API process, with every write that was acknowledged still there.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import psycopg2
import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import ApiSettings
from tests.api.conftest import RECEPTION, SECRET, bearer
from tests.postgres_server import _find_pg_ctl, start_throwaway_cluster

DEADLINE = 2.0
"""Seconds within which a request must be answered while the store is down."""
OPTIONS = "connect_timeout=1&pool_timeout=1&lock_timeout=1"


@dataclass
class Cluster:
    """A throwaway cluster this test may stop and start."""

    url: str
    pg_ctl: str
    datadir: str
    port: int

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run(
            [*prefix, self.pg_ctl, "-D", self.datadir, *args],
            cwd=self.datadir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def stop(self) -> None:
        self._run("-m", "immediate", "-w", "stop")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1"
        log = os.path.join(self.datadir, "server.log")
        self._run("-o", options, "-l", log, "-w", "start")


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    pg_ctl = _find_pg_ctl()
    if pg_ctl is None:
        pytest.fail("the store outage test needs pg_ctl (apt-get install postgresql)")
    url = start_throwaway_cluster(pg_ctl)  # stopped and deleted at exit
    with closing(psycopg2.connect(url)) as conn, conn.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        (datadir,) = cursor.fetchone() or ("",)
        cursor.execute("SHOW port")
        (port,) = cursor.fetchone() or ("",)
    return Cluster(url, pg_ctl, datadir, int(port))


@pytest.fixture
def client(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    schema = "outage_" + request.node.name[-8:].lower().replace("-", "_")
    url = f"{cluster.url}?schema={schema}&{OPTIONS}"
    app = create_app(ApiSettings(jwt_secret=SECRET), url=url)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def number(i: int) -> str:
    return f"A{i:04d}BC"


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    reply = call()
    return reply, time.monotonic() - started


def test_503_while_the_store_is_down_then_service_resumes(
    cluster: Cluster, client: TestClient
) -> None:
    recorder, inspector = bearer("recorder"), bearer("inspector")
    acknowledged: dict[str, int] = {}
    for i in range(5):
        reply = client.post(
            f"/cases/{number(i)}/receptions", json=RECEPTION, headers=recorder
        )
        assert reply.status_code == 201, reply.text
        acknowledged[number(i)] = reply.json()["position"]

    cluster.stop()
    try:
        requests: list[tuple[str, Callable[[], Any]]] = [
            (
                "a command",
                lambda: client.post(
                    f"/cases/{number(9)}/receptions", json=RECEPTION, headers=recorder
                ),
            ),
            ("a case read", lambda: client.get(
                f"/cases/{number(0)}", headers=inspector)),
            ("a timeline", lambda: client.get(
                f"/cases/{number(0)}/timeline", headers=inspector)),
            ("the feed", lambda: client.get("/feed", headers=inspector)),
            ("a checkpoint", lambda: client.get(
                "/checkpoints/latest", headers=inspector)),
            ("a proof", lambda: client.get(
                "/proofs/consistency", params={"from": 1, "to": 2}, headers=inspector)),
            ("readiness", lambda: client.get("/readyz")),
        ]  # fmt: skip
        for what, call in requests * 2:
            reply, seconds = timed(call)
            assert reply.status_code == 503, (what, reply.status_code, reply.text)
            if what != "readiness":
                assert reply.headers["content-type"] == "application/problem+json"
                assert reply.json()["type"].endswith("/store-unavailable"), what
            assert seconds < DEADLINE, (what, seconds)
        assert client.get("/healthz").status_code == 200  # the process is up
    finally:
        cluster.start()

    # The very next request succeeds, in the same API process.
    reply = client.post(
        f"/cases/{number(7)}/receptions", json=RECEPTION, headers=recorder
    )
    assert reply.status_code == 201, reply.text
    acknowledged[number(7)] = reply.json()["position"]
    assert client.get("/readyz").status_code == 200
    assert_all_there(client, acknowledged)


def assert_all_there(client: TestClient, acknowledged: dict[str, int]) -> None:
    """Every acknowledged write is in the store and the read models (whose follower
    lived through the outage) reach it."""
    runner = client.app.state.services.runner  # type: ignore[attr-defined]
    assert runner.wait_for(max(acknowledged.values()), timeout=30)
    for prisoner, position in acknowledged.items():
        reply = client.get(
            f"/cases/{prisoner}",
            params={"min_position": position},
            headers=bearer("inspector"),
        )
        assert reply.status_code == 200, (prisoner, reply.text)
        assert reply.json()["status"] == "in_custody"


def test_a_restart_between_requests_goes_unnoticed(
    cluster: Cluster, client: TestClient
) -> None:
    """Connections the server dropped while idle are replaced, not reported."""
    recorder = bearer("recorder")
    acknowledged: dict[str, int] = {}
    reply = client.post(
        f"/cases/{number(1)}/receptions", json=RECEPTION, headers=recorder
    )
    assert reply.status_code == 201, reply.text
    acknowledged[number(1)] = reply.json()["position"]
    assert_all_there(client, acknowledged)
    cluster.stop()
    cluster.start()
    reply = client.get(f"/cases/{number(1)}", headers=bearer("inspector"))
    assert reply.status_code == 200, reply.text
    reply = client.post(
        f"/cases/{number(2)}/receptions", json=RECEPTION, headers=recorder
    )
    assert reply.status_code == 201, reply.text
    acknowledged[number(2)] = reply.json()["position"]
    assert_all_there(client, acknowledged)
