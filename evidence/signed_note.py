"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and tlog cosignatures.

A note is UTF-8 text ending in a newline, a blank line, then signature lines::

    — <key name> base64(4-byte key ID || signature)

Two signature types are implemented, each from its specification:

- ``0x01`` Ed25519 (signed-note): the log's key signs the note text itself;
- ``0x04`` timestamped Ed25519 cosignature (c2sp.org/tlog-cosignature): a witness signs
  ``"cosignature/v1\\ntime <t>\\n" || note text`` and the signature is
  ``8-byte big-endian t || 64-byte Ed25519 signature``.

key ID = SHA-256(key name || 0x0A || type byte || 32-byte public key)[:4].

Verifier keys (vkeys) are ``<name>+<hex key ID>+base64(type byte || public key)``.
Private keys are kept in the encoding of the Go reference implementation
(golang.org/x/mod/sumdb/note), ``PRIVATE+KEY+<name>+<hex key ID>+base64(type || seed)``,
so keys move between this module and Go tooling unchanged.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from evidence.errors import EvidenceError

ED25519 = 0x01
"""Signature type of plain Ed25519 note signatures (signed-note)."""
COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 checkpoint cosignatures (tlog-cosignature)."""

SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100
"""More than the spec's minimum of 16; the Go implementation's limit."""
PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"
_TYPE_NAMES = {ED25519: "Ed25519", COSIGNATURE_V1: "Ed25519 cosignature (v1)"}
_TIMESTAMP = struct.Struct(">Q")


# -- names, key IDs, key strings -----------------------------------------------


def check_key_name(name: str) -> str:
    """``name`` if it is a valid key name (non-empty, no spaces, no '+')."""
    if not name:
        raise EvidenceError("a key name must not be empty")
    if any(ch.isspace() or ch == "+" for ch in name):
        msg = f"key name {name!r} contains a space or '+', which C2SP notes forbid"
        raise EvidenceError(msg)
    if any(ord(ch) < 0x20 for ch in name):
        raise EvidenceError(f"key name {name!r} contains a control character")
    return name


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || signature type || public key)[:4]."""
    return sha256(
        name.encode() + b"\n" + bytes([signature_type]) + public_key
    ).digest()[:4]


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as e:
        raise EvidenceError(f"{what} is not valid base64: {text!r}") from e


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- verifiers ------------------------------------------------------------------


class Verifier(Protocol):
    """Checks note signatures from one key (name and key ID identify it)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True)
class Ed25519Verifier:
    """Plain Ed25519 note signatures (type 0x01)."""

    name: str
    public_key: bytes
    signature_type = ED25519

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.signature_type, self.public_key)

    def vkey(self) -> str:
        return (
            f"{self.name}+{self.key_id.hex()}+"
            f"{b64(bytes([self.signature_type]) + self.public_key)}"
        )

    def message(self, text: bytes, signature: bytes) -> bytes:
        return text

    def raw_signature(self, signature: bytes) -> bytes:
        return signature

    def verify(self, text: bytes, signature: bytes) -> bool:
        raw = self.raw_signature(signature)
        if len(raw) != 64:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                raw, self.message(text, signature)
            )
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class CosignatureVerifier(Ed25519Verifier):
    """Timestamped Ed25519 checkpoint cosignatures (type 0x04, cosignature/v1)."""

    signature_type = COSIGNATURE_V1

    def message(self, text: bytes, signature: bytes) -> bytes:
        return cosigned_message(text, self.timestamp(signature))

    def raw_signature(self, signature: bytes) -> bytes:
        return signature[_TIMESTAMP.size :]

    @staticmethod
    def timestamp(signature: bytes) -> int:
        if len(signature) < _TIMESTAMP.size:
            return -1
        value: int = _TIMESTAMP.unpack_from(signature)[0]
        return value

    def verify(self, text: bytes, signature: bytes) -> bool:
        stamp = self.timestamp(signature)
        return 0 <= stamp < 2**63 and super().verify(text, signature)


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header, time line, then the checkpoint text."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


def parse_vkey(vkey: str) -> Ed25519Verifier:
    """A verifier from its vkey string; the key ID must match the key it names.

    No message repeats the string or any part of it: what was given might be a
    private key pasted where a verifier key belongs, and errors end up on screens
    and in logs.
    """
    vkey = vkey.strip()
    if is_private_key(vkey):
        raise EvidenceError(PRIVATE_KEY_GIVEN)
    parts = vkey.split("+", 2)  # the base64 key may itself contain '+'
    if len(parts) != 3:
        msg = "a verifier key is of the form <name>+<hex key ID>+<base64 key>"
        raise EvidenceError(msg)
    name, hex_id, key_b64 = parts
    try:
        check_key_name(name)
    except EvidenceError:
        msg = "the verifier key's name is empty or holds a space, '+' or control code"
        raise EvidenceError(msg) from None
    if len(hex_id) != 8 or not all(c in "0123456789abcdef" for c in hex_id):
        msg = "the verifier key's key ID is not 8 lower-case hex digits"
        raise EvidenceError(msg)
    material = _b64decode_quietly(key_b64)
    if material is None:
        raise EvidenceError("the verifier key's key is not valid base64")
    if not material:
        raise EvidenceError("the verifier key has no key material")
    signature_type, public_key = material[0], material[1:]
    cls: type[Ed25519Verifier]
    if signature_type == ED25519:
        cls = Ed25519Verifier
    elif signature_type == COSIGNATURE_V1:
        cls = CosignatureVerifier
    else:
        msg = (
            f"the verifier key has signature type 0x{signature_type:02x}; "
            "only 0x01 (Ed25519) and 0x04 (Ed25519 cosignature) are supported"
        )
        raise EvidenceError(msg)
    if len(public_key) != 32:
        msg = (
            "the verifier key's Ed25519 public key is not 32 bytes "
            f"but {len(public_key)}"
        )
        raise EvidenceError(msg)
    verifier = cls(name, public_key)
    if verifier.key_id.hex() != hex_id:
        if _is_bare_private_key(name, hex_id, material):
            raise EvidenceError(PRIVATE_KEY_GIVEN)
        raise EvidenceError("the verifier key's key ID does not match its key")
    return verifier


PRIVATE_KEY_GIVEN = (
    "a private key was given where a verifier key belongs; the private key is "
    "the secret that signs, and stays in its key file"
)


def is_private_key(text: str) -> bool:
    """Whether ``text`` is (or starts as) a private key string, with or without
    its ``PRIVATE+KEY+`` prefix, so that callers can refuse it without echoing it.
    """
    text = text.strip()
    if text[: len(PRIVATE_KEY_PREFIX)].upper() == PRIVATE_KEY_PREFIX:
        return True
    parts = text.split("+", 2)
    if len(parts) != 3:
        return False
    material = _b64decode_quietly(parts[2])
    return material is not None and _is_bare_private_key(parts[0], parts[1], material)


def _is_bare_private_key(name: str, hex_id: str, material: bytes) -> bool:
    # A private key string stripped of its prefix has the shape of a vkey; only the
    # key ID tells them apart, since it names the public key the seed derives.
    if len(material) != 33 or material[0] not in _TYPE_NAMES:
        return False
    public = (
        Ed25519PrivateKey.from_private_bytes(material[1:])
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return key_id(name, material[0], public).hex() == hex_id


def _b64decode_quietly(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


# -- signers --------------------------------------------------------------------


@dataclass(frozen=True)
class Ed25519Signer:
    """An Ed25519 key that signs notes (type 0x01) or cosigns checkpoints (0x04)."""

    name: str
    seed: bytes
    signature_type: int = ED25519

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.seed) != 32:
            raise EvidenceError("an Ed25519 private key (seed) is 32 bytes")
        if self.signature_type not in _TYPE_NAMES:
            msg = f"unsupported signature type 0x{self.signature_type:02x}"
            raise EvidenceError(msg)

    @classmethod
    def generate(cls, name: str, signature_type: int = ED25519) -> Ed25519Signer:
        seed = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return cls(name, seed, signature_type)

    @property
    def _private_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public_key(self) -> bytes:
        return self._private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.signature_type, self.public_key)

    def verifier(self) -> Ed25519Verifier:
        cls = (
            CosignatureVerifier
            if self.signature_type == COSIGNATURE_V1
            else Ed25519Verifier
        )
        return cls(self.name, self.public_key)

    def vkey(self) -> str:
        return self.verifier().vkey()

    def skey(self) -> str:
        """The private key string (Go sumdb/note encoding). Keep it secret."""
        return (
            f"{PRIVATE_KEY_PREFIX}{self.name}+{self.key_id.hex()}+"
            f"{b64(bytes([self.signature_type]) + self.seed)}"
        )

    def sign(self, text: bytes, timestamp: int | None = None) -> bytes:
        """The signature (without key ID) over ``text`` as this key's type defines.

        Cosignatures need ``timestamp`` (POSIX seconds) and carry it in front.
        """
        if self.signature_type == COSIGNATURE_V1:
            if timestamp is None or not 0 <= timestamp < 2**63:
                raise EvidenceError("a cosignature needs a timestamp in [0, 2^63)")
            raw = self._private_key.sign(cosigned_message(text, timestamp))
            return _TIMESTAMP.pack(timestamp) + raw
        return self._private_key.sign(text)

    def signature_line(self, text: str, timestamp: int | None = None) -> str:
        signature = self.sign(text.encode(), timestamp)
        return Signature(self.name, self.key_id, signature).line()


def parse_skey(skey: str) -> Ed25519Signer:
    """A signer from its private key string; the key ID must match the key."""
    skey = skey.strip()
    if not skey.startswith(PRIVATE_KEY_PREFIX):
        msg = f"a private key string starts with {PRIVATE_KEY_PREFIX!r}"
        raise EvidenceError(msg)
    parts = skey[len(PRIVATE_KEY_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise EvidenceError("a private key string has a name, a key ID and a key")
    name, hex_id, key_b64 = parts
    material = _b64decode_quietly(key_b64)  # never echo a secret's text
    if material is None:
        raise EvidenceError("the private key is not valid base64")
    if len(material) != 33:
        raise EvidenceError("the private key is not a type byte and a 32-byte seed")
    signer = Ed25519Signer(name, material[1:], material[0])
    if signer.key_id.hex() != hex_id:
        msg = (
            f"the private key for {name!r} says key ID {hex_id} but the key's ID is "
            f"{signer.key_id.hex()}"
        )
        raise EvidenceError(msg)
    return signer


# -- notes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """A note's text (ending in a newline) and its signature lines, as parsed."""

    text: str
    signatures: tuple[Signature, ...]

    def __str__(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise EvidenceError("note text must end with a newline")
    _check_characters(text)


def _check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        if ch != "\n" and ord(ch) < 0x20:
            msg = (
                f"malformed note: control character U+{ord(ch):04X} at offset {i} "
                "(only newlines are allowed)"
            )
            raise EvidenceError(msg)


def parse_note(note: str | bytes) -> Note:
    """Split a signed note into text and signatures, checking the framing only."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as e:
            raise EvidenceError(f"malformed note: not valid UTF-8 ({e})") from e
    _check_characters(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise EvidenceError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise EvidenceError("malformed note: no signature lines")
    if not block.endswith("\n"):
        raise EvidenceError("malformed note: the last signature line has no newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        msg = f"malformed note: {len(lines)} signatures (at most {MAX_SIGNATURES})"
        raise EvidenceError(msg)
    signatures = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(SIGNATURE_PREFIX):
            msg = (
                f"malformed note: signature line {number} does not start with "
                f"an em dash and a space: {line!r}"
            )
            raise EvidenceError(msg)
        name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not space:
            msg = f"malformed note: signature line {number} has no signature"
            raise EvidenceError(msg)
        check_key_name(name)
        raw = _b64decode(encoded, f"malformed note: signature line {number}")
        if len(raw) < 5:
            msg = f"malformed note: signature line {number} is too short"
            raise EvidenceError(msg)
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return Note(text, tuple(signatures))


def sign_note(text: str, signers: Iterable[Ed25519Signer]) -> str:
    """A signed note of ``text`` with one signature line per signer, in order."""
    check_note_text(text)
    lines = [signer.signature_line(text) for signer in signers]
    if not lines:
        raise EvidenceError("a signed note needs at least one signature")
    return text + "\n" + "".join(lines)


def open_note(
    note: str | bytes, verifiers: Sequence[Verifier]
) -> tuple[Note, list[Signature]]:
    """Parse and verify a note: (note, the signatures that verified).

    As the spec requires: signatures from unknown keys (name and key ID not both
    matching a verifier) are ignored; a known key's signature that fails rejects the
    whole note; a note with no verified signature is rejected.
    """
    parsed = parse_note(note)
    text = parsed.text.encode()
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[Signature] = []
    for signature in parsed.signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not verifier.verify(text, signature.signature):
            msg = (
                f"the signature by {signature.name} (key ID "
                f"{signature.key_id.hex()}) does not verify: the note was altered "
                "or signed by another key"
            )
            raise EvidenceError(msg)
        verified.append(signature)
    if not verified:
        names = ", ".join(f"{v.name}+{v.key_id.hex()}" for v in verifiers)
        present = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in parsed.signatures)
        msg = (
            f"the note has no signature from a trusted key (trusted: {names}; "
            f"present: {present})"
        )
        raise EvidenceError(msg)
    return parsed, verified
