"""Proof endpoints: checkpoints, inclusion and consistency proofs, case bundles."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from api.case_bundles import verify_case_bundle
from evidence.bundle import parse_tlog_proof
from evidence.checkpoint import issue_checkpoint, open_checkpoint
from evidence.database import evidence_store
from evidence.keys import create_key_file
from evidence.proofs import verify_consistency, verify_inclusion
from evidence.signed_note import Ed25519Signer
from tests.api.conftest import RECEPTION, Api

PEOPLE = ["A1234BC", "B2345CD", "C3456DE"]


@pytest.fixture
def signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ed25519Signer:
    path = tmp_path / "log.key"
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(path))
    monkeypatch.delenv("LEDGER_LOG_ORIGIN", raising=False)
    return create_key_file(path, "journey-ledger.example/log")


def receive_people(api: Api, people: list[str] = PEOPLE) -> int:
    recorder = api.as_("recorder")
    position = 0
    for number in people:
        reply = recorder("POST", f"/cases/{number}/receptions", json=RECEPTION)
        assert reply.status_code == 201, reply.text
        position = reply.json()["position"]
    return position


def checkpoint_now(api: Api, signer: Ed25519Signer) -> int:
    services = api.client.app.state.services  # type: ignore[attr-defined]
    issued = issue_checkpoint(evidence_store(services.ledger.recorder), signer)
    return issued.stored.tree_size


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_no_checkpoint_yet_is_404_problem(api: Api) -> None:
    inspector = api.as_("inspector")
    reply = inspector("GET", "/checkpoints/latest")
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["rule"] == "no-checkpoint"
    assert inspector("GET", "/proofs/inclusion/1").status_code == 404


def test_latest_checkpoint_as_json_and_as_the_note(
    api: Api, signer: Ed25519Signer
) -> None:
    receive_people(api)
    size = checkpoint_now(api, signer)
    consumer = api.as_("consumer")
    reply = consumer("GET", "/checkpoints/latest")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["tree_size"] == size
    assert body["origin"] == "journey-ledger.example/log"
    checkpoint = open_checkpoint(body["note"], signer.verifier())
    assert base64.b64encode(checkpoint.root_hash).decode() == body["root_hash"]
    text = consumer("GET", "/checkpoints/latest", headers={"Accept": "text/plain"})
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == body["note"]


def test_inclusion_proofs_verify_against_the_signed_root(
    api: Api, signer: Ed25519Signer
) -> None:
    receive_people(api)
    size = checkpoint_now(api, signer)
    inspector = api.as_("inspector")
    for position in range(1, size + 1):
        reply = inspector("GET", f"/proofs/inclusion/{position}")
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert (body["tree_size"], body["leaf_index"]) == (size, position - 1)
        signed = open_checkpoint(body["checkpoint"], signer.verifier())
        proof = [b64(h) for h in body["hashes"]]
        verify_inclusion(
            position - 1, size, b64(body["leaf_hash"]), proof, signed.root_hash
        )
        _, index, tlog_hashes, note = parse_tlog_proof(body["tlog_proof"])
        assert (index, tlog_hashes, note) == (position - 1, proof, body["checkpoint"])
    # A smaller tree that was never signed: a proof still, with no checkpoint.
    reply = inspector("GET", "/proofs/inclusion/2", params={"tree_size": 3})
    body = reply.json()
    assert (body["checkpoint"], body["tlog_proof"]) == (None, None)
    verify_inclusion(
        1, 3, b64(body["leaf_hash"]), [b64(h) for h in body["hashes"]],
        b64(body["root_hash"]),
    )  # fmt: skip


def test_consistency_proofs(api: Api, signer: Ed25519Signer) -> None:
    receive_people(api, PEOPLE[:1])
    old = checkpoint_now(api, signer)
    receive_people(api, PEOPLE[1:])
    new = checkpoint_now(api, signer)
    assert old < new
    investigator = api.as_("investigator")
    reply = investigator("GET", "/proofs/consistency", params={"from": old})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["from"], body["to"]) == (old, new)
    first = open_checkpoint(body["from_checkpoint"], signer.verifier())
    second = open_checkpoint(body["to_checkpoint"], signer.verifier())
    verify_consistency(
        old, new, first.root_hash, second.root_hash, [b64(h) for h in body["hashes"]]
    )
    same = investigator("GET", "/proofs/consistency", params={"from": 2, "to": 2})
    assert same.status_code == 200 and same.json()["hashes"] == []


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/proofs/inclusion/0", {"tree_size": 2}, 422),
        ("/proofs/inclusion/-3", {}, 422),
        ("/proofs/inclusion/abc", {}, 422),
        ("/proofs/inclusion/2", {"tree_size": 1}, 422),
        ("/proofs/inclusion/1", {"tree_size": 0}, 422),
        ("/proofs/inclusion/1", {"tree_size": 10**6}, 404),
        ("/proofs/inclusion/99999999999999999999999", {}, 422),
        ("/proofs/consistency", {}, 422),
        ("/proofs/consistency", {"from": 0, "to": 2}, 422),
        ("/proofs/consistency", {"from": 2, "to": 1}, 422),
        ("/proofs/consistency", {"from": 1, "to": 10**6}, 404),
        ("/proofs/consistency", {"from": "x", "to": 2}, 422),
    ],
)
def test_bad_sizes_are_problems_never_500(
    api: Api, path: str, params: dict[str, object], status: int
) -> None:
    receive_people(api, PEOPLE[:1])
    reply = api.as_("inspector")("GET", path, params=params)
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"


def test_export_gives_a_bundle_that_verifies_offline(
    api: Api, signer: Ed25519Signer
) -> None:
    receive_people(api)
    reply = api.as_("investigator")("GET", f"/cases/{PEOPLE[1]}/export")
    assert reply.status_code == 200, reply.text
    bundle = reply.json()
    assert bundle["subject"] == {"prisoner_number": PEOPLE[1]}
    assert bundle["log"]["verifier_key"] == signer.vkey()
    assert verify_case_bundle(bundle, signer.verifier()).startswith(
        f"OK: {PEOPLE[1]}, 2 events"
    )
    # The export signed a checkpoint covering the newest events.
    latest = api.as_("inspector")("GET", "/checkpoints/latest").json()
    assert latest["tree_size"] == bundle["checkpoint"]["tree_size"]


def test_export_refusals(api: Api, signer: Ed25519Signer) -> None:
    receive_people(api, PEOPLE[:1])
    investigator = api.as_("investigator")
    assert investigator("GET", "/cases/Z9999ZZ/export").status_code == 404
    assert investigator("GET", "/cases/nope/export").status_code == 422
    for role in ("inspector", "consumer", "recorder"):
        reply = api.as_(role)("GET", f"/cases/{PEOPLE[0]}/export")
        assert reply.status_code == 403, role


def test_export_without_a_signing_key_is_refused(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(tmp_path / "none.key"))
    receive_people(api, PEOPLE[:1])
    reply = api.as_("investigator")("GET", f"/cases/{PEOPLE[0]}/export")
    assert reply.status_code == 409
    assert reply.json()["rule"] == "export-needs-log-key"


def test_proofs_are_not_for_recorders_or_strangers(api: Api) -> None:
    assert api.client.get("/checkpoints/latest").status_code == 401
    reply = api.as_("recorder")("GET", "/proofs/consistency", params={"from": 1})
    assert reply.status_code == 403
