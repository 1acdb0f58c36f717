"""The witness cosigns an honest log that grew and refuses a rewritten one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.cli import main
from evidence.checkpoint import Checkpoint, sign_checkpoint
from evidence.database import open_evidence_store
from evidence.keys import load_key_file
from evidence.signed_note import COSIGNATURE_V1, Ed25519Signer, parse_vkey
from store.merkle import Frontier
from tests.evidence.helpers import filled_log, leaf_of, row_at, sql
from tests.evidence.test_signed_note import spec_verify_cosignature

WITNESS = "inspectorate.example/witness"


@pytest.fixture
def keys_setup(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[str, str, Path]:
    """(log vkey, witness vkey, witness key file) with the store configured."""
    monkeypatch.setenv("LEDGER_DATABASE_URL", store_url)
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(tmp_path / "log.key"))
    monkeypatch.delenv("LEDGER_LOG_ORIGIN", raising=False)
    witness_file = tmp_path / "witness.key"
    assert main(["keys", "init"]) == 0
    log_vkey = capsys.readouterr().out.strip()
    command = ["keys", "init", "--witness", "--name", WITNESS, "--file"]
    assert main([*command, str(witness_file)]) == 0
    witness_vkey = capsys.readouterr().out.strip()
    return log_vkey, witness_vkey, witness_file


def witness(log_vkey: str, witness_file: Path, state: Path) -> int:
    return main(
        [
            "witness",
            "--state",
            str(state),
            "--key",
            log_vkey,
            "--witness-key",
            str(witness_file),
        ]
    )


def test_witness_cosigns_an_honest_log_as_it_grows(
    store_url: str,
    keys_setup: tuple[str, str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log_vkey, witness_vkey, witness_file = keys_setup
    state = tmp_path / "witness.json"
    filled_log(store_url, 5)
    assert main(["checkpoint"]) == 0
    assert witness(log_vkey, witness_file, state) == 0
    out = capsys.readouterr().out
    assert "cosigned journey-ledger.example/log at tree size 15" in out
    assert "first checkpoint seen" in out
    assert json.loads(state.read_text())["tree_size"] == 15

    filled_log(store_url, 4, prefix="more")
    assert main(["checkpoint"]) == 0
    assert witness(log_vkey, witness_file, state) == 0
    out = capsys.readouterr().out
    assert "at tree size 27 (consistent with tree size 15 seen before)" in out
    saved = json.loads(state.read_text())
    assert saved["tree_size"] == 27
    # The cosignature is stored with the checkpoint and verifies independently.
    with open_evidence_store() as store:
        latest = store.latest_checkpoint()
        assert latest is not None and len(latest.cosignatures) == 1
        cosigned = latest.note_with_cosignatures()
    assert cosigned == saved["checkpoint"]
    assert spec_verify_cosignature(cosigned, witness_vkey) > 1_700_000_000
    # Run again with no growth: still consistent, cosigned again.
    assert witness(log_vkey, witness_file, state) == 0
    assert "unchanged since last seen" in capsys.readouterr().out


def rewrite_history(url: str, position: int) -> None:
    """One old event changed, every leaf, node and the frontier rebuilt."""
    state = row_at(url, position)[3]
    sql(
        url,
        "UPDATE stored_events SET state = %s WHERE notification_id = %s",
        [state[:-8] + state[-8:].swapcase(), position],
    )
    (count,) = sql(url, "SELECT count(*) FROM stored_events")[0]
    frontier = Frontier()
    for p in range(1, count + 1):
        leaf = leaf_of(*row_at(url, p))
        nodes = b"".join(n.hash for n in frontier.append(leaf))
        sql(
            url,
            "UPDATE stored_events SET leaf_hash = %s, nodes = %s "
            "WHERE notification_id = %s",
            [leaf, nodes, p],
        )
    sql(
        url,
        "UPDATE stored_events_frontier SET tree_size = %s, hashes = %s",
        [frontier.size, frontier.to_bytes()],
    )


def test_witness_refuses_a_rewritten_history(
    store_url: str,
    keys_setup: tuple[str, str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log_vkey, _, witness_file = keys_setup
    state = tmp_path / "witness.json"
    filled_log(store_url, 5)
    assert main(["checkpoint"]) == 0
    assert witness(log_vkey, witness_file, state) == 0
    before = state.read_text()
    capsys.readouterr()

    # The operator rewrites event 2, rebuilds the tree, lets the log grow, and signs
    # the new tree with the log's own key (bypassing ledger checkpoint's refusal).
    filled_log(store_url, 3, prefix="more")
    rewrite_history(store_url, 2)
    signer = load_key_file(Path(tmp_path / "log.key"))
    with open_evidence_store() as store:
        frontier = store.frontier()
        checkpoint = Checkpoint(signer.name, frontier.size, frontier.root())
        note = sign_checkpoint(checkpoint, signer)
        store.insert_checkpoint(frontier.size, frontier.root(), note, datetime.now(UTC))

    assert witness(log_vkey, witness_file, state) == 1
    err = capsys.readouterr().err
    assert "REFUSED, nothing cosigned" in err
    assert "not consistent with the checkpoint at tree size 15" in err
    assert "history was rewritten" in err and "Traceback" not in err
    assert state.read_text() == before
    with open_evidence_store() as store:
        latest = store.latest_checkpoint()
        assert latest is not None and latest.tree_size == 24
        assert latest.cosignatures == ()


def test_witness_refuses_a_log_signed_by_another_key(
    store_url: str,
    keys_setup: tuple[str, str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, witness_vkey, witness_file = keys_setup
    filled_log(store_url, 1)
    assert main(["checkpoint"]) == 0
    capsys.readouterr()
    other = Ed25519Signer.generate("journey-ledger.example/log").vkey()
    assert witness(other, witness_file, tmp_path / "w.json") == 1
    assert "no signature from a trusted key" in capsys.readouterr().err
    assert not (tmp_path / "w.json").exists()
    assert parse_vkey(witness_vkey).signature_type == COSIGNATURE_V1
