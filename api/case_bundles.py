"""A case's offline bundle, made here for the CLI, the API and the console alike.

``evidence.bundle`` knows nothing of prisons; this module brings what only the
ledger knows: the case id a prisoner number derives, and the ledger's event mapper
(its transcodings and cipher), which gives the readable view beside each stored
``state``.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import domain.events  # noqa: F401 (registers the domain's stable event topics)
from domain.identifiers import case_id
from domain.ledger import JourneyLedger
from evidence.bundle import build_bundle, mapper_decoder
from evidence.checkpoint import issue_checkpoint
from evidence.database import EvidenceStore
from evidence.errors import EvidenceError
from evidence.keys import load_key_file, signing_key_path
from evidence.signed_note import ED25519, Ed25519Signer

PRISONER_NUMBER = re.compile(r"^[A-Z]\d{4}[A-Z]{2}$")

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
    signer = _log_signer()
    if signer is None and verifier_key is None:
        raise BundleRefused(
            409,
            f"there is no log signing key at {signing_key_path()}: nothing can sign "
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


def _log_signer() -> Ed25519Signer | None:
    path = signing_key_path()
    if not path.exists():
        return None
    try:
        return load_key_file(path, ED25519)
    except EvidenceError as e:
        raise BundleRefused(409, str(e), "export-needs-log-key") from e


def _vkey(signer: Ed25519Signer | None) -> str:
    assert signer is not None  # export_case_bundle refused a bundle with neither
    return signer.vkey()
