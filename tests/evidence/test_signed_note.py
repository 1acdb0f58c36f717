"""Signed notes: our module against published vectors and an independent implementation.

The independent signer and verifier below are written from the C2SP signed-note and
tlog-cosignature texts using ``cryptography`` directly; they share no code with
``evidence.signed_note``. Notes made by each must verify with the other.
"""

from __future__ import annotations

import base64
import json
import struct
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from evidence.checkpoint import Checkpoint
from evidence.errors import EvidenceError
from evidence.signed_note import (
    COSIGNATURE_V1,
    Ed25519Signer,
    open_note,
    parse_note,
    parse_skey,
    parse_vkey,
    sign_note,
)

VECTORS = Path(__file__).parent / "vectors"
SUMDB: dict[str, Any] = json.loads((VECTORS / "sumdb-note.json").read_text())
C2SP: dict[str, Any] = json.loads((VECTORS / "c2sp-examples.json").read_text())


# -- an independent implementation, from the spec text only ---------------------


def spec_key_id(name: str, sig_type: int, public: bytes) -> bytes:
    # "key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]"
    return sha256(name.encode() + b"\x0a" + bytes([sig_type]) + public).digest()[:4]


def spec_vkey(name: str, sig_type: int, public: bytes) -> str:
    # "<key name>+hex(32-bit key ID)+base64(signature type || public key)"
    kid = spec_key_id(name, sig_type, public).hex()
    return f"{name}+{kid}+{base64.b64encode(bytes([sig_type]) + public).decode()}"


def raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def spec_sign(text: str, name: str, private: Ed25519PrivateKey) -> str:
    """A signed note: text, blank line, '— name base64(key ID || signature)'."""
    kid = spec_key_id(name, 0x01, raw_public(private))
    signature = private.sign(text.encode())
    line = f"\u2014 {name} {base64.b64encode(kid + signature).decode()}\n"
    return text + "\n" + line


def spec_cosign(text: str, name: str, private: Ed25519PrivateKey, t: int) -> str:
    """A tlog-cosignature/v1 signature line over a checkpoint's note text."""
    kid = spec_key_id(name, 0x04, raw_public(private))
    message = f"cosignature/v1\ntime {t}\n".encode() + text.encode()
    body = struct.pack(">Q", t) + private.sign(message)
    return f"\u2014 {name} {base64.b64encode(kid + body).decode()}\n"


def spec_verify(note: str, vkey: str) -> str:
    """The note's text if a signature by ``vkey`` verifies; raise otherwise."""
    name, kid_hex, key_b64 = vkey.split("+", 2)
    material = base64.b64decode(key_b64)
    assert material[0] == 0x01 and len(material) == 33
    public = Ed25519PublicKey.from_public_bytes(material[1:])
    assert spec_key_id(name, 0x01, material[1:]).hex() == kid_hex
    split = note.rindex("\n\n")
    text, sigs = note[: split + 1], note[split + 2 :]
    found = False
    for line in sigs.splitlines():
        assert line.startswith("\u2014 ")
        line_name, encoded = line[2:].split(" ")
        raw = base64.b64decode(encoded)
        if line_name == name and raw[:4].hex() == kid_hex:
            public.verify(raw[4:], text.encode())  # raises InvalidSignature
            found = True
    if not found:
        raise LookupError("no signature by that key")
    return text


def spec_verify_cosignature(note: str, vkey: str) -> int:
    """The timestamp of a verified cosignature by ``vkey`` (type 0x04)."""
    name, kid_hex, key_b64 = vkey.split("+", 2)
    material = base64.b64decode(key_b64)
    assert material[0] == 0x04
    public = Ed25519PublicKey.from_public_bytes(material[1:])
    split = note.rindex("\n\n")
    text = note[: split + 1]
    for line in note[split + 2 :].splitlines():
        line_name, encoded = line[2:].split(" ")
        raw = base64.b64decode(encoded)
        if line_name == name and raw[:4].hex() == kid_hex:
            (t,) = struct.unpack(">Q", raw[4:12])
            message = f"cosignature/v1\ntime {t}\n".encode() + text.encode()
            public.verify(raw[12:], message)
            return int(t)
    raise LookupError("no cosignature by that key")


# -- published vectors ---------------------------------------------------------


def test_go_reference_private_key_gives_its_verifier_key_and_signature() -> None:
    signer = parse_skey(SUMDB["peter"]["skey"])
    assert signer.vkey() == SUMDB["peter"]["vkey"]
    assert (
        signer.signature_line(SUMDB["text"]) == SUMDB["peter"]["signature_line"] + "\n"
    )
    assert signer.skey() == SUMDB["peter"]["skey"]


def test_enoch_key_from_zero_seed_matches_go() -> None:
    signer = Ed25519Signer("EnochRoot", bytes.fromhex(SUMDB["enoch"]["seed_hex"]))
    assert signer.vkey() == SUMDB["enoch"]["vkey"]
    assert (
        signer.signature_line(SUMDB["text"]) == SUMDB["enoch"]["signature_line"] + "\n"
    )


def test_go_signed_notes_open_with_our_verifier() -> None:
    peter = parse_vkey(SUMDB["peter"]["vkey"])
    enoch = parse_vkey(SUMDB["enoch"]["vkey"])
    note, verified = open_note(SUMDB["signed_note_peter"], [peter])
    assert note.text == SUMDB["text"]
    assert [s.name for s in verified] == ["PeterNeumann"]
    _, verified = open_note(SUMDB["doubly_signed_note"], [peter, enoch])
    assert [s.name for s in verified] == ["PeterNeumann", "EnochRoot"]
    # Only Enoch trusted: Peter's signature is from an unknown key and is ignored.
    _, verified = open_note(SUMDB["doubly_signed_note"], [enoch])
    assert [s.name for s in verified] == ["EnochRoot"]


def test_c2sp_spec_example_note_verifies() -> None:
    example = C2SP["signed_note"]
    note, _ = open_note(example["note"], [parse_vkey(example["vkey"])])
    assert note.text == example["text"]


def test_c2sp_spec_examples_parse_with_their_key_names() -> None:
    intro = parse_note(C2SP["signed_note_intro"]["note"])
    assert intro.signatures[0].name == C2SP["signed_note_intro"]["key_name"]
    checkpoint = C2SP["checkpoint"]
    parsed = Checkpoint.parse(parse_note(checkpoint["note"]).text)
    assert parsed.origin == checkpoint["origin"]
    assert parsed.tree_size == checkpoint["size"]
    assert base64.b64encode(parsed.root_hash).decode() == checkpoint["root_b64"]
    cosigned = parse_note(C2SP["cosignature"]["note"])
    assert [s.name for s in cosigned.signatures] == [
        checkpoint["origin"],
        C2SP["cosignature"]["witness"],
    ]
    stamp = struct.unpack(">Q", cosigned.signatures[1].signature[:8])[0]
    assert stamp == C2SP["cosignature"]["timestamp"]


@pytest.mark.parametrize("bad", SUMDB["bad_vkeys"], ids=lambda b: b["why"])
def test_bad_verifier_keys_are_refused(bad: dict[str, str]) -> None:
    with pytest.raises(EvidenceError):
        parse_vkey(bad["vkey"])


@pytest.mark.parametrize("bad", SUMDB["malformed_notes"], ids=lambda b: b["why"])
def test_malformed_notes_are_refused(bad: dict[str, str]) -> None:
    with pytest.raises(EvidenceError, match=r"malformed|key name|signature"):
        open_note(bad["note"], [parse_vkey(SUMDB["peter"]["vkey"])])


def test_invalid_utf8_note_is_refused() -> None:
    raw = base64.b64decode(SUMDB["malformed_notes_bytes_b64"][0]["note_b64"])
    with pytest.raises(EvidenceError, match="UTF-8"):
        open_note(raw, [parse_vkey(SUMDB["peter"]["vkey"])])


def test_corrupted_signature_from_a_known_key_rejects_the_note() -> None:
    with pytest.raises(EvidenceError, match="does not verify"):
        open_note(
            SUMDB["corrupted_signature"]["note"], [parse_vkey(SUMDB["peter"]["vkey"])]
        )


def test_note_with_no_trusted_signature_is_refused() -> None:
    stranger = Ed25519Signer.generate("PeterNeumann")  # same name, other key
    with pytest.raises(EvidenceError, match="no signature from a trusted key"):
        open_note(SUMDB["signed_note_peter"], [stranger.verifier()])


def test_too_many_signatures_are_refused_but_sixteen_accepted() -> None:
    signer = parse_skey(SUMDB["peter"]["skey"])
    line = signer.signature_line(SUMDB["text"])
    ok = SUMDB["text"] + "\n" + line * 16
    open_note(ok, [signer.verifier()])
    too_many = SUMDB["text"] + "\n" + line * SUMDB["too_many_signatures"]["count"]
    with pytest.raises(EvidenceError, match="at most"):
        open_note(too_many, [signer.verifier()])


# -- ours against the independent implementation --------------------------------


def test_our_signed_note_verifies_with_the_independent_verifier() -> None:
    signer = Ed25519Signer.generate("journey-ledger.example/log")
    text = "journey-ledger.example/log\n42\n" + base64.b64encode(bytes(32)).decode()
    note = sign_note(text + "\n", [signer])
    assert spec_verify(note, signer.vkey()) == text + "\n"
    assert signer.vkey() == spec_vkey(signer.name, 0x01, signer.public_key)
    tampered = note.replace("\n42\n", "\n43\n")
    with pytest.raises(InvalidSignature):
        spec_verify(tampered, signer.vkey())


def test_independent_signed_note_verifies_with_ours() -> None:
    private = Ed25519PrivateKey.generate()
    name = "inspector.example/notes"
    note = spec_sign("Seen and checked.\nAll in order.\n", name, private)
    verifier = parse_vkey(spec_vkey(name, 0x01, raw_public(private)))
    parsed, verified = open_note(note, [verifier])
    assert parsed.text == "Seen and checked.\nAll in order.\n"
    assert len(verified) == 1
    with pytest.raises(EvidenceError, match="does not verify"):
        open_note(note.replace("All in", "Not in"), [verifier])


def test_our_cosignature_verifies_with_the_independent_verifier() -> None:
    witness = Ed25519Signer.generate("witness.example/w1", COSIGNATURE_V1)
    text = C2SP["checkpoint"]["note"].split("\n\n")[0] + "\n"
    note = C2SP["checkpoint"]["note"] + witness.signature_line(text, 1679315147)
    assert spec_verify_cosignature(note, witness.vkey()) == 1679315147


def test_independent_cosignature_verifies_with_ours() -> None:
    private = Ed25519PrivateKey.generate()
    name = "witness.example/w2"
    text = C2SP["checkpoint"]["note"].split("\n\n")[0] + "\n"
    note = C2SP["checkpoint"]["note"] + spec_cosign(text, name, private, 1700000000)
    vkey = parse_vkey(
        f"{name}+{spec_key_id(name, 0x04, raw_public(private)).hex()}+"
        + base64.b64encode(b"\x04" + raw_public(private)).decode()
    )
    _, verified = open_note(note, [vkey])
    assert verified[0].signature[:8] == struct.pack(">Q", 1700000000)
    # A cosignature is not a plain note signature: the type-0x01 key of the same
    # Ed25519 key has another key ID, so it does not even match the line.
    plain = parse_vkey(spec_vkey(name, 0x01, raw_public(private)))
    with pytest.raises(EvidenceError, match="no signature from a trusted key"):
        open_note(note, [plain])


def test_key_names_with_spaces_or_plus_are_refused() -> None:
    for name in ("bad name", "bad+name", ""):
        with pytest.raises(EvidenceError):
            Ed25519Signer.generate(name)
