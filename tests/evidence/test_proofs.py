"""RFC 9162 proofs: built from stored hashes, checked against published vectors.

Vectors are read from ``tests/store/vectors/`` (same files as the shared evidence
folder; see its README): transparency-dev/merkle's proof probes and reference
tables, and RFC 9162's seven-leaf example.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from evidence.errors import EvidenceError
from evidence.proofs import (
    consistency_proof,
    consistency_ranges,
    inclusion_proof,
    inclusion_ranges,
    root_at,
    verify_consistency,
    verify_inclusion,
)
from store.merkle import Frontier, leaf_hash, subtree_root
from tests.evidence.helpers import evidence, filled_log

STORE_VECTORS = Path(__file__).parent.parent / "store" / "vectors"


def vector(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((STORE_VECTORS / name).read_text())
    return data


INCLUSION_PROBES = vector("merkle-inclusion-probes.json")["probes"]
CONSISTENCY_PROBES = vector("merkle-consistency-probes.json")["probes"]
REFERENCE = vector("merkle-reference.json")
RFC9162 = vector("rfc9162-example.json")


def b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


class MemoryLog:
    """A SealReader over leaf hashes kept as the store keeps them; counts reads."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        frontier = Frontier()
        self.rows: dict[int, tuple[bytes, bytes]] = {}
        for i, leaf in enumerate(leaves):
            nodes = b"".join(n.hash for n in frontier.append(leaf))
            self.rows[i + 1] = (leaf, nodes)
        self.reads: list[int] = []

    def select_seal_hashes(
        self, positions: Sequence[int]
    ) -> dict[int, tuple[bytes, bytes]]:
        self.reads.append(len(positions))
        return {p: self.rows[p] for p in positions if p in self.rows}


def reference_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) by the RFC's recursive definition over all leaves."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*reference_path(m, leaves[:k]), subtree_root(leaves[k:])]
    return [*reference_path(m - k, leaves[k:]), subtree_root(leaves[:k])]


def reference_subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [subtree_root(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*reference_subproof(m, leaves[:k], complete), subtree_root(leaves[k:])]
    return [*reference_subproof(m - k, leaves[k:], False), subtree_root(leaves[:k])]


GOLDEN = [leaf_hash(bytes.fromhex(h)) for h in REFERENCE["leaf_inputs_hex"]]


# -- verification against the transparency-dev probes -----------------------------


@pytest.mark.parametrize("probe", INCLUSION_PROBES, ids=lambda p: p["file"])
def test_inclusion_probe(probe: dict[str, Any]) -> None:
    def check() -> None:
        verify_inclusion(
            probe["leafIdx"],
            probe["treeSize"],
            b64(probe["leafHash"]),
            [b64(h) for h in probe["proof"] or []],
            b64(probe["root"]),
        )

    if probe["wantErr"]:
        with pytest.raises(EvidenceError):
            check()
    else:
        check()


@pytest.mark.parametrize("probe", CONSISTENCY_PROBES, ids=lambda p: p["file"])
def test_consistency_probe(probe: dict[str, Any]) -> None:
    def check() -> None:
        verify_consistency(
            probe["size1"],
            probe["size2"],
            b64(probe["root1"]),
            b64(probe["root2"]),
            [b64(h) for h in probe["proof"] or []],
        )

    if probe["wantErr"]:
        with pytest.raises(EvidenceError):
            check()
    else:
        check()


# -- building, against the reference tables and the RFC example --------------------


@pytest.mark.parametrize(
    "case", REFERENCE["inclusion_proofs"], ids=lambda c: f"{c['index']}-of-{c['size']}"
)
def test_inclusion_proof_from_stored_nodes_matches_reference_table(
    case: dict[str, Any],
) -> None:
    log = MemoryLog(GOLDEN[: case["size"]])
    proof = inclusion_proof(log, case["index"], case["size"])
    assert [p.hex() for p in proof] == case["want"]
    root = bytes.fromhex(REFERENCE["root_hashes_by_size"][case["size"]])
    verify_inclusion(case["index"], case["size"], GOLDEN[case["index"]], proof, root)


@pytest.mark.parametrize(
    "case",
    REFERENCE["consistency_proofs"],
    ids=lambda c: f"{c['size1']}-to-{c['size2']}",
)
def test_consistency_proof_from_stored_nodes_matches_reference_table(
    case: dict[str, Any],
) -> None:
    log = MemoryLog(GOLDEN[: case["size2"]])
    proof = consistency_proof(log, case["size1"], case["size2"])
    assert [p.hex() for p in proof] == case["want"]
    roots = REFERENCE["root_hashes_by_size"]
    verify_consistency(
        case["size1"],
        case["size2"],
        bytes.fromhex(roots[case["size1"]]),
        bytes.fromhex(roots[case["size2"]]),
        proof,
    )


@pytest.mark.parametrize("case", RFC9162["inclusion"], ids=lambda c: c["letters"])
def test_rfc9162_example_inclusion_ranges(case: dict[str, Any]) -> None:
    ranges = inclusion_ranges(case["index"], RFC9162["tree_size"])
    assert ranges == [tuple(r) for r in case["ranges"]]


@pytest.mark.parametrize("case", RFC9162["consistency"], ids=lambda c: c["letters"])
def test_rfc9162_example_consistency_ranges(case: dict[str, Any]) -> None:
    ranges = consistency_ranges(case["first"], RFC9162["tree_size"])
    assert ranges == [tuple(r) for r in case["ranges"]]


def test_every_proof_up_to_size_100_equals_the_rfc_recursion_and_verifies() -> None:
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(100)]
    log = MemoryLog(leaves)
    for size in range(1, 101):
        root = subtree_root(leaves[:size])
        assert root_at(log, size) == root
        for index in range(size):
            proof = inclusion_proof(log, index, size)
            assert proof == reference_path(index, leaves[:size])
            verify_inclusion(index, size, leaves[index], proof, root)
        for old in range(1, size + 1):
            proof = consistency_proof(log, old, size)
            assert proof == reference_subproof(old, leaves[:size], True)
            verify_consistency(old, size, subtree_root(leaves[:old]), root, proof)


def test_a_proof_reads_few_rows_in_one_query_however_large_the_log() -> None:
    # Leaves are never read: a log of a million leaves is simulated by a reader that
    # only knows how to answer for the positions a proof may ask for.
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(5000)]
    log = MemoryLog(leaves)
    for size, index in ((5000, 0), (5000, 4999), (4097, 4096), (3333, 1234)):
        log.reads.clear()
        inclusion_proof(log, index, size)
        assert len(log.reads) == 1
        assert log.reads[0] <= 2 * size.bit_length()
        log.reads.clear()
        consistency_proof(log, index + 1, size)
        assert len(log.reads) <= 1
        assert sum(log.reads) <= 2 * size.bit_length()


def test_wrong_proofs_are_refused_with_a_reason() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(11)]
    log = MemoryLog(leaves)
    root = subtree_root(leaves)
    proof = inclusion_proof(log, 5, 11)
    with pytest.raises(EvidenceError, match="leads to root"):
        verify_inclusion(5, 11, leaves[6], proof, root)
    with pytest.raises(EvidenceError, match="too few"):
        verify_inclusion(5, 11, leaves[5], proof[:-1], root)
    with pytest.raises(EvidenceError, match="too many"):
        verify_inclusion(5, 11, leaves[5], [*proof, root], root)
    with pytest.raises(EvidenceError, match="not in a tree"):
        verify_inclusion(11, 11, leaves[5], proof, root)
    old_root = subtree_root(leaves[:6])
    consistency = consistency_proof(log, 6, 11)
    forged = subtree_root([leaf_hash(b"x"), *leaves[1:6]])
    with pytest.raises(EvidenceError, match="tree size 6 root"):
        verify_consistency(6, 11, forged, root, consistency)
    with pytest.raises(EvidenceError, match="down to"):
        verify_consistency(11, 6, root, old_root, consistency)


# -- on both stores, from the stored interior nodes ----------------------------------


def test_proofs_from_the_stores_nodes_equal_the_reference(store_url: str) -> None:
    app, _ = filled_log(store_url, notes=70, amendments=2)  # 210 events
    store = evidence(app)
    rows = app.recorder.select_sealed_rows(after=0, limit=1000)  # type: ignore[attr-defined]
    leaves = [row.leaf_hash for row in rows]
    assert len(leaves) == 210
    rng = random.Random(5)
    sizes = [
        1,
        2,
        3,
        7,
        8,
        9,
        64,
        127,
        128,
        129,
        200,
        210,
        *rng.sample(range(1, 211), 20),
    ]
    for size in sizes:
        root = subtree_root(leaves[:size])
        assert root_at(store, size) == root
        indexes = {0, size - 1, size // 2, *rng.sample(range(size), min(size, 6))}
        for index in indexes:
            proof = inclusion_proof(store, index, size)
            assert proof == reference_path(index, leaves[:size]), (index, size)
            verify_inclusion(index, size, leaves[index], proof, root)
        for old in {
            1,
            size,
            (size + 1) // 2,
            *rng.sample(range(1, size + 1), min(size, 4)),
        }:
            proof = consistency_proof(store, old, size)
            assert proof == reference_subproof(old, leaves[:size], True), (old, size)
            verify_consistency(old, size, subtree_root(leaves[:old]), root, proof)
    assert root_at(store, 210) == app.recorder.frontier().root()  # type: ignore[attr-defined]


def test_a_proof_past_the_end_of_the_store_names_the_missing_position(
    store_url: str,
) -> None:
    app, _ = filled_log(store_url, notes=3, amendments=0)
    with pytest.raises(EvidenceError, match="position 4 is missing"):
        inclusion_proof(evidence(app), 0, 4)
