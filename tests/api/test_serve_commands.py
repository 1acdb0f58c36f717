"""``ledger token`` and ``ledger serve``."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.cli import main
from api.http.auth import Role, decode_token
from api.settings import ApiSettings

SECRET = "serve-test-secret-for-synthetic-tokens"


def test_token_needs_the_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LEDGER_JWT_SECRET", raising=False)
    assert main(["token", "--role", "inspector"]) == 1
    assert "LEDGER_JWT_SECRET is not set" in capsys.readouterr().err


def test_token_carries_the_role_caseload_and_user(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEDGER_JWT_SECRET", SECRET)
    argv = ["token", "--role", "recorder", "--prisons", "LEI,mdi", "--user", "JSMITH"]
    assert main([*argv, "--hours", "2"]) == 0
    token = capsys.readouterr().out.strip()
    principal = decode_token(token, ApiSettings(jwt_secret=SECRET))
    assert principal.roles == {Role.RECORDER}
    assert principal.prisons == {"LEI", "MDI"}
    assert principal.user == "JSMITH"
    assert main(["token", "--role", "recorder"]) == 1  # a recorder needs a caseload
    assert "needs --prisons" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["token", "--role", "inspector", "--prisons", "LEEDS"])


def test_serve_refuses_to_run_without_auth(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LEDGER_JWT_SECRET", raising=False)
    monkeypatch.delenv("LEDGER_JWT_PUBLIC_KEY", raising=False)
    assert main(["serve"]) == 1
    assert "never runs without authentication" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_listening(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)  # retrying a connect until a deadline, not a wait for work
    raise AssertionError("ledger serve did not start listening within 30 s")


def test_serve_answers_over_a_socket(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "LEDGER_JWT_SECRET": SECRET,
        "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
        "LEDGER_SIGNING_KEY_FILE": str(tmp_path / "none.key"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        wait_until_listening(port, process)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/healthz")
        assert json.loads(connection.getresponse().read()) == {"status": "ok"}
        connection.request("GET", "/checkpoints/latest")
        reply = connection.getresponse()
        assert (reply.status, reply.getheader("content-type")) == (
            401,
            "application/problem+json",
        )
        reply.read()
    finally:
        process.terminate()
        process.wait(timeout=30)
