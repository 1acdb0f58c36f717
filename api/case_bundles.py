"""A case's offline bundle: made here for the CLI, the API and the console alike,
and checked here for ``ledger verify-bundle``.

``evidence.bundle`` knows nothing of prisons; this module brings what only the
ledger knows: the case id a prisoner number derives, and the ledger's event mapper
(its transcodings and cipher), which turns each proved ``state`` into the readable
view a bundle shows beside it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eventsourcing.persistence import Mapper
from eventsourcing.utils import TopicError

import domain.events  # noqa: F401 (registers the domain's stable event topics)
from api.wiring import cipher_environment
from domain.identifiers import case_id
from domain.ledger import JourneyLedger
from evidence.bundle import (
    Decoder,
    UnreadableState,
    build_bundle,
    mapper_decoder,
    verify_bundle,
)
from evidence.checkpoint import issue_checkpoint
from evidence.database import EvidenceStore
from evidence.errors import EvidenceError
from evidence.keys import load_key_file
from evidence.signed_note import ED25519, Ed25519Signer, Verifier

PRISONER_NUMBER = re.compile(r"^[A-Z]\d{4}[A-Z]{2}$")
CIPHER_KEY_VARIABLE = "LEDGER_CIPHER_KEY"

# Two exports in one process would otherwise both sign the same tree size.
_issue_lock = threading.Lock()


class BundleRefused(EvidenceError):
    """Why a case's bundle cannot be made, with the HTTP status and rule the API
    answers with; the CLI prints the message alone."""

    def __init__(self, status: int, detail: str, rule: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.rule = status, detail, rule


def export_case_bundle(
    ledger: JourneyLedger,
    store: EvidenceStore,
    prisoner_number: str,
    *,
    signing_key_file: Path,
    verifier_key: str | None = None,
) -> dict[str, Any]:
    """The case's bundle (docs/bundle-format.md), as a JSON-ready dict.

    With the log's signing key (``LEDGER_SIGNING_KEY_FILE``) a checkpoint is signed
    first, so that the newest events are covered, and the bundle names that key's
    verifier key. Without it, ``verifier_key`` must say which key verifies the
    bundle, and the events must already be in a signed checkpoint. Raises
    :class:`BundleRefused`.
    """
    originator = str(case_id(prisoner_number))
    if not store.select_events_of(originator):
        raise BundleRefused(
            404,
            f"no events recorded for prisoner number {prisoner_number}",
            "case-not-found",
        )
    signer = _log_signer(signing_key_file)
    if signer is None and verifier_key is None:
        raise BundleRefused(
            409,
            f"there is no log signing key at {signing_key_file}: nothing can sign "
            "a checkpoint covering the case, nor name the key that verifies it",
            "export-needs-log-key",
        )
    try:
        if signer is not None:
            # If another process signed the same tree size first, its checkpoint
            # serves.
            with _issue_lock:
                issue_checkpoint(store, signer)
        bundle = build_bundle(
            store,
            originator,
            verifier_key=verifier_key or _vkey(signer),
            decode=mapper_decoder(ledger.mapper),
        )
    except EvidenceError as e:
        if signer is None:  # the latest checkpoint may simply not cover the case
            raise BundleRefused(409, str(e), "export-needs-checkpoint") from e
        raise BundleRefused(
            409, f"{e}; run ledger verify", "stored-log-inconsistent"
        ) from e
    bundle["subject"] = {"prisoner_number": prisoner_number}
    return bundle


def _log_signer(path: Path) -> Ed25519Signer | None:
    if not path.exists():
        return None
    try:
        return load_key_file(path, ED25519)
    except EvidenceError as e:
        raise BundleRefused(409, str(e), "export-needs-log-key") from e


def _vkey(signer: Ed25519Signer | None) -> str:
    assert signer is not None  # export_case_bundle refused a bundle with neither
    return signer.vkey()


# -- verifying --------------------------------------------------------------------


def verify_case_bundle(
    bundle: Any,
    verifier: Verifier,
    witnesses: Sequence[Verifier] = (),
    *,
    cipher_key: str | None = None,
) -> str:
    """``evidence.bundle.verify_bundle`` with what only the ledger knows: each
    readable view recomputed from its proved state by the ledger's mapper (with
    ``LEDGER_CIPHER_KEY``, if set), and the case named by its prisoner number once
    that number is shown to be the one the proved events' case id derives from.

    Needs no database: the mapper is an in-memory ledger's.
    """
    return verify_bundle(
        bundle,
        verifier,
        witnesses,
        decode=readable_view_decoder(cipher_key),
        subject=proved_prisoner_number,
    )


def proved_prisoner_number(bundle: Mapping[str, Any]) -> str:
    """The bundle's ``subject.prisoner_number``, if the case id the proofs cover
    (``originator_id``) is that number's; the subject itself is not signed."""
    subject = bundle.get("subject")
    number = subject.get("prisoner_number") if isinstance(subject, dict) else None
    if not isinstance(number, str) or not PRISONER_NUMBER.match(number):
        msg = (
            "the bundle does not say whose case it is: subject.prisoner_number is "
            "missing or not a prisoner number"
        )
        raise EvidenceError(msg)
    derived = str(case_id(number))
    if derived != bundle.get("originator_id"):
        msg = (
            f"the bundle names prisoner number {number}, whose case id is {derived}, "
            f"but its events are of case {bundle.get('originator_id')}: the subject "
            "was altered"
        )
        raise EvidenceError(msg)
    return number


def readable_view_decoder(cipher_key: str | None) -> Decoder:
    """Decodes a proved state as the exporter did, with the ledger's mapper and
    ``cipher_key`` (the ledger's ``LEDGER_CIPHER_KEY``). A state stored
    before encryption was switched on is read without the cipher. Raises
    :class:`UnreadableState` saying why a state cannot be read.
    """
    try:
        ledger = JourneyLedger(
            env={"PERSISTENCE_MODULE": "eventsourcing.popo"}
            | cipher_environment(cipher_key)
        )
    except (ValueError, TypeError):
        # Never show the key: it is the secret that opens every event.
        msg = (
            f"the cipher key ({CIPHER_KEY_VARIABLE} or CIPHER_KEY) is not a base64 "
            "AES key of 16, 24 or 32 bytes"
        )
        raise EvidenceError(msg) from None
    try:
        mapper = ledger.mapper
    finally:
        ledger.close()
    keyed = mapper_decoder(mapper)
    plain = (
        mapper_decoder(Mapper(mapper.transcoder, compressor=mapper.compressor))
        if mapper.cipher is not None
        else None
    )

    def decode(originator_id: str, version: int, topic: str, state: bytes) -> Any:
        unknown = f"its event class ({topic}) is not known to this ledger"
        try:
            return keyed(originator_id, version, topic, state)
        except TopicError:
            raise UnreadableState(unknown) from None
        except Exception as e:  # whatever the cipher or the transcoder raises
            failure = e
        if state.lstrip()[:1] == b"{":  # the transcoder's JSON: not encrypted
            msg = f"its state could not be decoded ({type(failure).__name__})"
            raise UnreadableState(msg) from failure
        if plain is None:
            msg = (
                "the state is encrypted and no cipher key was given (set "
                f"{CIPHER_KEY_VARIABLE} to check it)"
            )
            raise UnreadableState(msg) from failure
        try:
            return plain(originator_id, version, topic, state)
        except TopicError:
            raise UnreadableState(unknown) from None
        except Exception:
            msg = "the state cannot be decrypted with the cipher key given"
            raise UnreadableState(msg) from failure

    return decode
