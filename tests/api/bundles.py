"""Shared by the bundle and key tests: a store the CLI is pointed at, with the log's
signing key, and a small case on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from domain.ledger import JourneyLedger
from tests.ledgers import ctx, receive, risk_assessment

NUMBER = "A1234BC"


def point_the_cli_at(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Make a log signing key for the store the CLI is pointed at; its file."""
    monkeypatch.setenv("LEDGER_DATABASE_URL", store_url)
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(tmp_path / "log.key"))
    for variable in ("LEDGER_LOG_ORIGIN", "LEDGER_CIPHER_KEY", "CIPHER_KEY"):
        monkeypatch.delenv(variable, raising=False)
    assert main(["keys", "init"]) == 0
    return tmp_path / "log.key"


def tiered_case(ledger: JourneyLedger) -> None:
    """A1234BC received at LEI and assessed tier C: versions 1-3."""
    receive(ledger, NUMBER)
    assessed = risk_assessment(tier="C", rosh="medium", likelihood_of_reoffending="low")
    ledger.record(ctx(), NUMBER, assessed)


def export(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``ledger export A1234BC -o path``; the bundle it wrote."""
    assert main(["export", NUMBER, "-o", str(path)]) == 0
    capsys.readouterr()
    bundle: dict[str, Any] = json.loads(path.read_text())
    return bundle
