"""RFC 9162 inclusion and consistency proofs: built from stored hashes, and verified.

Building (sections 2.1.3.1 and 2.1.4.1). Each proof element is MTH(D[a:b]) of a leaf
range the RFC's recursion names. A range is split into perfect subtrees (aligned, a
power of two wide, largest first); each perfect subtree [a, a + 2**L) is stored once,
on the row at position a + 2**L: level 0 in ``leaf_hash``, level L > 0 in ``nodes``
(``store.merkle.position_of_node``). Ranges on the right edge that are not perfect are
folded from their perfect pieces, as the RFC's MTH recursion does. So a proof reads
O(log n) rows, all in one query, and never rehashes the log.

Verifying (sections 2.1.3.2 and 2.1.4.2): the RFC's algorithms, step by step, plus
the edge cases the transparency-dev reference implementation settles (equal sizes,
an empty first tree).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from evidence.errors import EvidenceError
from store.merkle import EMPTY_ROOT, HASH_SIZE, node_hash

Range = tuple[int, int]
"""A leaf range [start, end), 0-based leaf indexes."""


class SealReader(Protocol):
    """What proofs need from a recorder: the seal columns of a few positions."""

    def select_seal_hashes(
        self, positions: Sequence[int]
    ) -> dict[int, tuple[bytes, bytes]]:
        """{position: (leaf_hash, nodes)} for those of ``positions`` that exist."""
        ...


# -- which ranges ---------------------------------------------------------------


def _split(n: int) -> int:
    """k, the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes make PATH(index, D[0:size]), leaf's sibling first."""
    if not 0 <= index < size:
        msg = f"leaf index {index} is not in a tree of size {size}"
        raise EvidenceError(msg)
    ranges: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo = lo + k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """The ranges whose hashes make PROOF(old_size, D[0:new_size]).

    Empty when the sizes are equal or the old tree is empty (nothing to prove).
    """
    if not 0 <= old_size <= new_size:
        msg = f"no consistency proof from size {old_size} to size {new_size}"
        raise EvidenceError(msg)
    if old_size in (0, new_size):
        return []
    ranges: list[Range] = []
    lo, hi, complete = 0, new_size, True
    while old_size != hi:
        k = _split(hi - lo)
        if old_size - lo <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, complete = lo + k, False
    if not complete:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def perfect_pieces(start: int, end: int) -> list[Range]:
    """[start, end) as aligned power-of-two subtrees, left to right."""
    pieces: list[Range] = []
    while start < end:
        width = start & -start if start else 1 << (end.bit_length())
        while start + width > end:
            width >>= 1
        pieces.append((start, start + width))
        start += width
    return pieces


# -- reading hashes from the store ------------------------------------------------


def range_hashes(reader: SealReader, ranges: Sequence[Range]) -> list[bytes]:
    """MTH(D[a:b]) for each range, from stored hashes, in one read."""
    pieces = {r: perfect_pieces(*r) for r in ranges}
    positions = sorted({end for ps in pieces.values() for _, end in ps})
    stored = reader.select_seal_hashes(positions) if positions else {}
    hashes = []
    for r in ranges:
        acc: bytes | None = None
        for start, end in reversed(pieces[r]):
            piece = _stored_subtree(stored, start, end)
            acc = piece if acc is None else node_hash(piece, acc)
        if acc is None:
            raise EvidenceError(f"empty range {r} in a proof")
        hashes.append(acc)
    return hashes


def _stored_subtree(
    stored: dict[int, tuple[bytes, bytes]], start: int, end: int
) -> bytes:
    level = (end - start).bit_length() - 1
    row = stored.get(end)
    if row is None:
        msg = (
            f"position {end} is missing from the store: it holds the hash of "
            f"positions {start + 1}-{end} that this proof needs"
        )
        raise EvidenceError(msg)
    leaf, nodes = row
    if level == 0:
        return bytes(leaf)
    offset = (level - 1) * HASH_SIZE
    node = bytes(nodes[offset : offset + HASH_SIZE])
    if len(node) != HASH_SIZE:
        msg = (
            f"position {end} does not hold the level {level} node for positions "
            f"{start + 1}-{end} (its nodes column has {len(nodes)} bytes)"
        )
        raise EvidenceError(msg)
    return node


def inclusion_proof(reader: SealReader, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) from stored hashes (index is 0-based: position - 1)."""
    return range_hashes(reader, inclusion_ranges(index, size))


def consistency_proof(reader: SealReader, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) from stored hashes."""
    return range_hashes(reader, consistency_ranges(old_size, new_size))


def root_at(reader: SealReader, size: int) -> bytes:
    """MTH(D[0:size]) from stored hashes (at most log2(size) + 1 rows)."""
    if size == 0:
        return EMPTY_ROOT
    return range_hashes(reader, [(0, size)])[0]


# -- verifying --------------------------------------------------------------------


def _check_hash_sizes(what: str, hashes: Sequence[bytes]) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            msg = f"a {what} is {len(h)} bytes, not {HASH_SIZE}"
            raise EvidenceError(msg)


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 section 2.1.3.2, steps 1-5)."""
    _check_hash_sizes("leaf hash", [leaf_hash])
    _check_hash_sizes("inclusion proof hash", proof)
    if not 0 <= index < size:
        msg = f"leaf index {index} is not in a tree of size {size}"
        raise EvidenceError(msg)
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            msg = f"the inclusion proof has {len(proof)} hashes: too many"
            raise EvidenceError(msg)
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        msg = f"the inclusion proof has {len(proof)} hashes: too few"
        raise EvidenceError(msg)
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise EvidenceError unless ``proof`` shows leaf ``index`` is in the tree."""
    _check_hash_sizes("root", [root])
    computed = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if computed != root:
        msg = (
            f"the inclusion proof for leaf index {index} leads to root "
            f"{computed.hex()}, not the tree size {size} root {root.hex()}"
        )
        raise EvidenceError(msg)


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Raise EvidenceError unless ``proof`` shows the old tree is a prefix of the new.

    RFC 9162 section 2.1.4.2 for 0 < old < new; equal sizes need equal roots and an
    empty proof. As in the transparency-dev reference, a proof from the empty tree is
    refused: it would prove nothing (a first checkpoint is simply trusted, not proved).
    """
    if not 0 <= old_size <= new_size:
        msg = f"tree size went from {old_size} down to {new_size}"
        raise EvidenceError(msg)
    if old_size == 0:
        raise EvidenceError("a consistency proof from the empty tree proves nothing")
    if old_size == new_size:
        if proof:
            raise EvidenceError("a consistency proof between equal sizes is empty")
        if old_root != new_root:
            msg = (
                f"two different roots for tree size {old_size}: {old_root.hex()} "
                f"and {new_root.hex()}"
            )
            raise EvidenceError(msg)
        return
    _check_hash_sizes("root", [old_root, new_root])
    _check_hash_sizes("consistency proof hash", proof)
    if not proof:
        raise EvidenceError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # step 2: first is a power of two
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            msg = f"the consistency proof has {len(proof)} hashes: too many"
            raise EvidenceError(msg)
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        msg = f"the consistency proof has {len(proof)} hashes: too few"
        raise EvidenceError(msg)
    if fr != old_root:
        msg = (
            f"the consistency proof does not lead to the tree size {old_size} root: "
            f"it gives {fr.hex()}, the old checkpoint says {old_root.hex()}"
        )
        raise EvidenceError(msg)
    if sr != new_root:
        msg = (
            f"the consistency proof does not lead to the tree size {new_size} root: "
            f"it gives {sr.hex()}, the new checkpoint says {new_root.hex()}"
        )
        raise EvidenceError(msg)
