"""C2SP tlog-checkpoints of the ledger's log: the body, signing, issuing, scheduling.

A checkpoint's note text is exactly three lines (c2sp.org/tlog-checkpoint)::

    <origin>
    <tree size, decimal>
    <base64 RFC 6962 root hash>

signed as a C2SP signed note by the log's Ed25519 key, whose name is the origin.
Issued checkpoints are appended to the ``checkpoints`` table (``evidence.database``).
Before signing, the log checks, from stored interior hashes, that the tree it is about
to sign extends the last checkpoint it signed: a log must never sign two inconsistent
checkpoints, so a rewritten history stops here instead of being signed.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eventsourcing.persistence import IntegrityError

from evidence.database import EvidenceStore, StoredCheckpoint
from evidence.errors import EvidenceError
from evidence.proofs import consistency_proof, verify_consistency
from evidence.signed_note import (
    Ed25519Signer,
    Verifier,
    check_note_text,
    open_note,
    sign_note,
)
from store.merkle import EMPTY_ROOT, HASH_SIZE


@dataclass(frozen=True)
class Checkpoint:
    """The three mandatory lines of a checkpoint (extension lines kept, unused)."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [
            self.origin,
            str(self.tree_size),
            base64.b64encode(self.root_hash).decode(),
            *self.extensions,
        ]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The checkpoint in a note text (signatures already split off)."""
        if not text.endswith("\n"):
            raise EvidenceError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            msg = f"a checkpoint has at least 3 lines, this one has {len(lines)}"
            raise EvidenceError(msg)
        origin, size_text, root_text, *extensions = lines
        if not origin:
            raise EvidenceError("the checkpoint's origin line is empty")
        if (
            not size_text.isascii()
            or not size_text.isdigit()
            or (size_text != "0" and size_text.startswith("0"))
        ):
            msg = f"the checkpoint's tree size {size_text!r} is not a decimal number"
            raise EvidenceError(msg)
        try:
            root = base64.b64decode(root_text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError) as e:
            msg = f"the checkpoint's root hash {root_text!r} is not base64"
            raise EvidenceError(msg) from e
        if len(root) != HASH_SIZE:
            msg = f"the checkpoint's root hash is {len(root)} bytes, not {HASH_SIZE}"
            raise EvidenceError(msg)
        if any(not line for line in extensions):
            raise EvidenceError("a checkpoint extension line is empty")
        size = int(size_text)
        if size == 0 and root != EMPTY_ROOT:
            raise EvidenceError("a checkpoint of size 0 must have the empty-tree root")
        return cls(origin, size, root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Ed25519Signer) -> str:
    """The checkpoint as a signed note."""
    text = checkpoint.body()
    check_note_text(text)
    return sign_note(text, [signer])


def open_checkpoint(
    note: str, verifier: Verifier, origin: str | None = None
) -> Checkpoint:
    """The checkpoint in ``note`` once its log signature verifies.

    ``origin``: the origin the caller expects (default: the key's name).
    """
    parsed, _ = open_note(note, [verifier])
    checkpoint = Checkpoint.parse(parsed.text)
    expected = origin if origin is not None else verifier.name
    if checkpoint.origin != expected:
        msg = (
            f"the checkpoint's origin is {checkpoint.origin!r}, "
            f"not the expected {expected!r}"
        )
        raise EvidenceError(msg)
    return checkpoint


@dataclass(frozen=True)
class Issued:
    checkpoint: Checkpoint
    stored: StoredCheckpoint
    new: bool
    """False when the log had not grown: the latest checkpoint is returned."""


def issue_checkpoint(
    store: EvidenceStore,
    signer: Ed25519Signer,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Issued:
    """Sign the log's current tree head and append it to ``checkpoints``.

    Refuses (EvidenceError) if the tree does not extend the last checkpoint.
    """
    frontier = store.frontier()
    checkpoint = Checkpoint(signer.name, frontier.size, frontier.root())
    latest = store.latest_checkpoint()
    if latest is not None:
        if latest.tree_size > frontier.size:
            msg = (
                f"refusing to sign: the log has {frontier.size} events but checkpoint "
                f"{latest.tree_size} was already signed: rows were removed"
            )
            raise EvidenceError(msg)
        if latest.tree_size > 0:
            try:
                verify_consistency(
                    latest.tree_size,
                    frontier.size,
                    latest.root_hash,
                    checkpoint.root_hash,
                    consistency_proof(store, latest.tree_size, frontier.size),
                )
            except EvidenceError as e:
                msg = (
                    f"refusing to sign tree size {frontier.size}: it is not "
                    "consistent with the checkpoint already signed at tree size "
                    f"{latest.tree_size} ({e}); run ledger verify"
                )
                raise EvidenceError(msg) from e
        if latest.tree_size == frontier.size:
            return Issued(checkpoint, latest, new=False)
    note = sign_checkpoint(checkpoint, signer)
    issued_at = now()
    try:
        store.insert_checkpoint(frontier.size, checkpoint.root_hash, note, issued_at)
    except IntegrityError:
        # Another signer (a follower, an export, a second `ledger checkpoint`)
        # signed this tree size between our read and our insert: its checkpoint
        # is as good as ours if the roots agree.
        raced = store.latest_checkpoint()
        if (
            raced is None
            or raced.tree_size != frontier.size
            or raced.root_hash != checkpoint.root_hash
        ):
            raise
        return Issued(checkpoint, raced, new=False)
    stored = StoredCheckpoint(frontier.size, checkpoint.root_hash, note, issued_at)
    return Issued(checkpoint, stored, new=True)


@dataclass
class CheckpointSchedule:
    """When a follower of the log should issue a checkpoint: every N events or T s.

    The follower calls :meth:`due` with the position it has reached; the schedule says
    whether a checkpoint is due (at least ``every_events`` new events since the last
    one, or at least one new event and ``every_seconds`` elapsed) and, when it is,
    counts it as issued. ``clock`` is injectable (monotonic seconds).
    """

    every_events: int = 1000
    every_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    last_position: int = 0
    last_time: float = field(default=0.0)

    def __post_init__(self) -> None:
        if self.every_events < 1:
            raise ValueError("every_events must be at least 1")
        if self.every_seconds <= 0:
            raise ValueError("every_seconds must be positive")
        self.last_time = self.clock()

    def due(self, position: int) -> bool:
        """Whether to issue a checkpoint now that the log has reached ``position``.

        A True answer records the checkpoint as issued at this position and time.
        """
        if position <= self.last_position:
            return False
        now = self.clock()
        if (
            position - self.last_position >= self.every_events
            or now - self.last_time >= self.every_seconds
        ):
            self.last_position = position
            self.last_time = now
            return True
        return False
