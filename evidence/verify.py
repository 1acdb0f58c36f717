"""Full verification of the log from its stored rows: ``ledger verify``'s core.

Streams the events table in position order, in pages, and checks, stopping at the
first failure, which names the position and what differs:

1. positions are 1, 2, 3, ... with none missing, and none beyond the sealed size
   the frontier records (a row added outside the write path);
2. each row's leaf hash, recomputed from its originator id, version, topic and state
   (``store.seal``), equals the stored ``leaf_hash``;
3. the interior nodes each row stores (``nodes``) equal the nodes the recomputed
   leaves complete there, so rows moved, inserted or removed are caught at the first
   node whose leaves changed (a level 1 node names the pair of positions under it:
   hashes alone cannot say which of two siblings changed);
4. each originator's versions follow one another in position order (1 first, then
   n + 1 after n, as eventsourcing aggregates record them), so a row moved among
   events of the same aggregate is named where it lands;
5. the recomputed root equals the frontier's, and the root at every checkpoint's tree
   size equals the root that checkpoint signed; every checkpoint's note is well
   formed, matches its stored size and root, and its signature verifies with the
   log's key.

Leaves are hashed with hashlib directly over the row's columns, never through row
objects, so the check keeps up with the database (bench/verify.py).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from hashlib import sha256

from evidence.checkpoint import Checkpoint, open_checkpoint
from evidence.database import EvidenceStore, StoredCheckpoint
from evidence.errors import EvidenceError
from evidence.signed_note import Verifier, parse_note
from store.merkle import Frontier

PAGE_SIZE = 20_000
_NODE_PREFIX = b"\x01"


@dataclass(frozen=True)
class Failure:
    position: int | None
    """The first bad position, if the failure is at one (else a checkpoint's)."""
    detail: str
    through: int | None = None
    """When hashes can only narrow it to a range: the range's last position."""

    def __str__(self) -> str:
        if self.position is None:
            return self.detail
        if self.through is not None and self.through != self.position:
            return f"positions {self.position}-{self.through}: {self.detail}"
        return f"position {self.position}: {self.detail}"


@dataclass
class Report:
    events: int = 0
    checkpoints: int = 0
    signatures_checked: bool = False
    root: bytes = b""
    failure: Failure | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None

    def __str__(self) -> str:
        if self.failure is not None:
            return f"FAILED at {self.failure}"
        signatures = (
            "signatures verified"
            if self.signatures_checked
            else "signatures NOT checked (no log key given)"
        )
        return (
            f"OK: {self.events} events, every leaf and interior node recomputed; "
            f"root {self.root.hex()}; {self.checkpoints} checkpoints, roots match, "
            f"{signatures}"
        )


class _Stop(Exception):
    def __init__(self, failure: Failure) -> None:
        self.failure = failure


def _fail(position: int | None, detail: str, through: int | None = None) -> _Stop:
    return _Stop(Failure(position, detail, through))


def _describe(preimage: bytes | memoryview) -> str:
    """The event a leaf's preimage (0x00 || canonical bytes) encodes, for messages."""
    canonical = bytes(preimage[1:])
    fields: list[bytes] = []
    offset = 0
    while offset < len(canonical) and len(fields) < 4:
        (length,) = struct.unpack_from(">I", canonical, offset)
        fields.append(canonical[offset + 4 : offset + 4 + length])
        offset += 4 + length
    if len(fields) != 4:
        return "an undecodable row"
    originator, version, topic, state = fields
    number = struct.unpack(">q", version)[0] if len(version) == 8 else "?"
    return (
        f"originator {originator.decode(errors='replace')} version {number}, "
        f"topic {topic.decode(errors='replace')!r}, {len(state)}-byte state"
    )


def verify_log(
    store: EvidenceStore,
    verifier: Verifier | None,
    *,
    page_size: int = PAGE_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Verify every stored row and checkpoint; the report names the first failure."""
    report = Report(signatures_checked=verifier is not None)
    try:
        _verify(store, verifier, page_size, progress, report)
    except _Stop as stop:
        report.failure = stop.failure
    return report


def _check_checkpoint(
    stored: StoredCheckpoint, verifier: Verifier | None
) -> Checkpoint:
    where = f"checkpoint at tree size {stored.tree_size}"
    try:
        if verifier is not None:
            checkpoint = open_checkpoint(stored.note, verifier)
        else:
            checkpoint = Checkpoint.parse(parse_note(stored.note).text)
    except EvidenceError as e:
        raise _fail(None, f"{where}: {e}") from e
    if checkpoint.tree_size != stored.tree_size:
        msg = f"{where}: its signed note says tree size {checkpoint.tree_size}"
        raise _fail(None, msg)
    if checkpoint.root_hash != stored.root_hash:
        msg = (
            f"{where}: its signed note says root {checkpoint.root_hash.hex()} but the "
            f"table row says {stored.root_hash.hex()}"
        )
        raise _fail(None, msg)
    return checkpoint


def _verify(
    store: EvidenceStore,
    verifier: Verifier | None,
    page_size: int,
    progress: Callable[[int, int], None] | None,
    report: Report,
) -> None:
    # Checkpoints first, then the frontier: the frontier only grows, so a checkpoint
    # beyond it means rows were taken away, not that a checkpoint was issued since.
    stored_checkpoints = store.checkpoints()
    frontier = store.frontier()
    target = frontier.size
    pending = [_check_checkpoint(c, verifier) for c in stored_checkpoints]
    report.checkpoints = len(pending)
    for checkpoint in pending:
        if checkpoint.tree_size > target:
            msg = (
                f"checkpoint at tree size {checkpoint.tree_size} was signed, but the "
                f"log's frontier records only {target} events: rows were removed"
            )
            raise _fail(target + 1, msg)
    pending.reverse()  # pop() the smallest first
    # The frontier of the recomputed tree, kept inline (a stack of right-edge
    # subtree roots, as in store.merkle.Frontier.append) for speed.
    stack: list[bytes] = []
    last_version: dict[bytes, int] = {}
    while pending and pending[-1].tree_size == 0:
        _check_root(pending.pop(), Frontier())
    next_checkpoint = pending[-1].tree_size if pending else -1
    expected = 1
    with ThreadPoolExecutor(max_workers=1) as prefetch:
        # The next page is read while this one is checked.
        following = prefetch.submit(store.seal_page, 0, page_size)
        while page := following.result():
            following = prefetch.submit(store.seal_page, page[-1][0], page_size)
            for position, originator, version, preimage, leaf, nodes in page:
                if position != expected:
                    msg = (
                        f"missing: the stored rows go from position {expected - 1} "
                        f"to {position} (a row was removed or renumbered)"
                    )
                    raise _fail(expected, msg)
                if position > target:
                    frontier = store.frontier()  # maybe appended while we read
                    target = frontier.size
                    if position > target:
                        msg = (
                            f"this row is not in the sealed log: the frontier "
                            f"records {target} events (the row was added outside "
                            f"the ledger's write path); {_describe(preimage)}"
                        )
                        raise _fail(position, msg)
                computed = sha256(preimage).digest()
                if computed != leaf:
                    msg = (
                        f"the stored leaf hash is {leaf.hex()} but the row's "
                        f"contents hash to {computed.hex()} ({_describe(preimage)}):"
                        " the row was altered"
                    )
                    raise _fail(position, msg)
                if position & 1 and not nodes:  # odd: completes no interior node
                    stack.append(computed)
                else:
                    _check_nodes(position, computed, nodes, stack)
                previous = last_version.get(originator, 0)
                if version != previous + 1:
                    raise _version_failure(
                        store, position, originator, version, previous
                    )
                last_version[originator] = version
                if position == next_checkpoint:
                    while pending and pending[-1].tree_size == position:
                        _check_root(pending.pop(), Frontier(position, stack))
                    next_checkpoint = pending[-1].tree_size if pending else -1
                expected += 1
            report.events = expected - 1
            if progress is not None:
                progress(expected - 1, target)
        following.cancel()
    recomputed = Frontier(expected - 1, stack)
    if expected - 1 < target:
        msg = (
            f"missing: the frontier records {target} events but the stored rows end "
            f"at position {expected - 1} (rows were removed)"
        )
        raise _fail(expected, msg)
    report.events = expected - 1
    report.root = recomputed.root()
    if recomputed.size == frontier.size and recomputed.root() != frontier.root():
        msg = (
            f"the frontier table's root {frontier.root().hex()} is not the root "
            f"{recomputed.root().hex()} of the stored rows (the frontier was altered)"
        )
        raise _fail(None, msg)


def _version_failure(
    store: EvidenceStore, position: int, originator: bytes, version: int, previous: int
) -> _Stop:
    oid = originator.decode()
    if previous == 0:
        msg = (
            f"originator {oid} first appears here with version {version} (expected "
            "version 1): rows were moved, removed or inserted"
        )
        return _fail(position, msg)
    where = [r[0] for r in store.select_events_of(oid) if r[2] == previous]
    at = f" at position {where[0]}" if where else ""
    msg = (
        f"originator {oid} has version {version} here, after version {previous}{at} "
        f"(expected version {previous + 1}): rows were moved, removed or inserted"
    )
    return _fail(position, msg)


def _check_nodes(position: int, leaf: bytes, nodes: bytes, stack: list[bytes]) -> None:
    """Recompute the interior nodes ``position`` completes; compare them with the
    stored ``nodes``; push the new right-edge subtree root onto ``stack``."""
    # Position p completes one node per trailing zero bit of p.
    completes = (position & -position).bit_length() - 1
    if len(nodes) != 32 * completes:
        msg = (
            f"the row stores {len(nodes) // 32} interior node hashes but "
            f"position {position} completes {completes}: this row was "
            "sealed at another position (moved or forged)"
        )
        raise _fail(position, msg)
    node = leaf
    for level in range(1, completes + 1):
        node = sha256(_NODE_PREFIX + stack.pop() + node).digest()
        stored = nodes[32 * (level - 1) : 32 * level]
        if stored != node:
            first = position - (1 << level) + 1
            msg = (
                f"the rows at these positions do not hash to the level {level} node "
                f"stored with position {position} (stored {stored.hex()}, "
                f"recomputed {node.hex()}): one of them was moved, inserted, "
                "removed or rewritten with its hashes"
            )
            raise _fail(first, msg, through=position)
    stack.append(node)


def _check_root(checkpoint: Checkpoint, recomputed: Frontier) -> None:
    root = recomputed.root()
    if root != checkpoint.root_hash:
        msg = (
            f"checkpoint at tree size {checkpoint.tree_size} signed root "
            f"{checkpoint.root_hash.hex()}, but the stored rows 1-"
            f"{checkpoint.tree_size} give {root.hex()}: history was rewritten"
        )
        raise _fail(None, msg)
