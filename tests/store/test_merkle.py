"""The Merkle tree module and the event leaf encoding, against published vectors.

Vectors are verbatim copies in ``tests/store/vectors/`` (sources in its README):

- ``merkle-reference.json``: transparency-dev/merkle's RFC 6962 hasher vectors and
  its 8-leaf golden tree (every root for sizes 0..8 and every node hash);
- ``rfc9162-example.json``: the seven-leaf example tree of RFC 9162 section 2.1.5,
  given as node letters and the leaf ranges they commit to;
- ``merkle-accumulated.json``: a SHA-256 folded over the text line
  ``"[start, end) hex(MTH(D[start:end]))\\n"`` for every valid subtree of a 130-leaf
  tree whose leaf i is the single byte i.

The proof vectors in the same folder are for the proof tests, not used here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from hashlib import sha256
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from store.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompletedNode,
    Frontier,
    leaf_hash,
    node_hash,
    position_of_node,
    root_from_leaf_hashes,
    subtree_root,
)
from store.seal import SealedRow, canonical_event_bytes, event_leaf_hash, seal_rows

VECTORS = Path(__file__).parent / "vectors"


def load_vector(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


REFERENCE = load_vector("merkle-reference.json")
RFC9162 = load_vector("rfc9162-example.json")
ACCUMULATED = load_vector("merkle-accumulated.json")

GOLDEN_LEAVES = [
    leaf_hash(bytes.fromhex(data)) for data in REFERENCE["leaf_inputs_hex"]
]
GOLDEN_ROOTS = [bytes.fromhex(h) for h in REFERENCE["root_hashes_by_size"]]
GOLDEN_NODES = {
    (level, index): bytes.fromhex(h)
    for level, hashes in enumerate(REFERENCE["node_hashes_by_level"])
    for index, h in enumerate(hashes)
}


def leaf_range(leaves: Sequence[bytes], level: int, index: int) -> Sequence[bytes]:
    """The leaves under node (level, index): [index << level, (index + 1) << level)."""
    return leaves[index << level : (index + 1) << level]


def frontier_of(leaves: Sequence[bytes]) -> Frontier:
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier


def appended_nodes(leaves: Sequence[bytes]) -> list[tuple[int, CompletedNode]]:
    """(0-based leaf index, node) for every node reported by appending the leaves."""
    frontier = Frontier()
    return [
        (i, node) for i, leaf in enumerate(leaves) for node in frontier.append(leaf)
    ]


def numbered_leaves(count: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(count)]


# 1. RFC 6962 hasher vectors (merkle-reference.json "hasher")


def test_empty_root_is_the_rfc6962_empty_tree_hash() -> None:
    want = bytes.fromhex(REFERENCE["hasher"]["empty_root"])
    assert want == EMPTY_ROOT
    assert subtree_root([]) == want
    assert root_from_leaf_hashes([]) == want
    assert Frontier().root() == want


@pytest.mark.parametrize(
    ("data", "want"),
    [
        (
            bytes.fromhex(REFERENCE["hasher"]["empty_leaf"]["leaf_hex"]),
            REFERENCE["hasher"]["empty_leaf"]["hash"],
        ),
        (
            REFERENCE["hasher"]["leaf"]["leaf_ascii"].encode("ascii"),
            REFERENCE["hasher"]["leaf"]["hash"],
        ),
    ],
    ids=["empty-leaf", "L123456"],
)
def test_leaf_hash_matches_rfc6962_hasher(data: bytes, want: str) -> None:
    assert leaf_hash(data).hex() == want


def test_node_hash_matches_rfc6962_hasher() -> None:
    vector = REFERENCE["hasher"]["node"]
    left = vector["left_ascii"].encode("ascii")
    right = vector["right_ascii"].encode("ascii")
    assert node_hash(left, right).hex() == vector["hash"]


# 2. The 8-leaf golden tree (merkle-reference.json)

ROOT_METHODS: dict[str, Callable[[Sequence[bytes]], bytes]] = {
    "frontier-leaf-by-leaf": lambda leaves: frontier_of(leaves).root(),
    "subtree_root": subtree_root,
    "root_from_leaf_hashes": root_from_leaf_hashes,
}


@pytest.mark.parametrize("method", ROOT_METHODS)
@pytest.mark.parametrize("size", range(len(GOLDEN_ROOTS)))
def test_golden_tree_root_for_each_size(method: str, size: int) -> None:
    assert len(GOLDEN_ROOTS) == 9
    assert ROOT_METHODS[method](GOLDEN_LEAVES[:size]) == GOLDEN_ROOTS[size]


def test_golden_tree_roots_as_one_frontier_grows() -> None:
    frontier = Frontier()
    assert frontier.root() == GOLDEN_ROOTS[0]
    for size, leaf in enumerate(GOLDEN_LEAVES, start=1):
        frontier.append(leaf)
        assert frontier.size == size
        assert frontier.root() == GOLDEN_ROOTS[size], f"size {size}"


@pytest.mark.parametrize(("level", "index"), sorted(GOLDEN_NODES), ids=lambda v: str(v))
def test_golden_tree_node_is_subtree_root_of_its_range(level: int, index: int) -> None:
    assert (
        subtree_root(leaf_range(GOLDEN_LEAVES, level, index))
        == GOLDEN_NODES[(level, index)]
    )


def test_golden_tree_frontier_reports_exactly_the_interior_nodes() -> None:
    reported = {
        (node.level, node.index): node.hash for _, node in appended_nodes(GOLDEN_LEAVES)
    }
    interior = {key: h for key, h in GOLDEN_NODES.items() if key[0] >= 1}
    assert reported == interior


def test_append_leaf_is_append_with_the_nodes_joined() -> None:
    """The write path's append: same frontier, nodes as a row stores them."""
    by_append, by_append_leaf = Frontier(), Frontier()
    for leaf in numbered_leaves(300):
        completed = by_append.append(leaf)
        assert by_append_leaf.append_leaf(leaf) == b"".join(n.hash for n in completed)
        assert by_append_leaf == by_append


# 3. RFC 9162 section 2.1.5 seven-leaf example (rfc9162-example.json)
#
# The RFC gives the tree's shape, not its leaf data; the leaves here are the first
# seven golden leaves, so the perfect nodes can also be checked against the golden
# node hashes and the root against the golden size-7 root.


def rfc9162_letter_ranges() -> dict[str, tuple[int, int]]:
    """Each node letter's [start, end) range, read from the example's proofs."""
    ranges: dict[str, tuple[int, int]] = {}
    for entry in RFC9162["inclusion"] + RFC9162["consistency"]:
        letters = entry["letters"].split()
        assert len(letters) == len(entry["ranges"])
        for letter, (start, end) in zip(letters, entry["ranges"], strict=True):
            assert ranges.setdefault(letter, (start, end)) == (start, end), letter
    return ranges


RFC9162_RANGES = rfc9162_letter_ranges()
RFC9162_LEAVES = GOLDEN_LEAVES[: RFC9162["tree_size"]]
RFC9162_PERFECT = ["g", "h", "i", "k"]


def rfc9162_node(letter: str) -> bytes:
    start, end = RFC9162_RANGES[letter]
    return subtree_root(RFC9162_LEAVES[start:end])


def test_rfc9162_example_letters_name_the_documented_ranges() -> None:
    assert RFC9162["tree_size"] == 7
    named = {k: RFC9162_RANGES[k] for k in ("g", "h", "i", "k", "l")}
    assert named == {"g": (0, 2), "h": (2, 4), "i": (4, 6), "k": (0, 4), "l": (4, 7)}


@pytest.mark.parametrize(
    ("parent", "left", "right"),
    [
        ("g", (0, 1), (1, 2)),
        ("h", (2, 3), (3, 4)),
        ("i", (4, 5), (5, 6)),
        ("k", "g", "h"),
        ("l", "i", (6, 7)),
    ],
)
def test_rfc9162_named_node_is_subtree_root_of_its_range(
    parent: str, left: str | tuple[int, int], right: str | tuple[int, int]
) -> None:
    def child(c: str | tuple[int, int]) -> bytes:
        if isinstance(c, str):
            return rfc9162_node(c)
        start, end = c
        assert end - start == 1
        return RFC9162_LEAVES[start]

    assert rfc9162_node(parent) == node_hash(child(left), child(right))


@pytest.mark.parametrize("letter", RFC9162_PERFECT)
def test_rfc9162_perfect_node_matches_golden_tree(letter: str) -> None:
    start, end = RFC9162_RANGES[letter]
    level = (end - start).bit_length() - 1
    assert rfc9162_node(letter) == GOLDEN_NODES[(level, start >> level)]


def test_rfc9162_root() -> None:
    root = node_hash(rfc9162_node("k"), rfc9162_node("l"))
    assert subtree_root(RFC9162_LEAVES) == root
    assert root_from_leaf_hashes(RFC9162_LEAVES) == root
    assert frontier_of(RFC9162_LEAVES).root() == root
    assert root == GOLDEN_ROOTS[7]


def test_rfc9162_frontier_is_the_right_edge_k_i_j() -> None:
    frontier = frontier_of(RFC9162_LEAVES)
    assert frontier.hashes == [rfc9162_node("k"), rfc9162_node("i"), RFC9162_LEAVES[6]]


def test_rfc9162_frontier_append_reports_exactly_the_perfect_named_nodes() -> None:
    expected = set()
    for letter in RFC9162_PERFECT:
        start, end = RFC9162_RANGES[letter]
        level = (end - start).bit_length() - 1
        # (leaf that completes it, level, index, hash)
        expected.add((end - 1, level, start >> level, rfc9162_node(letter)))

    reported = {
        (i, node.level, node.index, node.hash)
        for i, node in appended_nodes(RFC9162_LEAVES)
    }
    assert reported == expected
    # l = [4, 7) is not a perfect subtree: it is never completed.
    assert rfc9162_node("l") not in {h for *_, h in reported}


# 4. Accumulated subtree hashes (merkle-accumulated.json)


def accumulated_ranges(size: int) -> list[tuple[int, int]]:
    """The vector's [start, end) ranges, in its order (draft subtree validity)."""

    def valid(start: int, end: int) -> bool:
        if start == 0 or start == end:
            return True
        bit_ceil = 1 << (end - start - 1).bit_length()
        return start % bit_ceil == 0

    return [
        (start, end)
        for end in range(size + 1)
        for start in range(end + 1)
        if valid(start, end)
    ]


def accumulated_digest(rows: list[tuple[int, int, bytes]]) -> str:
    h = sha256()
    for start, end, subtree_hash in rows:
        h.update(f"[{start}, {end}) {subtree_hash.hex()}\n".encode())
    return h.hexdigest()


ACCUMULATED_LEAVES = [leaf_hash(bytes([i])) for i in range(ACCUMULATED["tree_size"])]


def test_accumulated_subtree_hashes_via_subtree_root() -> None:
    rows = [
        (start, end, subtree_root(ACCUMULATED_LEAVES[start:end]))
        for start, end in accumulated_ranges(ACCUMULATED["tree_size"])
    ]
    assert accumulated_digest(rows) == ACCUMULATED["subtree_hash"]["sha256"]


def test_accumulated_subtree_hashes_with_prefixes_via_frontier() -> None:
    """The same digest with every [0, end) row taken from a growing frontier."""
    frontier = Frontier()
    rows = []
    for start, end in accumulated_ranges(ACCUMULATED["tree_size"]):
        if start == 0:
            while frontier.size < end:
                frontier.append(ACCUMULATED_LEAVES[frontier.size])
            subtree_hash = frontier.root()
            assert subtree_hash == subtree_root(ACCUMULATED_LEAVES[:end]), end
        else:
            subtree_hash = subtree_root(ACCUMULATED_LEAVES[start:end])
        rows.append((start, end, subtree_hash))
    assert frontier.size == ACCUMULATED["tree_size"]
    assert accumulated_digest(rows) == ACCUMULATED["subtree_hash"]["sha256"]


# 5. Properties

PROPERTY_SIZE = 300
PROPERTY_LEAVES = numbered_leaves(PROPERTY_SIZE)


def test_frontier_root_equals_subtree_root_for_sizes_0_to_300() -> None:
    frontier = Frontier()
    for size in range(PROPERTY_SIZE + 1):
        assert frontier.size == size
        assert len(frontier.hashes) == size.bit_count()
        assert frontier.root() == subtree_root(PROPERTY_LEAVES[:size]), size
        assert root_from_leaf_hashes(PROPERTY_LEAVES[:size]) == frontier.root()
        if size < PROPERTY_SIZE:
            frontier.append(PROPERTY_LEAVES[size])


def test_completed_nodes_are_subtree_roots_of_their_ranges() -> None:
    frontier = Frontier()
    for i, leaf in enumerate(PROPERTY_LEAVES):
        completed = frontier.append(leaf)
        # Leaf i completes one node per trailing one bit of i, lowest level first.
        trailing_ones = (i ^ (i + 1)).bit_length() - 1
        assert [n.level for n in completed] == list(range(1, trailing_ones + 1))
        for node in completed:
            assert (node.index + 1) << node.level == i + 1
            assert node.hash == subtree_root(
                leaf_range(PROPERTY_LEAVES, node.level, node.index)
            ), (i, node.level, node.index)


def test_every_perfect_interior_node_is_reported_once() -> None:
    reported = [(n.level, n.index) for _, n in appended_nodes(PROPERTY_LEAVES)]
    perfect = [
        (level, index)
        for level in range(1, PROPERTY_SIZE.bit_length())
        for index in range(PROPERTY_SIZE >> level)
    ]
    assert sorted(reported) == sorted(perfect)


def test_position_of_node_is_where_append_returned_it() -> None:
    frontier = Frontier()
    for i, leaf in enumerate(PROPERTY_LEAVES):
        completed = frontier.append(leaf)
        stored = b"".join(n.hash for n in completed)  # the row's nodes column
        for node in completed:
            position, offset = position_of_node(node.level, node.index)
            assert position == i + 1, (node.level, node.index)
            assert offset == (node.level - 1) * HASH_SIZE
            assert stored[offset : offset + HASH_SIZE] == node.hash


def test_position_of_node_agrees_with_sealed_rows() -> None:
    events: list[tuple[UUID | str, int, str, bytes]] = [
        (UUID(int=i) if i % 2 else f"text-{i}", i + 1, "tests:Event", bytes([i]))
        for i in range(64)
    ]
    frontier = Frontier()
    sealed = seal_rows(frontier, events)
    rows = {
        position: SealedRow(position, *event, leaf, nodes)
        for (position, leaf, nodes), event in zip(sealed, events, strict=True)
    }
    leaves = [rows[p].leaf_hash for p in sorted(rows)]
    assert frontier.root() == subtree_root(leaves)
    for level in range(1, 7):
        for index in range(64 >> level):
            position, offset = position_of_node(level, index)
            row = rows[position]
            assert row.leaf_hash == row.recomputed_leaf_hash()
            assert row.node(level) == row.nodes[offset : offset + HASH_SIZE]
            assert row.node(level) == subtree_root(leaf_range(leaves, level, index))


@pytest.mark.parametrize("level", [0, -1])
def test_position_of_node_rejects_leaf_levels(level: int) -> None:
    with pytest.raises(ValueError):
        position_of_node(level, 0)


def test_frontier_round_trips_through_bytes_at_every_size() -> None:
    frontier = Frontier()
    for size in range(PROPERTY_SIZE + 1):
        data = frontier.to_bytes()
        assert len(data) == HASH_SIZE * size.bit_count()
        restored = Frontier.from_bytes(size, data)
        assert restored == frontier
        assert restored.root() == frontier.root()
        if size < PROPERTY_SIZE:
            leaf = PROPERTY_LEAVES[size]
            assert restored.append(leaf) == frontier.append(leaf)
            assert restored == frontier


@pytest.mark.parametrize(
    ("size", "length"),
    [
        (0, HASH_SIZE),
        (1, 0),
        (1, HASH_SIZE - 1),
        (1, HASH_SIZE + 1),
        (3, HASH_SIZE),
        (3, 3 * HASH_SIZE),
        (4, 2 * HASH_SIZE),
        (7, 3 * HASH_SIZE - 1),
    ],
)
def test_from_bytes_rejects_wrong_length(size: int, length: int) -> None:
    with pytest.raises(ValueError):
        Frontier.from_bytes(size, b"\xab" * length)


@pytest.mark.parametrize(("size", "count"), [(0, 1), (1, 0), (3, 1), (3, 3), (8, 2)])
def test_frontier_rejects_hash_count_other_than_popcount(size: int, count: int) -> None:
    with pytest.raises(ValueError):
        Frontier(size, [b"\xab" * HASH_SIZE] * count)


# 6. The canonical leaf encoding of a stored event (store/seal.py)

EVENT_UUID = UUID("0123abcd-4567-89ef-0123-456789abcdef")
UUID_TOPIC = "domain.journey:Journey.Created"
UUID_STATE = b'\x01\x02{"x":1}\xff'


def test_canonical_event_bytes_of_a_uuid_event() -> None:
    expected = (
        b"\x00\x00\x00\x24"  # 36 bytes of id
        b"0123abcd-4567-89ef-0123-456789abcdef"
        b"\x00\x00\x00\x08"  # 8 bytes of version
        b"\x00\x00\x00\x00\x00\x00\x01\x02"  # 258
        b"\x00\x00\x00\x1e"  # 30 bytes of topic
        b"domain.journey:Journey.Created"
        b"\x00\x00\x00\x0a"  # 10 bytes of state
        b'\x01\x02{"x":1}\xff'
    )
    assert canonical_event_bytes(EVENT_UUID, 258, UUID_TOPIC, UUID_STATE) == expected
    assert event_leaf_hash(EVENT_UUID, 258, UUID_TOPIC, UUID_STATE) == (
        sha256(b"\x00" + expected).digest()
    )


def test_canonical_event_bytes_of_a_text_id_event() -> None:
    # Lengths count UTF-8 bytes: "é" is two bytes, "→" three.
    expected = (
        b"\x00\x00\x00\x0b"  # 11 bytes of id
        b"journ\xc3\xa9e-42"
        b"\x00\x00\x00\x08"
        b"\xff\xff\xff\xff\xff\xff\xff\xff"  # -1, two's complement
        b"\x00\x00\x00\x05"
        b"a\xe2\x86\x92b"
        b"\x00\x00\x00\x00"  # empty state
    )
    assert canonical_event_bytes("journée-42", -1, "a→b", b"") == expected
    assert event_leaf_hash("journée-42", -1, "a→b", b"") == (
        sha256(b"\x00" + expected).digest()
    )


@pytest.mark.parametrize(
    ("version", "encoded"),
    [
        (0, b"\x00\x00\x00\x00\x00\x00\x00\x00"),
        (1, b"\x00\x00\x00\x00\x00\x00\x00\x01"),
        (2**63 - 1, b"\x7f\xff\xff\xff\xff\xff\xff\xff"),
        (-(2**63), b"\x80\x00\x00\x00\x00\x00\x00\x00"),
    ],
)
def test_version_is_eight_byte_big_endian_twos_complement(
    version: int, encoded: bytes
) -> None:
    data = canonical_event_bytes("x", version, "t", b"")
    assert data == b"\0\0\0\x01x" + b"\0\0\0\x08" + encoded + b"\0\0\0\x01t\0\0\0\0"


def test_uuid_and_its_string_give_the_same_leaf() -> None:
    as_uuid = event_leaf_hash(EVENT_UUID, 1, UUID_TOPIC, UUID_STATE)
    as_text = event_leaf_hash(str(EVENT_UUID), 1, UUID_TOPIC, UUID_STATE)
    assert as_uuid == as_text
    assert canonical_event_bytes(EVENT_UUID, 1, UUID_TOPIC, UUID_STATE) == (
        canonical_event_bytes(
            "0123abcd-4567-89ef-0123-456789abcdef", 1, UUID_TOPIC, UUID_STATE
        )
    )


def flip_state_byte(position: int) -> tuple[UUID, int, str, bytes]:
    state = bytearray(UUID_STATE)
    state[position] ^= 0x01
    return EVENT_UUID, 7, UUID_TOPIC, bytes(state)


CHANGED_EVENTS = {
    "id": (UUID("0123abcd-4567-89ef-0123-456789abcdee"), 7, UUID_TOPIC, UUID_STATE),
    "version": (EVENT_UUID, 8, UUID_TOPIC, UUID_STATE),
    "topic": (EVENT_UUID, 7, UUID_TOPIC + "2", UUID_STATE),
    "state-longer": (EVENT_UUID, 7, UUID_TOPIC, UUID_STATE + b"\x00"),
    "topic-byte-moved-into-state": (
        EVENT_UUID,
        7,
        UUID_TOPIC[:-1],
        UUID_TOPIC[-1].encode() + UUID_STATE,
    ),
    **{f"state-byte-{i}": flip_state_byte(i) for i in range(len(UUID_STATE))},
}


@pytest.mark.parametrize("changed", CHANGED_EVENTS)
def test_changing_one_field_changes_the_leaf_hash(changed: str) -> None:
    original = event_leaf_hash(EVENT_UUID, 7, UUID_TOPIC, UUID_STATE)
    assert event_leaf_hash(*CHANGED_EVENTS[changed]) != original
