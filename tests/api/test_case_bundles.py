"""Case bundles from the ledger: one export behind the CLI, the API and the console,
and ``ledger verify-bundle`` naming the prisoner and checking the readable view
against the proved state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.cipher import AESCipher

from api.case_bundles import verify_case_bundle
from api.cli import main
from domain.identifiers import case_id
from evidence.keys import load_key_file
from tests.api.bundles import NUMBER, export, tiered_case
from tests.api.conftest import RECEPTION, Api, token
from tests.ledgers import ledger_on


def verify_bundle_file(
    path: Path, vkey: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    status = main(["verify-bundle", str(path), "--key", vkey])
    out, err = capsys.readouterr()
    return status, out, err


def tier_event(bundle: dict[str, Any]) -> dict[str, Any]:
    events = bundle["events"]
    assert isinstance(events, list)
    found: dict[str, Any] = next(
        e for e in events if (e["decoded"] or {}).get("tier") is not None
    )
    return found


# -- verify-bundle checks what it shows ------------------------------------------


def test_an_untouched_bundle_is_ok_and_names_the_prisoner(
    case_file: Path, log_key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vkey = load_key_file(log_key).vkey()
    status, out, err = verify_bundle_file(case_file, vkey, capsys)
    assert status == 0, err
    ok = f"ledger verify-bundle: OK: {NUMBER}, 3 events (versions 1-3), each included"
    assert out.startswith(ok)
    assert "the readable view of every event matches the proved state" in out
    assert str(case_id(NUMBER)) not in out  # named as readers know it


def test_an_edited_readable_view_fails_naming_the_event_and_the_field(
    case_file: Path, log_key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = json.loads(case_file.read_text())
    event = tier_event(bundle)
    decoded = event["decoded"]
    assert isinstance(decoded, dict) and decoded["tier"] == "C"
    decoded["tier"] = "D"  # the proved state still says C
    case_file.write_text(json.dumps(bundle))
    vkey = load_key_file(log_key).vkey()
    status, out, err = verify_bundle_file(case_file, vkey, capsys)
    assert status == 1 and out == ""
    where = f"event 3 (position {event['position']}, version 3)"
    assert f"ledger verify-bundle: {where}: the readable view" in err
    assert 'field \'tier\': the bundle shows "D", the proved state holds "C"' in err
    assert "Traceback" not in err


def test_a_bundle_that_names_another_prisoner_fails(
    case_file: Path, log_key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = json.loads(case_file.read_text())
    bundle["subject"] = {"prisoner_number": "B2345CD"}
    case_file.write_text(json.dumps(bundle))
    vkey = load_key_file(log_key).vkey()
    status, out, err = verify_bundle_file(case_file, vkey, capsys)
    assert status == 1 and "OK" not in out
    assert "names prisoner number B2345CD" in err and "subject was altered" in err


def test_an_encrypted_readable_view_is_checked_only_with_the_cipher_key(
    store_url: str,
    log_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cipher_key = AESCipher.create_key(32)
    encrypted = ledger_on(store_url, LEDGER_CIPHER_KEY=cipher_key)
    try:
        tiered_case(encrypted)
    finally:
        encrypted.close()
    monkeypatch.setenv("LEDGER_CIPHER_KEY", cipher_key)
    case_file = tmp_path / "case.json"
    bundle = export(case_file, capsys)
    vkey = load_key_file(log_key).vkey()
    status, out, _ = verify_bundle_file(case_file, vkey, capsys)
    assert status == 0
    assert "the readable view of every event matches the proved state" in out

    monkeypatch.delenv("LEDGER_CIPHER_KEY")
    status, out, _ = verify_bundle_file(case_file, vkey, capsys)
    assert status == 0
    assert out.startswith(f"ledger verify-bundle: OK: {NUMBER}, 3 events")
    assert out.rstrip().endswith(
        "; the readable view of every event was not checked: the state is "
        "encrypted and no cipher key was given (set LEDGER_CIPHER_KEY to check it)"
    )

    decoded = tier_event(bundle)["decoded"]
    assert isinstance(decoded, dict)
    decoded["tier"] = "D"
    case_file.write_text(json.dumps(bundle))
    monkeypatch.setenv("LEDGER_CIPHER_KEY", cipher_key)
    status, _, err = verify_bundle_file(case_file, vkey, capsys)
    assert status == 1 and "field 'tier'" in err


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
        verified = verify_case_bundle(bundle, verifier)
        assert verified.startswith(f"OK: {NUMBER}, 2 events")
