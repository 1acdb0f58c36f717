"""RFC 6962 / RFC 9162 Merkle tree hashing and the compact range ("frontier").

The log's leaves are hashed as SHA-256(0x00 || data) and interior nodes as
SHA-256(0x01 || left || right) (RFC 9162 section 2.1.1). The frontier is the list of
roots of the perfect subtrees on the right edge of the tree, largest first: one hash
per set bit of the tree size. Appending a leaf merges equal-sized subtrees like a
binary counter carrying, and every merge completes one interior node whose hash never
changes again; the write path stores those so proofs can later be served with
O(log n) reads instead of rehashing the log.

Node addressing: the node at ``level`` L with ``index`` j covers leaves
[j * 2**L, (j + 1) * 2**L). It is completed by appending leaf (j + 1) * 2**L - 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = sha256(b"").digest()
"""MTH({}) = SHA-256() (RFC 9162 section 2.1.1)."""


def leaf_hash(data: bytes) -> bytes:
    """The RFC 6962 hash of one leaf's data."""
    return sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an interior node from its children's hashes."""
    return sha256(NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes, computed from scratch.

    The reference the frontier is checked against: it reads every leaf, so it is for
    verification, never for the write path.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    frontier = Frontier()
    for h in leaf_hashes:
        frontier.append(h)
    return frontier.root()


def subtree_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by the recursive definition of RFC 9162 section 2.1.1.

    Deliberately the textbook recursion, independent of :class:`Frontier`, so the two
    can be checked against each other.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = 1 << ((n - 1).bit_length() - 1)  # largest power of two smaller than n
    return node_hash(subtree_root(leaf_hashes[:k]), subtree_root(leaf_hashes[k:]))


@dataclass(frozen=True)
class CompletedNode:
    """An interior node whose subtree became perfect (and so final) on an append."""

    level: int
    index: int
    hash: bytes


class Frontier:
    """The compact Merkle range of a log: its size and right-edge subtree roots."""

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        self.hashes: list[bytes] = list(hashes)
        if len(self.hashes) != size.bit_count():
            msg = (
                f"a frontier of size {size} has {size.bit_count()} hashes, "
                f"not {len(self.hashes)}"
            )
            raise ValueError(msg)

    def append(self, leaf: bytes) -> list[CompletedNode]:
        """Add one leaf hash; return the interior nodes it completed, lowest first."""
        index = self.size
        completed: list[CompletedNode] = []
        acc = leaf
        level = 0
        carry = index
        while carry & 1:
            acc = node_hash(self.hashes.pop(), acc)
            level += 1
            completed.append(CompletedNode(level, index >> level, acc))
            carry >>= 1
        self.hashes.append(acc)
        self.size = index + 1
        return completed

    def append_leaf(self, leaf: bytes) -> bytes:
        """Add one leaf hash; return the completed interior nodes' hashes, joined.

        The same tree step as :meth:`append`, for the write path: it returns the
        bytes a row stores in its ``nodes`` column, lowest level first, without
        building a :class:`CompletedNode` per merge.
        """
        hashes = self.hashes
        size = self.size
        self.size = size + 1
        if not size & 1:  # half of all appends complete no node
            hashes.append(leaf)
            return b""
        completed = []
        acc = leaf
        while size & 1:
            acc = sha256(NODE_PREFIX + hashes.pop() + acc).digest()
            completed.append(acc)
            size >>= 1
        hashes.append(acc)
        return b"".join(completed)

    def root(self) -> bytes:
        """The root hash of the whole log (MTH of all leaves so far)."""
        if not self.hashes:
            return EMPTY_ROOT
        acc = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            acc = node_hash(h, acc)
        return acc

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)

    def to_bytes(self) -> bytes:
        """The hashes concatenated, largest subtree first (the size is stored apart)."""
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> Frontier:
        if len(data) != HASH_SIZE * size.bit_count():
            msg = f"frontier of size {size} needs {size.bit_count()} hashes"
            raise ValueError(msg)
        return cls(
            size, [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Frontier)
            and self.size == other.size
            and self.hashes == other.hashes
        )

    def __repr__(self) -> str:
        return f"Frontier(size={self.size}, root={self.root().hex()})"


def position_of_node(level: int, index: int) -> tuple[int, int]:
    """Where a completed node is stored: (1-based log position, byte offset).

    Each stored row keeps, in its ``nodes`` column, the hashes of the interior nodes
    its leaf completed (levels 1, 2, ... in order), so node (L, j) lives in the row at
    position (j + 1) * 2**L at offset (L - 1) * 32.
    """
    if level < 1:
        msg = "level 0 nodes are leaves: read the leaf_hash column"
        raise ValueError(msg)
    return (index + 1) << level, (level - 1) * HASH_SIZE
