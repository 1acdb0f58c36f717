"""Proof marks: is each of one aggregate's events in the latest signed checkpoint?

What a reader of a history needs beside each event: proof that it is in the log as
signed, checked now, on the server, the way ``verify_bundle`` checks offline:

1. the latest checkpoint's note is opened with the log's verifier key (its signature
   must verify; the root comes from the signed text, not from a stored column);
2. each event's leaf hash is recomputed from its stored fields;
3. an RFC 9162 inclusion proof from the stored interior hashes must lead from that
   leaf to the signed root.

An event after the checkpoint is *pending* (the next checkpoint will cover it); one
whose check fails is *failed*, with the reason, and so is every event when the note
itself does not verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from evidence.checkpoint import Checkpoint, open_checkpoint
from evidence.database import EvidenceStore
from evidence.errors import EvidenceError
from evidence.proofs import inclusion_proof, verify_inclusion
from evidence.signed_note import Verifier
from store.seal import event_leaf_hash


class ProofStatus(StrEnum):
    PROVED = "proved"
    PENDING = "pending"
    FAILED = "failed"
    UNCHECKED = "unchecked"


@dataclass(frozen=True)
class ProofMark:
    position: int
    status: ProofStatus
    detail: str


@dataclass(frozen=True)
class ProofMarks:
    """Marks by position, and the checkpoint they were checked against."""

    marks: dict[int, ProofMark]
    tree_size: int | None
    origin: str | None
    issued_at: datetime | None
    problem: str | None
    """Why nothing could be proved (no checkpoint, no key, a bad signature)."""


def mark_events(
    store: EvidenceStore, originator_id: str, verifier: Verifier | None
) -> ProofMarks:
    """Check each of ``originator_id``'s events against the latest checkpoint."""
    rows = store.select_events_of(originator_id)
    signed = store.latest_checkpoint()
    problem: str | None = None
    checkpoint: Checkpoint | None = None
    if signed is None:
        problem = "the log has no signed checkpoint yet"
    elif verifier is None:
        problem = "this server holds no log key to check the checkpoint's signature"
    else:
        try:
            checkpoint = open_checkpoint(signed.note, verifier)
        except EvidenceError as e:
            problem = f"the latest checkpoint does not verify: {e}"
    # With a checkpoint and a key, a note that does not verify fails every event;
    # without either, nothing could be checked.
    unproved = ProofStatus.FAILED if signed and verifier else ProofStatus.UNCHECKED
    marks: dict[int, ProofMark] = {}
    for position, originator, version, topic, state, stored_leaf, _ in rows:
        if checkpoint is None:
            marks[position] = ProofMark(position, unproved, problem or "")
            continue
        if position > checkpoint.tree_size:
            marks[position] = ProofMark(
                position,
                ProofStatus.PENDING,
                f"recorded after the checkpoint at tree size {checkpoint.tree_size}",
            )
            continue
        leaf = event_leaf_hash(originator, version, topic, state)
        try:
            if leaf != stored_leaf:
                msg = "the stored event does not hash to its stored leaf hash"
                raise EvidenceError(msg)
            proof = inclusion_proof(store, position - 1, checkpoint.tree_size)
            verify_inclusion(
                position - 1, checkpoint.tree_size, leaf, proof, checkpoint.root_hash
            )
        except EvidenceError as e:
            marks[position] = ProofMark(position, ProofStatus.FAILED, str(e))
            continue
        marks[position] = ProofMark(
            position,
            ProofStatus.PROVED,
            f"included in the checkpoint at tree size {checkpoint.tree_size} "
            f"({len(proof)}-hash proof)",
        )
    return ProofMarks(
        marks=marks,
        tree_size=checkpoint.tree_size if checkpoint else None,
        origin=checkpoint.origin if checkpoint else None,
        issued_at=signed.issued_at if signed and checkpoint else None,
        problem=problem,
    )
