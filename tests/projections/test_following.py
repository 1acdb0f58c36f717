"""Following the log: read-your-writes without sleeping, and checkpoints on schedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import main
from domain.ledger import JourneyLedger
from store.evidence_db import open_evidence_store
from tests.ledgers import ctx, ledger_on, receive
from tests.projections.conftest import ReadModels


def test_wait_for_gives_read_your_writes(
    ledger: JourneyLedger, read_models: ReadModels
) -> None:
    thread = read_models.runner.start()
    try:
        for i in range(20):
            number = f"A{i:04d}BC"
            result = ledger.record_reception(
                ctx(),
                number,
                booking_no="10001A",
                movement_reason="N",
                legal_status="remand",
            )
            assert result.position is not None
            assert read_models.runner.wait_for(result.position, timeout=10)
            state = read_models.queries.case_state(number)
            assert state is not None and state["version"] == result.version
    finally:
        read_models.runner.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_wait_for_times_out_when_nothing_follows(
    ledger: JourneyLedger, read_models: ReadModels
) -> None:
    receive(ledger, "A1234BC")
    assert not read_models.runner.wait_for(2, timeout=0.05)
    read_models.runner.catch_up()
    assert read_models.runner.wait_for(2, timeout=0)


def test_the_follower_issues_checkpoints_every_n_events(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", store_url)
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(tmp_path / "log.key"))
    monkeypatch.setenv("LEDGER_CHECKPOINT_EVERY_EVENTS", "100")
    assert main(["keys", "init"]) == 0
    ledger = ledger_on(store_url)
    heads = []
    for batch in range(3):
        for i in range(60):  # 120 events: past the schedule's 100
            receive(ledger, f"A{batch}{i:03d}BC")
        heads.append(ledger.recorder.max_notification_id())
        assert main(["project", "--once"]) == 0
    for i in range(10):  # 20 events: not enough for another checkpoint
        receive(ledger, f"B{i:04d}BC")
    assert main(["project", "--once"]) == 0
    ledger.close()
    with open_evidence_store(store_url) as evidence:
        sizes = [c.tree_size for c in evidence.checkpoints()]
    assert sizes == heads
    assert main(["verify"]) == 0


def test_a_follower_fills_the_gap_when_tables_behind_it_are_swapped_in(
    ledger: JourneyLedger, read_models: ReadModels
) -> None:
    """A rebuild may swap in tables built to a position the follower has passed. The
    follower, woken by the next commit, must apply the events in between too, not
    only the new one (it does not re-read the tracked positions on each wake-up; the
    page's transaction finds them behind)."""

    def reception(number: str) -> int:
        position = ledger.record_reception(
            ctx(),
            number,
            booking_no="10003A",
            movement_reason="N",
            legal_status="remand",
        ).position
        assert position is not None
        return position

    gap_from = reception("A0001BC")
    thread = read_models.runner.start()
    try:
        # Once this is applied, the follower has read the tracked positions for the
        # last time: from here on it only follows.
        assert read_models.runner.wait_for(reception("A0002BC"), timeout=30)
        # Tables as a rebuild to ``gap_from`` would swap them in: A0002BC not there.
        with read_models.database.transaction() as sql:
            sql.execute("DELETE FROM case_state WHERE prisoner_number='A0002BC'")
            sql.execute(
                "UPDATE read_model_positions SET position=? WHERE name='case_state'",
                (gap_from,),
            )
        assert read_models.runner.wait_for(reception("A0003BC"), timeout=30)
        assert read_models.queries.case_state("A0003BC") is not None
        assert read_models.queries.case_state("A0002BC") is not None
    finally:
        read_models.runner.stop()
        thread.join(timeout=10)
