"""The seal is computed in the write, and is right: checked from the stored rows."""

from __future__ import annotations

import random
import threading
from hashlib import sha256
from typing import Any
from uuid import UUID

from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import IntegrityError, StoredEvent

from store.merkle import root_from_leaf_hashes, subtree_root
from store.seal import SealedRow
from tests.store.notes import Note, notes_app


def all_rows(recorder: Any) -> list[SealedRow]:
    rows: list[SealedRow] = []
    while batch := recorder.select_sealed_rows(after=len(rows), limit=500):
        rows.extend(batch)
    return rows


def assert_seal_is_consistent(recorder: Any) -> list[SealedRow]:
    """Everything a verifier can check from the rows alone, and the frontier."""
    rows = all_rows(recorder)
    assert [r.position for r in rows] == list(range(1, len(rows) + 1))
    leaves = [r.leaf_hash for r in rows]
    assert [r.recomputed_leaf_hash() for r in rows] == leaves
    frontier = recorder.frontier()
    assert frontier.size == len(rows)
    assert frontier.root() == root_from_leaf_hashes(leaves) == subtree_root(leaves)
    for row in rows:
        # The interior nodes each row completed (stored for proofs) are right.
        level = 1
        while row.position % (1 << level) == 0:
            start = row.position - (1 << level)
            assert row.node(level) == subtree_root(leaves[start : row.position])
            level += 1
        assert len(row.nodes) == 32 * (level - 1)
    return rows


def test_empty_log_has_the_empty_tree_root(store_url: str) -> None:
    app = notes_app(store_url)
    recorder = app.recorder
    assert recorder.frontier().root() == sha256(b"").digest()  # type: ignore[attr-defined]
    assert recorder.max_notification_id() is None


def test_root_after_thousands_of_random_saves_equals_a_from_scratch_tree(
    store_url: str,
) -> None:
    app = notes_app(store_url)
    rng = random.Random(20261123)
    notes: list[Note] = []
    refused = 0
    for i in range(1500):
        choice = rng.random()
        if choice < 0.05 and notes:
            # A stale copy of an existing note: a version conflict, rolled back.
            stale = app.repository.get(rng.choice(notes).id)
            current = app.repository.get(stale.id)
            current.amend("first")
            app.save(current)
            stale.amend("second")
            try:
                app.save(stale)
            except IntegrityError:
                refused += 1
        elif choice < 0.4 and notes:
            note = app.repository.get(rng.choice(notes).id)
            for _ in range(rng.randint(1, 6)):
                note.amend(rng.randbytes(rng.randint(0, 300)).hex())
            app.save(note)
        else:
            note = Note(f"n{i}", text="x" * rng.randint(0, 500))
            app.save(note)
            notes.append(note)
    assert refused > 0
    rows = assert_seal_is_consistent(app.recorder)
    assert len(rows) > 2000


def test_same_events_make_the_same_root_on_both_stores(
    sqlite_url: str, postgres_url: str
) -> None:
    rng = random.Random(7)
    batches = [
        [
            StoredEvent(
                originator_id=UUID(int=rng.getrandbits(128), version=4),
                originator_version=v,
                topic="tests.store.notes:Note.Amended",
                state=rng.randbytes(rng.randint(1, 200)),
            )
            for v in range(1, rng.randint(2, 9))
        ]
        for _ in range(60)
    ]
    roots = []
    for url in (sqlite_url, postgres_url):
        app = notes_app(url)  # keep the app: it closes its store when collected
        recorder: Any = app.recorder
        for batch in batches:
            recorder.insert_events(batch)
        assert_seal_is_consistent(recorder)
        roots.append(recorder.frontier().root())
    assert roots[0] == roots[1]


def test_leaves_cover_the_bytes_as_stored_after_compression_and_encryption(
    store_url: str,
) -> None:
    app = notes_app(
        store_url,
        CIPHER_KEY=AESCipher.create_key(16),
        COMPRESSOR_TOPIC="eventsourcing.compressor:ZlibCompressor",
    )
    secret = "synthetic narrative: A1234BC found with contraband in cell 2-14"
    note = Note("encrypted", text=secret)
    app.save(note)
    (row,) = assert_seal_is_consistent(app.recorder)
    assert secret.encode() not in row.state
    assert b"A1234BC" not in row.state
    # The leaf can be checked without the key; the key still reads the event.
    assert app.repository.get(note.id).text == secret


def test_awkward_topics_and_states_are_stored_exactly(store_url: str) -> None:
    app = notes_app(store_url)
    recorder: Any = app.recorder
    topic = "tests:Note.O'Brien\\'); DROP TABLE stored_events; -- ünïcode"
    state = bytes(range(256)) + b"\\x00'"
    event = StoredEvent(UUID(int=42, version=4), 1, topic, state)
    recorder.insert_events([event])
    (stored,) = recorder.select_events(event.originator_id)
    assert (stored.topic, stored.state) == (topic, state)
    assert_seal_is_consistent(recorder)


def test_writers_in_two_processes_interleave_and_the_seal_holds(
    store_url: str,
) -> None:
    """Two applications, each with its own connections and its own idea of the
    frontier (as two API workers have), saving at once: every save lands at its own
    position, and the seal is the tree of them all. On PostgreSQL this goes through
    both ways a save learns the frontier: taken as the one it wrote last, found
    moved by the other writer, then read under the lock."""
    apps = [notes_app(store_url), notes_app(store_url)]
    saves = 150
    acknowledged: list[int] = []
    errors: list[BaseException] = []

    def write(app: Any, name: str) -> None:
        try:
            for i in range(saves):
                acknowledged.append(app.save(Note(f"{name}-{i}"))[0].notification.id)
        except BaseException as e:
            errors.append(e)

    threads = [
        threading.Thread(target=write, args=(app, f"w{k}{t}"))
        for k, app in enumerate(apps)
        for t in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total = len(threads) * saves
    assert sorted(acknowledged) == list(range(1, total + 1))
    rows = assert_seal_is_consistent(apps[0].recorder)
    assert len(rows) == total
