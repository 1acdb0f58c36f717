"""Case bundles from the ledger: one export behind the CLI, the API and the console."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evidence.bundle import verify_bundle
from evidence.keys import load_key_file
from tests.api.bundles import NUMBER, export, point_the_cli_at
from tests.api.conftest import RECEPTION, Api, token


@pytest.fixture
def log_key(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return point_the_cli_at(store_url, tmp_path, monkeypatch)


# -- one export for the CLI, the API and the console -----------------------------


def test_the_cli_the_api_and_the_console_export_the_same_bundle(
    api: Api, log_key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = api.as_("recorder")("POST", f"/cases/{NUMBER}/receptions", json=RECEPTION)
    assert reply.status_code == 201, reply.text
    from_cli = export(tmp_path / "case.json", capsys)
    # Nothing was recorded since the CLI's checkpoint, so the API proves the case
    # against the same one: the same bundle, byte for byte.
    from_api = api.as_("investigator")("GET", f"/cases/{NUMBER}/export")
    assert from_api.status_code == 200, from_api.text
    assert from_api.json() == from_cli
    # The API's export was recorded as a read, so the console's proves against a
    # newer checkpoint; the events and their readable views are the same.
    api.client.cookies.set("ledger_console", token("investigator"), path="/console")
    from_console = api.client.get(f"/console/cases/{NUMBER}/bundle")
    assert from_console.status_code == 200, from_console.text
    console_bundle = from_console.json()
    assert console_bundle["subject"] == from_cli["subject"]

    def unproved(bundle: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k != "proof"} for e in bundle["events"]]

    assert unproved(console_bundle) == unproved(from_cli)
    verifier = load_key_file(log_key).verifier()
    for bundle in (from_cli, console_bundle):
        assert verify_bundle(bundle, verifier).startswith("OK: 2 events")
