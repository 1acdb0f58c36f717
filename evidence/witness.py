"""A witness for the ledger's log (C2SP tlog-witness semantics, tlog-cosignature form).

The witness keeps, in a state file, the last checkpoint it cosigned. Each run it
fetches the log's latest checkpoint, checks the log's signature on it, asks the log
for a consistency proof from the size it holds to the new size, and checks that
proof against the root it holds. Only then does it add its cosignature (a timestamped
Ed25519 cosignature/v1 line) to the checkpoint and move its state forward. A log that
went backwards, or whose history was rewritten, gets no cosignature and a message
that says what differs; the state file is left as it was.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from evidence.checkpoint import Checkpoint, open_checkpoint
from evidence.database import EvidenceStore
from evidence.errors import EvidenceError
from evidence.proofs import consistency_proof, verify_consistency
from evidence.signed_note import COSIGNATURE_V1, Ed25519Signer, Verifier, parse_note


class LogSource(Protocol):
    """Where the witness reads the log (the store now; the HTTP API later)."""

    def latest_checkpoint(self) -> str | None:
        """The latest signed checkpoint note, or None."""
        ...

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]: ...

    def add_cosignature(self, tree_size: int, cosigner: str, line: str) -> None: ...


class StoreLog:
    """The log as the store keeps it (LEDGER_DATABASE_URL)."""

    def __init__(self, store: EvidenceStore) -> None:
        self.store = store

    def latest_checkpoint(self) -> str | None:
        latest = self.store.latest_checkpoint()
        return None if latest is None else latest.note

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return consistency_proof(self.store, old_size, new_size)

    def add_cosignature(self, tree_size: int, cosigner: str, line: str) -> None:
        self.store.insert_cosignature(tree_size, cosigner, line, datetime.now(UTC))


@dataclass(frozen=True)
class WitnessState:
    origin: str
    log_key: str
    tree_size: int
    root_hash: str
    """Base64, as in the checkpoint."""
    checkpoint: str
    """The cosigned checkpoint note, with this witness's cosignature."""
    updated_at: str


def load_state(path: Path) -> WitnessState | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return WitnessState(**data)
    except (OSError, ValueError, TypeError) as e:
        raise EvidenceError(f"the witness state file {path} is unreadable: {e}") from e


def save_state(path: Path, state: WitnessState) -> None:
    """Replace the state file atomically (a crash leaves the old or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(json.dumps(asdict(state), indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def witness_log(
    source: LogSource,
    log_key: Verifier,
    witness_key: Ed25519Signer,
    state_path: Path,
    *,
    now: Callable[[], float] = time.time,
) -> str:
    """Check the log's latest checkpoint against the state and cosign it.

    Returns what was done; raises EvidenceError (nothing cosigned, state unchanged)
    on any inconsistency.
    """
    if witness_key.signature_type != COSIGNATURE_V1:
        raise EvidenceError("the witness key is not a cosignature (type 0x04) key")
    note = source.latest_checkpoint()
    if note is None:
        raise EvidenceError("the log has no checkpoint to witness yet")
    checkpoint = open_checkpoint(note, log_key)
    state = load_state(state_path)
    seen = "first checkpoint seen for this log"
    if state is not None:
        seen = _check_against_state(source, checkpoint, state, log_key)
    text = parse_note(note).text
    line = witness_key.signature_line(text, timestamp=int(now()))
    source.add_cosignature(checkpoint.tree_size, witness_key.name, line)
    save_state(
        state_path,
        WitnessState(
            origin=checkpoint.origin,
            log_key=_vkey(log_key),
            tree_size=checkpoint.tree_size,
            root_hash=base64.b64encode(checkpoint.root_hash).decode(),
            checkpoint=note + line,
            updated_at=datetime.now(UTC).isoformat(),
        ),
    )
    return f"cosigned {checkpoint.origin} at tree size {checkpoint.tree_size} ({seen})"


def _vkey(verifier: Verifier) -> str:
    vkey = getattr(verifier, "vkey", None)
    return str(vkey()) if callable(vkey) else f"{verifier.name}+{verifier.key_id.hex()}"


def _check_against_state(
    source: LogSource, checkpoint: Checkpoint, state: WitnessState, log_key: Verifier
) -> str:
    refuse = "REFUSED, nothing cosigned"
    if state.origin != checkpoint.origin:
        msg = (
            f"{refuse}: the state file is for log {state.origin!r}, the checkpoint "
            f"is from {checkpoint.origin!r}"
        )
        raise EvidenceError(msg)
    if state.log_key != _vkey(log_key):
        msg = (
            f"{refuse}: the state file was kept with log key {state.log_key}, not "
            f"{_vkey(log_key)}"
        )
        raise EvidenceError(msg)
    old_root = base64.b64decode(state.root_hash)
    if checkpoint.tree_size < state.tree_size:
        msg = (
            f"{refuse}: the log's latest checkpoint has tree size "
            f"{checkpoint.tree_size}, smaller than the {state.tree_size} this witness "
            "already cosigned: the log was rolled back"
        )
        raise EvidenceError(msg)
    if state.tree_size == 0:
        return "grew from the empty tree"
    try:
        proof = source.consistency_proof(state.tree_size, checkpoint.tree_size)
        verify_consistency(
            state.tree_size,
            checkpoint.tree_size,
            old_root,
            checkpoint.root_hash,
            proof,
        )
    except EvidenceError as e:
        msg = (
            f"{refuse}: the log at tree size {checkpoint.tree_size} is not consistent "
            f"with the checkpoint at tree size {state.tree_size} this witness "
            f"cosigned before (root {old_root.hex()}): {e}. The log's history was "
            "rewritten, or it shows different views to different readers"
        )
        raise EvidenceError(msg) from e
    if checkpoint.tree_size == state.tree_size:
        return "unchanged since last seen"
    return f"consistent with tree size {state.tree_size} seen before"
