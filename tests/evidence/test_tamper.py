"""Tampering by direct SQL is caught by ``ledger verify``, on both stores.

Each test fills a log through the library, checkpoints it, then changes the
database behind the ledger's back the way an intruder with SQL access would, and
runs ``ledger verify`` as an operator would: non-zero exit, the first bad position
named, and what differs.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from api.cli import main
from evidence.checkpoint import issue_checkpoint
from evidence.keys import create_key_file
from evidence.signed_note import Ed25519Signer
from evidence.verify import verify_log
from store.merkle import Frontier
from tests.evidence.helpers import (
    ORIGIN,
    evidence,
    filled_log,
    leaf_of,
    row_at,
    sql,
    stored_id,
)
from tests.store.notes import Notes

NOTES = 20  # three events each: 60 positions


@pytest.fixture
def ledger(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, Notes, Ed25519Signer]:
    """A 60-event log on the store, with a signing key and a checkpoint at 60."""
    monkeypatch.setenv("LEDGER_DATABASE_URL", store_url)
    key_file = tmp_path / "ledger-signing.key"
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(key_file))
    monkeypatch.setenv("LEDGER_LOG_ORIGIN", ORIGIN)
    signer = create_key_file(key_file, ORIGIN)
    app, _ = filled_log(store_url, NOTES)
    issue_checkpoint(evidence(app), signer)
    return store_url, app, signer


def verify(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["verify"])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_an_untouched_log_verifies(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    status, output = verify(capsys)
    assert status == 0, output
    assert "OK: 60 events" in output
    assert "1 checkpoints, roots match, signatures verified" in output


def test_one_byte_of_one_state_changed(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, _ = ledger
    originator, version, topic, state = row_at(url, 23)
    changed = bytearray(state)
    changed[len(changed) // 2] ^= 0x01
    sql(
        url,
        "UPDATE stored_events SET state = %s WHERE notification_id = 23",
        [bytes(changed)],
    )
    status, output = verify(capsys)
    assert status == 1
    assert "FAILED at position 23:" in output
    assert f"originator {originator} version {version}" in output
    assert leaf_of(originator, version, topic, state).hex() in output  # stored leaf
    assert "the row was altered" in output
    assert "Traceback" not in output


def test_a_row_deleted(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, _ = ledger
    sql(url, "DELETE FROM stored_events WHERE notification_id = 31")
    status, output = verify(capsys)
    assert status == 1
    assert "FAILED at position 31: missing" in output
    assert "from position 30 to 32" in output


def test_the_last_row_deleted(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, _ = ledger
    sql(url, "DELETE FROM stored_events WHERE notification_id = 60")
    status, output = verify(capsys)
    assert status == 1
    assert "FAILED at position 60: missing" in output


def swap(url: str, a: int, b: int) -> None:
    for source, target in ((a, 10_000), (b, a), (10_000, b)):
        sql(
            url,
            "UPDATE stored_events SET notification_id = %s WHERE notification_id = %s",
            [target, source],
        )


def test_two_rows_of_one_case_swapped(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, _ = ledger
    # Positions 13-15 are one note's versions 1-3; swap versions 1 and 3.
    assert row_at(url, 13)[1] == 1 and row_at(url, 15)[1] == 3
    swap(url, 13, 15)
    status, output = verify(capsys)
    assert status == 1
    assert "FAILED at position 13:" in output
    assert "first appears here with version 3 (expected version 1)" in output


def test_a_row_moved_onto_a_position_with_fewer_nodes(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, _ = ledger
    # Positions 4-6 are one note's versions 1-3; position 6 completes a node.
    swap(url, 5, 6)
    status, output = verify(capsys)
    assert status == 1
    assert "FAILED at position 5: the row stores 1 interior node hashes" in output
    assert "sealed at another position" in output


def test_a_version_skipped_within_an_originator_is_named(sqlite_url: str) -> None:
    app, _ = filled_log(sqlite_url, 2)
    oid = UUID(int=7, version=4)
    app.recorder.insert_events(
        [StoredEvent(oid, v, "tests:Odd", b"{}") for v in (1, 3)]
    )
    report = verify_log(evidence(app), None)
    assert str(report.failure) == (
        f"position 8: originator {oid} has version 3 here, after version 1 at "
        "position 7 (expected version 2): rows were moved, removed or inserted"
    )


def test_two_rows_of_different_cases_swapped(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, _ = ledger
    # Two first events (version 1) of different notes, at odd positions, so neither
    # the version order nor the number of stored nodes gives the swap away: only
    # the interior nodes do, at the first pair that contains position 19.
    assert row_at(url, 19)[1] == 1 and row_at(url, 37)[1] == 1
    swap(url, 19, 37)
    status, output = verify(capsys)
    assert status == 1
    assert "FAILED at positions 19-20:" in output
    assert "do not hash to the level 1 node stored with position 20" in output


def test_a_forged_row_appended(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, app, _ = ledger
    # The forger computes the leaf and the nodes exactly as the ledger would, but
    # cannot move the frontier without it showing (see the next test).
    frontier: Frontier = app.recorder.frontier()  # type: ignore[attr-defined]
    originator = "0e4f6c84-1a7e-4f7b-9d0a-2c1b3a4d5e6f"
    leaf = leaf_of(originator, 1, "tests.store.notes:Note.Opened", b"{}")
    nodes = b"".join(n.hash for n in frontier.copy().append(leaf))
    sql(
        url,
        "INSERT INTO stored_events (notification_id, originator_id, "
        "originator_version, topic, state, leaf_hash, nodes) "
        "VALUES (61, %s, 1, 'tests.store.notes:Note.Opened', %s, %s, %s)",
        [stored_id(url, originator), b"{}", leaf, nodes],
    )
    status, output = verify(capsys)
    assert status == 1
    assert "FAILED at position 61: this row is not in the sealed log" in output
    assert "the frontier records 60 events" in output


def test_a_forged_row_inserted_in_the_middle(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, _ = ledger
    # Make room at position 40 (two steps: the position index is unique).
    sql(
        url,
        "UPDATE stored_events SET notification_id = notification_id + 100000 "
        "WHERE notification_id >= 40",
    )
    sql(
        url,
        "UPDATE stored_events SET notification_id = notification_id - 99999 "
        "WHERE notification_id >= 100000",
    )
    _, _, topic, state = row_at(url, 35)  # a real-looking event
    forged_id = "0e4f6c84-1a7e-4f7b-9d0a-2c1b3a4d5e6f"
    sql(
        url,
        "INSERT INTO stored_events (notification_id, originator_id, "
        "originator_version, topic, state, leaf_hash, nodes) "
        "VALUES (40, %s, 1, %s, %s, %s, %s)",
        [
            stored_id(url, forged_id),
            topic,
            state,
            leaf_of(forged_id, 1, topic, state),
            b"\x00" * 96,  # position 40 completes three nodes
        ],
    )
    status, output = verify(capsys)
    assert status == 1
    # Hashes narrow it to the pair under the first broken node; the forged row
    # (position 40) is in it.
    assert "FAILED at positions 39-40:" in output
    assert "do not hash to the level 1 node stored with position 40" in output


def rebuild_tree(url: str, change_position: int) -> None:
    """Rewrite history: change one old event and recompute every hash, so that the
    rows, their nodes and the frontier are all consistent again."""
    state = row_at(url, change_position)[3]
    sql(
        url,
        "UPDATE stored_events SET state = %s WHERE notification_id = %s",
        [state[:-8] + state[-8:].swapcase(), change_position],
    )
    (count,) = sql(url, "SELECT count(*) FROM stored_events")[0]
    frontier = Frontier()
    for position in range(1, count + 1):
        leaf = leaf_of(*row_at(url, position))
        nodes = b"".join(n.hash for n in frontier.append(leaf))
        sql(
            url,
            "UPDATE stored_events SET leaf_hash = %s, nodes = %s "
            "WHERE notification_id = %s",
            [leaf, nodes, position],
        )
    sql(
        url,
        "UPDATE stored_events_frontier SET tree_size = %s, hashes = %s",
        [frontier.size, frontier.to_bytes()],
    )


def test_history_rewritten_and_rehashed_is_caught_by_the_checkpoint(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, _ = ledger
    rebuild_tree(url, 4)
    status, output = verify(capsys)
    assert status == 1
    assert "checkpoint at tree size 60 signed root" in output
    assert "history was rewritten" in output


def test_a_rewritten_history_is_not_signed(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, app, _ = ledger
    rebuild_tree(url, 4)
    app.save(app.repository.get(app.recorder.select_sealed_rows(0, 1)[0].originator_id))  # type: ignore[attr-defined]
    status = main(["checkpoint"])
    output = capsys.readouterr().err
    assert status == 1
    assert "refusing to sign tree size" in output
    assert "not consistent with the checkpoint already signed at tree size 60" in output


def test_a_checkpoint_note_altered_in_the_table(
    ledger: tuple[str, Notes, Ed25519Signer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, _ = ledger
    # The table refuses UPDATE; an intruder with owner rights drops the guard first.
    if url.startswith("sqlite"):
        sql(url, "DROP TRIGGER checkpoints_no_update")
    else:
        sql(url, 'DROP TRIGGER "checkpoints_append_only" ON checkpoints')
    sql(url, "UPDATE checkpoints SET note = replace(note, '\n60\n', '\n59\n')")
    status, output = verify(capsys)
    assert status == 1
    assert "checkpoint at tree size 60" in output
    assert "does not verify" in output


def test_the_checkpoint_tables_refuse_update_and_delete(
    ledger: tuple[str, Notes, Ed25519Signer],
) -> None:
    url, _, _ = ledger
    for statement in (
        "UPDATE checkpoints SET tree_size = 1",
        "DELETE FROM checkpoints",
    ):
        with pytest.raises(Exception, match="append-only"):
            sql(url, statement)
    assert sql(url, "SELECT count(*) FROM checkpoints")[0][0] == 1
