"""LEDGER_DATABASE_URL: the accepted forms, and clear refusals of everything else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from store.config import StoreConfigurationError, environment_for


def test_default_is_the_embedded_store_under_var(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    assert environment_for() == {
        "PERSISTENCE_MODULE": "store.sqlite",
        "SQLITE_DBNAME": "var/ledger.db",
    }


@pytest.mark.parametrize(
    ("url", "dbname"),
    [
        ("sqlite:///var/ledger.db", "var/ledger.db"),
        ("sqlite:////srv/ledger/ledger.db", "/srv/ledger/ledger.db"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_urls(url: str, dbname: str) -> None:
    assert environment_for(url)["SQLITE_DBNAME"] == dbname


def test_sqlite_options() -> None:
    env = environment_for("sqlite:///x.db?poll_interval=0.2&lock_timeout=3")
    assert env["SQLITE_POLL_INTERVAL"] == "0.2"
    assert env["SQLITE_LOCK_TIMEOUT"] == "3"


def test_postgresql_url_maps_every_part() -> None:
    env = environment_for(
        "postgresql://ledger%40app:p%2Fss@db.example:6543/journeys"
        "?schema=ledger&pool_size=12&connect_timeout=3"
    )
    assert env == {
        "PERSISTENCE_MODULE": "store.postgres",
        "POSTGRES_DBNAME": "journeys",
        "POSTGRES_HOST": "db.example",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "ledger@app",
        "POSTGRES_PASSWORD": "p/ss",
        "POSTGRES_SCHEMA": "ledger",
        "POSTGRES_POOL_SIZE": "12",
        "POSTGRES_MAX_OVERFLOW": "0",
        "POSTGRES_CONNECT_TIMEOUT": "3",
    }


def test_postgresql_connections_are_kept_unless_the_url_says_otherwise() -> None:
    env = environment_for("postgresql://postgres@localhost/ledger")
    assert (env["POSTGRES_POOL_SIZE"], env["POSTGRES_MAX_OVERFLOW"]) == ("15", "0")
    env = environment_for("postgresql://postgres@localhost/ledger?max_overflow=5")
    assert (env["POSTGRES_POOL_SIZE"], env["POSTGRES_MAX_OVERFLOW"]) == ("15", "5")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://root@localhost/ledger", "unknown scheme 'mysql'"),
        ("ledger.db", "no scheme"),
        ("sqlite://host/ledger.db", "has no host"),
        ("sqlite:///", "names no file"),
        ("postgresql://postgres:hunter2@localhost:5432/", "names no database"),
        ("postgresql://postgres@localhost:port/ledger", "port is not a number"),
        ("postgresql://postgres@localhost/ledger?schema=Bad-Name", "schema must be"),
        ("postgresql://postgres@localhost/ledger?pool=3", "unknown option(s) pool"),
    ],
)
def test_bad_urls_are_refused_with_the_variable_and_the_accepted_forms(
    url: str, reason: str
) -> None:
    with pytest.raises(StoreConfigurationError) as caught:
        environment_for(url)
    message = str(caught.value)
    assert "LEDGER_DATABASE_URL" in message
    assert reason in message
    assert "postgresql://user:password@host:port/dbname?schema=ledger" in message
    assert "hunter2" not in message


def _ledger(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=os.environ | {"LEDGER_DATABASE_URL": url, "PYTHONPATH": os.getcwd()},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_refuses_a_bad_url_without_a_traceback(tmp_path: Path) -> None:
    result = _ledger("mysql://root@localhost/ledger", "status", cwd=tmp_path)
    assert result.returncode == 2
    assert "LEDGER_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_names_the_host_and_port_it_cannot_reach(tmp_path: Path) -> None:
    result = _ledger(
        "postgresql://postgres:pw@127.0.0.1:1/ledger", "status", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "cannot connect to PostgreSQL at 127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr
    assert "pw" not in result.stderr.replace("PostgreSQL", "")


def test_cli_status_shows_size_and_root_of_the_configured_store(
    store_url: str, tmp_path: Path
) -> None:
    result = _ledger(store_url, "status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "events: 0" in result.stdout
    # The empty tree's root: SHA-256 of nothing.
    assert "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" in (
        result.stdout
    )
