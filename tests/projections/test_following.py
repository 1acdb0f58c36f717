"""Following the log: read-your-writes without sleeping, and checkpoints on schedule."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from api.cli import main
from domain.commands import ReceivePrisoner
from domain.ledger import JourneyLedger
from evidence.database import open_evidence_store
from projections.catalogue import all_models
from projections.database import open_database
from projections.runner import ProjectionRunner
from store.config import environment_for
from tests.ledgers import ctx, ledger_on, receive
from tests.projections.conftest import ReadModels


def test_wait_for_gives_read_your_writes(
    ledger: JourneyLedger, read_models: ReadModels
) -> None:
    thread = read_models.runner.start()
    try:
        for i in range(20):
            number = f"A{i:04d}BC"
            result = ledger.record(
                ctx(),
                number,
                ReceivePrisoner(
                    booking_no="10001A", movement_reason="N", legal_status="remand"
                ),
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


def reception(ledger: JourneyLedger, number: str) -> int:
    """Receive a person; returns the event's position."""
    position = ledger.record(
        ctx(),
        number,
        ReceivePrisoner(
            booking_no="10003A", movement_reason="N", legal_status="remand"
        ),
    ).position
    assert position is not None
    return position


def test_a_follower_fills_the_gap_when_tables_behind_it_are_swapped_in(
    ledger: JourneyLedger, read_models: ReadModels
) -> None:
    """A rebuild may swap in tables built to a position the follower has passed. The
    follower, woken by the next commit, must apply the events in between too, not
    only the new one (it does not re-read the tracked positions on each wake-up; the
    page's transaction finds them behind)."""

    gap_from = reception(ledger, "A0001BC")
    thread = read_models.runner.start()
    try:
        # Once this is applied, the follower has read the tracked positions for the
        # last time: from here on it only follows.
        assert read_models.runner.wait_for(reception(ledger, "A0002BC"), timeout=30)
        # Tables as a rebuild to ``gap_from`` would swap them in: A0002BC not there.
        with read_models.database.transaction() as sql:
            sql.execute("DELETE FROM case_state WHERE prisoner_number='A0002BC'")
            sql.execute(
                "UPDATE read_model_positions SET position=? WHERE name='case_state'",
                (gap_from,),
            )
        assert read_models.runner.wait_for(reception(ledger, "A0003BC"), timeout=30)
        assert read_models.queries.case_state("A0003BC") is not None
        assert read_models.queries.case_state("A0002BC") is not None
    finally:
        read_models.runner.stop()
        thread.join(timeout=10)


def test_a_busy_log_is_followed_in_pages_of_many_events_an_idle_one_at_once(
    ledger: JourneyLedger, store_url: str
) -> None:
    """While commits keep coming, the follower starts a page at most every
    ``page_interval`` and takes all that gathered; a commit to an idle log is
    applied at once, however long the interval."""
    database = open_database(environment_for(store_url))
    pages: list[int] = []
    first_page_applied = threading.Event()
    committed_meanwhile = threading.Event()

    def after_page(position: int) -> None:
        pages.append(position)
        if len(pages) == 1:
            first_page_applied.set()
            assert committed_meanwhile.wait(30)

    interval = 2.0
    runner = ProjectionRunner(
        ledger, database, all_models(), page_interval=interval, after_page=after_page
    )
    thread = runner.start()
    try:
        first = reception(ledger, "A0001BC")
        assert first_page_applied.wait(30)
        reception(ledger, "A0002BC")  # while the first page is applied: busy
        committed_meanwhile.set()
        # Committed within the interval after the first page began: one page.
        busy = [reception(ledger, f"A{i:04d}BC") for i in range(3, 8)]
        assert runner.wait_for(busy[-1], timeout=30)
        assert pages == [first, busy[-1]]
        # Nothing followed that page: the log is idle, and the next commit is
        # followed at once, not an interval later.
        started = time.monotonic()
        assert runner.wait_for(reception(ledger, "A0008BC"), timeout=interval / 2)
        assert time.monotonic() - started < interval / 2
    finally:
        runner.stop()
        thread.join(timeout=10)
    database.close()


def test_a_follower_stops_while_the_log_is_busy(
    ledger: JourneyLedger, store_url: str
) -> None:
    """Stopped in the middle of a page, with more committed beyond it, the follower
    stops rather than going round for the rest."""
    database = open_database(environment_for(store_url))
    in_page = threading.Event()
    committed_beyond = threading.Event()

    def after_page(position: int) -> None:
        in_page.set()
        assert committed_beyond.wait(30)
        runner.stop()

    runner = ProjectionRunner(
        ledger, database, all_models(), page_interval=0, after_page=after_page
    )
    follower = runner.start()
    try:
        reception(ledger, "A0001BC")
        assert in_page.wait(30)
        reception(ledger, "A0002BC")
        committed_beyond.set()
        follower.join(timeout=10)
        assert not follower.is_alive()
    finally:
        runner.stop()
        database.close()
