"""Key files: the log's signing key and witnesses' cosigning keys, on disk.

A key file holds one private key string in the Go sumdb/note encoding
(``PRIVATE+KEY+<name>+<hex key ID>+base64(type || seed)``, see
``evidence.signed_note``) and a newline. It is created with mode 0600 and never
overwritten unless asked. The log's key file is ``LEDGER_SIGNING_KEY_FILE``, default
``./var/ledger-signing.key``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from evidence.errors import EvidenceError
from evidence.signed_note import (
    ED25519,
    Ed25519Signer,
    Ed25519Verifier,
    is_private_key,
    parse_skey,
    parse_vkey,
)


def create_key_file(
    path: Path, name: str, signature_type: int = ED25519, *, force: bool = False
) -> Ed25519Signer:
    """Generate a key, write it to ``path`` (mode 0600) and return it."""
    if is_private_key(str(path)):
        # Else a key pasted as the file's name becomes one, and is printed as such.
        msg = "a private key was given where the new key file's name belongs"
        raise EvidenceError(msg)
    if path.exists() and not force:
        msg = (
            f"{path} already exists; refusing to overwrite a signing key "
            "(use --force to replace it: checkpoints signed with the old key will "
            "then only verify with the old verifier key)"
        )
        raise EvidenceError(msg)
    signer = Ed25519Signer.generate(name, signature_type)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(temporary, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, (signer.skey() + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    return signer


def load_key_file(path: Path, signature_type: int | None = None) -> Ed25519Signer:
    """The private key in ``path``; refuses files others can read or write."""
    if is_private_key(str(path)):
        # The key itself given as a file name: the messages below would show it.
        msg = "a private key was given where its key file's name belongs"
        raise EvidenceError(msg)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        msg = f"no key file at {path} (create one with: ledger keys init)"
        raise EvidenceError(msg) from e
    except UnicodeDecodeError:
        msg = f"cannot read the key file {path}: it is not UTF-8 text"
        raise EvidenceError(msg) from None
    except OSError as e:
        msg = f"cannot read the key file {path}: {e.strerror or type(e).__name__}"
        raise EvidenceError(msg) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        msg = (
            f"key file {path} is readable or writable by others (mode "
            f"{stat.S_IMODE(mode):04o}); make it 0600"
        )
        raise EvidenceError(msg)
    try:
        signer = parse_skey(text)
    except EvidenceError as e:
        raise EvidenceError(f"{path} does not hold a usable private key: {e}") from e
    if signature_type is not None and signer.signature_type != signature_type:
        msg = (
            f"{path} holds a key of signature type 0x{signer.signature_type:02x}, "
            f"not 0x{signature_type:02x}"
        )
        raise EvidenceError(msg)
    return signer


SHOW_VERIFIER_KEY = "ledger keys show --file KEY_FILE prints a key file's verifier key"


def read_vkey(value: str, what: str = "the verifier key") -> Ed25519Verifier:
    """A verifier key given as the vkey string itself or as a file holding it.

    ``what`` names the value in messages (``--key``). A private key, or a file
    holding one, is refused: giving the signing key where its verifier key belongs
    is an easy mistake. No message repeats the value or the file's contents, lest
    a secret reach a screen or a log; a file's name is shown once it is known to
    be one.
    """
    text = value.strip()
    if is_private_key(text):
        msg = (
            f"{what} is a private key, not a verifier key: never give the signing "
            f"key where its verifier key belongs ({SHOW_VERIFIER_KEY})"
        )
        raise EvidenceError(msg)
    path = _existing_file(text)
    if path is None:
        if text.count("+") < 2:
            msg = (
                f"{what} is neither a verifier key (<name>+<hex key ID>+<base64 key>) "
                "nor a file that exists"
            )
            raise EvidenceError(msg)
        try:
            return parse_vkey(text)
        except EvidenceError as e:
            raise EvidenceError(f"{what} is not a usable verifier key: {e}") from None
    try:
        text = path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        msg = f"{what}: the file {path} is not text, so it holds no verifier key"
        raise EvidenceError(msg) from None
    except OSError as e:
        msg = f"{what}: cannot read the file {path}: {e.strerror or type(e).__name__}"
        raise EvidenceError(msg) from None
    if is_private_key(text):
        msg = (
            f"{what}: the file {path} holds a private key, not a verifier key: never "
            "give the signing key where its verifier key belongs (ledger keys show "
            f"--file {path} prints its verifier key)"
        )
        raise EvidenceError(msg)
    try:
        return parse_vkey(text)
    except EvidenceError as e:
        msg = f"{what}: the file {path} holds no usable verifier key: {e}"
        raise EvidenceError(msg) from None


def _existing_file(text: str) -> Path | None:
    try:
        path = Path(text)
        return path if text and path.is_file() else None
    except (OSError, ValueError):  # a name too long for the system, a NUL byte
        return None
