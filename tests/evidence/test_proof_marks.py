"""Proof marks (the console's check beside each event), on both stores: proved when
the leaf recomputes and its proof reaches the signed root; pending after the
checkpoint; failed, with the reason, when a row or the note was altered."""

from __future__ import annotations

from uuid import UUID

import pytest

from evidence.checkpoint import issue_checkpoint
from evidence.proof_marks import ProofStatus, mark_events
from evidence.signed_note import Ed25519Signer
from tests.evidence.helpers import ORIGIN, evidence, filled_log, row_at, sql
from tests.store.notes import Notes


@pytest.fixture
def log(store_url: str) -> tuple[str, Notes, Ed25519Signer]:
    """A 30-event log with a checkpoint at 30."""
    signer = Ed25519Signer.generate(ORIGIN)
    app, _ = filled_log(store_url, 10)
    issue_checkpoint(evidence(app), signer)
    return store_url, app, signer


def originator_at(url: str, position: int) -> str:
    return str(row_at(url, position)[0])


def test_every_event_in_the_checkpoint_is_proved(
    log: tuple[str, Notes, Ed25519Signer],
) -> None:
    url, app, signer = log
    marks = mark_events(evidence(app), originator_at(url, 4), signer.verifier())
    assert marks.problem is None and marks.tree_size == 30
    assert marks.marks and {m.status for m in marks.marks.values()} == {
        ProofStatus.PROVED
    }


def test_events_after_the_checkpoint_are_pending(
    log: tuple[str, Notes, Ed25519Signer],
) -> None:
    url, app, signer = log
    originator = originator_at(url, 4)
    note = app.repository.get(UUID(originator))
    note.amend("later text")
    app.save(note)
    marks = mark_events(evidence(app), originator, signer.verifier())
    assert [m.status for m in marks.marks.values()].count(ProofStatus.PENDING) == 1
    assert max(marks.marks) > 30


def test_an_altered_row_is_marked_failed(
    log: tuple[str, Notes, Ed25519Signer],
) -> None:
    url, app, signer = log
    originator, _, _, state = row_at(url, 5)
    changed = bytearray(state)
    changed[len(changed) // 2] ^= 0x01
    sql(
        url,
        "UPDATE stored_events SET state = %s WHERE notification_id = 5",
        [bytes(changed)],
    )
    marks = mark_events(evidence(app), str(originator), signer.verifier())
    assert marks.marks[5].status is ProofStatus.FAILED
    assert "does not hash to its stored leaf hash" in marks.marks[5].detail
    others = [m for p, m in marks.marks.items() if p != 5]
    assert others and all(m.status is ProofStatus.PROVED for m in others)


def test_a_checkpoint_signed_by_another_key_proves_nothing(
    log: tuple[str, Notes, Ed25519Signer],
) -> None:
    url, app, _ = log
    stranger = Ed25519Signer.generate(ORIGIN)
    marks = mark_events(evidence(app), originator_at(url, 4), stranger.verifier())
    assert marks.problem and "does not verify" in marks.problem
    assert {m.status for m in marks.marks.values()} == {ProofStatus.FAILED}


def test_without_a_key_nothing_is_claimed(
    log: tuple[str, Notes, Ed25519Signer],
) -> None:
    url, app, _ = log
    marks = mark_events(evidence(app), originator_at(url, 4), None)
    assert {m.status for m in marks.marks.values()} == {ProofStatus.UNCHECKED}
