"""The seal: how a stored event becomes a leaf of the log's Merkle tree.

Canonical bytes of a stored event (version 1 of this encoding). Four fields, in this
order, each as a 4-byte big-endian unsigned length followed by that many bytes:

1. originator id: UTF-8 text; a UUID in its canonical lowercase hyphenated form
   (``str(uuid)``), so the same event hashes the same on PostgreSQL (uuid column) and
   SQLite (text column);
2. originator version: 8-byte big-endian two's-complement integer;
3. topic: UTF-8 text;
4. state: the bytes exactly as stored, i.e. after the mapper's compression and
   encryption, so leaves can still be recomputed (and proofs checked) after a cipher
   key has been destroyed.

leaf hash = SHA-256(0x00 || canonical bytes). Log position n (1-based) is leaf n - 1.
The position itself is not in the leaf: it is fixed by where the leaf sits in the
tree, so moving a row changes the root.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

from store.merkle import HASH_SIZE, Frontier, leaf_hash

_LENGTH = struct.Struct(">I")
_VERSION_AND_LENGTH = struct.Struct(">IqI")


def canonical_event_bytes(
    originator_id: UUID | str, originator_version: int, topic: str, state: bytes
) -> bytes:
    """The bytes a stored event's leaf hash is computed over (encoding above)."""
    id_bytes = str(originator_id).encode()
    topic_bytes = topic.encode()
    state = bytes(state)
    # Field 2's length is always 8, so it is packed with the fields either side.
    return b"".join(
        (
            _LENGTH.pack(len(id_bytes)),
            id_bytes,
            _VERSION_AND_LENGTH.pack(8, originator_version, len(topic_bytes)),
            topic_bytes,
            _LENGTH.pack(len(state)),
            state,
        )
    )


def event_leaf_hash(
    originator_id: UUID | str, originator_version: int, topic: str, state: bytes
) -> bytes:
    """SHA-256(0x00 || canonical bytes) of one stored event."""
    return leaf_hash(
        canonical_event_bytes(originator_id, originator_version, topic, state)
    )


class LogRow(NamedTuple):
    """One stored event as a reader of the log needs it: the seal's leaf hash (hex),
    not the interior nodes. Has what the mapper reads of a ``StoredEvent``."""

    position: int
    originator_id: UUID | str
    originator_version: int
    topic: str
    state: bytes
    leaf_hash: str


@dataclass(frozen=True)
class SealedRow:
    """One stored event as the store keeps it, with its place in the log."""

    position: int
    originator_id: UUID | str
    originator_version: int
    topic: str
    state: bytes
    leaf_hash: bytes
    nodes: bytes
    """Hashes of the interior nodes this leaf completed, level 1 first."""

    def recomputed_leaf_hash(self) -> bytes:
        return event_leaf_hash(
            self.originator_id, self.originator_version, self.topic, self.state
        )

    def node(self, level: int) -> bytes:
        """The completed node at ``level`` (1-based) stored on this row."""
        start = (level - 1) * HASH_SIZE
        return self.nodes[start : start + HASH_SIZE]


def seal_rows(
    frontier: Frontier, events: list[tuple[UUID | str, int, str, bytes]]
) -> list[tuple[int, bytes, bytes]]:
    """Advance ``frontier`` over new events; return (position, leaf, nodes) for each.

    ``frontier`` is mutated: on return it is the frontier of the log with the new
    events appended, ready to be stored in the same transaction as the rows.
    """
    sealed = []
    for originator_id, version, topic, state in events:
        leaf = leaf_hash(canonical_event_bytes(originator_id, version, topic, state))
        nodes = frontier.append_leaf(leaf)
        sealed.append((frontier.size, leaf, nodes))
    return sealed
