"""Replay on both time axes: valid time (as_of) and record time (known_at).

Valid times are set with the request context's ``occurred_at``. Record times are the
store's timestamps: commands are recorded one after another and ``known_at`` is taken
from the timestamps read back, between two of them (never by sleeping).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain import errors
from domain.case import Case
from domain.codes import CaseStatus
from domain.commands import (
    CloseAcct,
    CorrectEvent,
    MergeCases,
    OpenAcct,
    RecordRelease,
    RecordTransfer,
    SetReleaseDate,
    UnmergeCases,
)
from domain.events import CaseEvent, CaseOpened
from domain.identifiers import case_id
from domain.ledger import JourneyLedger
from domain.replay import Replay, replay_case
from synthetic.estate import seed_estate
from tests.ledgers import ctx, receive, risk_assessment

PN = "A1234BC"
MICROSECOND = timedelta(microseconds=1)


def on(day: int, hour: int = 9) -> datetime:
    """A valid time in March 2025."""
    return datetime(2025, 3, day, hour, tzinfo=UTC)


def history(ledger: JourneyLedger, number: str = PN) -> list[CaseEvent]:
    events = list(ledger.events.get(case_id(number)))
    assert all(isinstance(e, CaseEvent) for e in events)
    return events  # type: ignore[return-value]


def recorded_at(ledger: JourneyLedger, version: int, number: str = PN) -> datetime:
    """The record time of a version; the next version was recorded strictly later."""
    events = history(ledger, number)
    moment = events[version - 1].timestamp
    if version < len(events):
        assert events[version].timestamp > moment
    return moment


def state(case: Case | None) -> dict[str, Any]:
    assert case is not None
    return {k: v for k, v in vars(case).items() if k != "_pending_events"}


def present(replay: Replay) -> Case:
    assert replay.case is not None, replay.absent_because
    return replay.case


def versions(replay: Replay) -> list[int]:
    return [r.version for r in replay.events]


def assess(ledger: JourneyLedger, tier: str, at: datetime) -> int:
    assessment = risk_assessment(tier=tier, tier_change_level=1, rosh="medium")
    return ledger.record(ctx(occurred_at=at), PN, assessment).version


def receive_on(ledger: JourneyLedger, at: datetime, number: str = PN) -> int:
    return receive(ledger, number, occurred_at=at, personal_details=None)


def correct(ledger: JourneyLedger, version: int, **fields: Any) -> int:
    return ledger.record(
        ctx(),
        PN,
        CorrectEvent(version=version, reason="keyed wrong", corrected_fields=fields),
    ).version


def test_without_times_the_replay_is_the_case_now(ledger: JourneyLedger) -> None:
    receive_on(ledger, on(1))
    tiered = assess(ledger, "B", on(2))
    ledger.record(ctx(occurred_at=on(3)), PN, OpenAcct(triggers=["low mood"]))
    correct(ledger, tiered, tier="C", occurred_at=on(2, 15))
    ledger.record(
        ctx(occurred_at=on(4)),
        PN,
        RecordTransfer(to_prison="MDI", movement_reason="NOTR"),
    )
    ledger.record(
        ctx(occurred_at=on(5), prison="MDI"),
        PN,
        RecordRelease(movement_reason="CR", accommodation="settled"),
    )
    replay = ledger.replay(PN)
    assert state(replay.case) == state(ledger.case(PN))
    assert versions(replay) == list(range(1, replay.latest_version + 1))
    assert replay.excluded_by_known_at == replay.excluded_by_as_of == ()


def test_known_at_is_the_case_as_the_ledger_held_it(ledger: JourneyLedger) -> None:
    receive_on(ledger, on(1))
    tiered = assess(ledger, "B", on(2))
    ledger.record(ctx(occurred_at=on(3)), PN, OpenAcct(triggers=["low mood"]))
    correct(ledger, tiered, tier="C")
    ledger.record(ctx(occurred_at=on(4)), PN, CloseAcct(reason="resolved"))
    latest = ledger.case(PN).version
    for version in range(2, latest + 1):
        replay = ledger.replay(PN, known_at=recorded_at(ledger, version))
        then: Case = ledger.repository.get(case_id(PN), version=version)
        assert state(replay.case) == state(then)
        assert versions(replay) == list(range(1, version + 1))
        assert len(replay.excluded_by_known_at) == latest - version


def test_a_late_recorded_event_is_absent_from_what_the_ledger_knew(
    ledger: JourneyLedger,
) -> None:
    receive_on(ledger, on(1))
    assess(ledger, "B", on(2))
    known_at = recorded_at(ledger, 3)
    # Keyed in late: it happened on 8 March, before T, but was recorded after known_at.
    late = ledger.record(ctx(occurred_at=on(8)), PN, OpenAcct(triggers=["low mood"]))

    as_of = present(ledger.replay(PN, as_of=on(10)))
    assert as_of.acct_open
    assert late.version in versions(ledger.replay(PN, as_of=on(10)))

    for replay in (
        ledger.replay(PN, as_of=on(10), known_at=known_at),
        ledger.replay(PN, known_at=known_at),
    ):
        assert not present(replay).acct_open
        assert late.version not in versions(replay)
        assert [r.version for r in replay.excluded_by_known_at] == [late.version]
        assert replay.excluded_by_as_of == ()


def test_a_correction_made_after_t_applies_to_the_case_as_it_stood_at_t(
    ledger: JourneyLedger,
) -> None:
    receive_on(ledger, on(1))
    tiered = assess(ledger, "B", on(2))
    # The correction is made now (valid and record time long after 10 March).
    correction = correct(ledger, tiered, tier="C")
    replay = ledger.replay(PN, as_of=on(10))
    assert present(replay).tier == "C"
    assert correction in versions(replay)
    (fact,) = (r for r in replay.events if r.version == tiered)
    assert fact.corrected_by == correction
    # Before the assessment happened there was no tier, corrected or not.
    early = ledger.replay(PN, as_of=on(1, 12))
    assert present(early).tier is None
    assert {r.version for r in early.excluded_by_as_of} == {tiered, correction}


def test_a_corrected_valid_time_decides_whether_a_fact_counts(
    ledger: JourneyLedger,
) -> None:
    receive_on(ledger, on(1))
    moved_later = assess(ledger, "B", on(2))
    correct(ledger, moved_later, occurred_at=on(12))
    assert present(ledger.replay(PN, as_of=on(10))).tier is None
    assert present(ledger.replay(PN, as_of=on(12))).tier == "B"

    moved_earlier = ledger.record(ctx(occurred_at=on(20)), PN, OpenAcct(triggers=["x"]))
    correct(ledger, moved_earlier.version, occurred_at=on(5))
    replay = ledger.replay(PN, as_of=on(10))
    assert present(replay).acct_open
    (fact,) = (r for r in replay.events if r.version == moved_earlier.version)
    assert fact.occurred_at == on(5)
    assert fact.event.occurred_at == on(20)
    # As the ledger knew it before the correction, the ACCT was opened on the 20th.
    before = ledger.replay(
        PN, as_of=on(10), known_at=recorded_at(ledger, moved_earlier.version)
    )
    assert not present(before).acct_open


def test_a_correction_recorded_after_known_at_does_not_apply(
    ledger: JourneyLedger,
) -> None:
    receive_on(ledger, on(1))
    tiered = assess(ledger, "B", on(2))
    known_at = recorded_at(ledger, tiered)
    correction = correct(ledger, tiered, tier="C")
    for replay in (
        ledger.replay(PN, known_at=known_at),
        ledger.replay(PN, as_of=on(10), known_at=known_at),
    ):
        assert present(replay).tier == "B"
        assert correction not in versions(replay)
        (fact,) = (r for r in replay.events if r.version == tiered)
        assert fact.corrected_by is None
    assert present(ledger.replay(PN, as_of=on(10))).tier == "C"
    assert present(ledger.replay(PN)).tier == "C"


def test_a_release_after_t_means_in_custody_at_t(ledger: JourneyLedger) -> None:
    receive_on(ledger, on(1))
    ledger.record(
        ctx(occurred_at=on(2)),
        PN,
        SetReleaseDate(date_type="CRD", release_date=date(2025, 3, 20)),
    )
    ledger.record(
        ctx(occurred_at=on(20)),
        PN,
        RecordRelease(movement_reason="CR", accommodation="settled"),
    )
    at_t = present(ledger.replay(PN, as_of=on(10)))
    assert at_t.status == CaseStatus.IN_CUSTODY
    assert at_t.prison == "LEI"
    assert at_t.bookings[-1]["released_at"] is None
    assert at_t.release_dates["CRD"]["release_date"] == date(2025, 3, 20)
    assert at_t.last_release is None
    after = present(ledger.replay(PN, as_of=on(20)))
    assert after.status == CaseStatus.RELEASED
    assert after.bookings[-1]["released_at"] == on(20)


def test_before_the_case_existed(ledger: JourneyLedger) -> None:
    receive_on(ledger, on(1))
    assess(ledger, "B", on(2))

    not_yet = ledger.replay(PN, as_of=on(1, 8))
    assert not_yet.case is None and not not_yet.exists
    assert not_yet.absent_because == "as_of"
    assert not_yet.events == ()
    assert len(not_yet.excluded_by_as_of) == 3

    unknown = ledger.replay(PN, known_at=history(ledger)[0].timestamp - MICROSECOND)
    assert unknown.case is None
    assert unknown.absent_because == "known_at"
    assert len(unknown.excluded_by_known_at) == 3
    assert unknown.excluded_by_as_of == ()

    opened = ledger.replay(PN, as_of=on(1))
    assert present(opened).status == CaseStatus.IN_CUSTODY
    assert present(opened).tier is None


def test_order_is_the_version_never_the_clock(ledger: JourneyLedger) -> None:
    receive_on(ledger, on(1))
    ledger.record(ctx(occurred_at=on(8)), PN, OpenAcct(triggers=["low mood"]))
    # Closed next, but its source clock puts it before the opening.
    ledger.record(ctx(occurred_at=on(6)), PN, CloseAcct(reason="resolved"))
    assert not present(ledger.replay(PN, as_of=on(10))).acct_open
    assert not ledger.case(PN).acct_open


def test_merges_follow_both_times(ledger: JourneyLedger) -> None:
    receive_on(ledger, on(1), "A1111AA")
    receive_on(ledger, on(2), "B2222BB")
    ledger.execute(
        ctx(occurred_at=on(15)), "B2222BB", MergeCases(survivor_number="A1111AA")
    )
    merged = len(history(ledger, "B2222BB"))
    before_merge = recorded_at(ledger, merged - 1, "B2222BB")
    ledger.execute(
        ctx(occurred_at=on(25)), "B2222BB", UnmergeCases(survivor_number="A1111AA")
    )

    assert present(ledger.replay("B2222BB", as_of=on(10))).merged_into is None
    assert present(ledger.replay("B2222BB", as_of=on(20))).merged_into == "A1111AA"
    assert present(ledger.replay("A1111AA", as_of=on(20))).absorbed == ["B2222BB"]
    assert present(ledger.replay("B2222BB", as_of=on(30))).merged_into is None
    assert present(ledger.replay("A1111AA", as_of=on(30))).absorbed == []
    assert present(ledger.replay("B2222BB")).merged_into is None

    merge_known = recorded_at(ledger, merged, "B2222BB")
    knew_merge = present(ledger.replay("B2222BB", known_at=merge_known))
    assert knew_merge.merged_into == "A1111AA"
    knew_before = present(ledger.replay("B2222BB", known_at=before_merge))
    assert knew_before.merged_into is None
    # Known at the merge, as of the day after the unmerge: still merged (the
    # unmerge was not yet recorded).
    as_then = ledger.replay("B2222BB", as_of=on(30), known_at=merge_known)
    assert present(as_then).merged_into == "A1111AA"
    assert len(as_then.excluded_by_known_at) == 1


def test_unknown_prisoner_and_naive_times(ledger: JourneyLedger) -> None:
    with pytest.raises(errors.CaseNotFound):
        ledger.replay("Z9999ZZ")
    with pytest.raises(errors.InvalidValue):
        ledger.replay("not-a-number")
    receive_on(ledger, on(1))
    with pytest.raises(errors.InvalidValue, match="time zone"):
        ledger.replay(PN, as_of=datetime(2025, 3, 1))
    with pytest.raises(errors.InvalidValue, match="time zone"):
        ledger.replay(PN, known_at=datetime(2025, 3, 1))


def test_known_at_cuts_the_versions_at_the_first_one_recorded_later(
    ledger: JourneyLedger,
) -> None:
    receive_on(ledger, on(1))
    assess(ledger, "B", on(2))
    ledger.record(ctx(occurred_at=on(3)), PN, OpenAcct(triggers=["low mood"]))
    events = history(ledger)
    # A skewed clock stamped version 3 later than version 4: the ledger never held
    # version 4 without version 3, so a cut between them keeps neither.
    skewed = [
        replace(e, timestamp=e.timestamp + timedelta(hours=1))
        if e.originator_version == 3
        else e
        for e in events
    ]
    replay = replay_case(skewed, known_at=events[3].timestamp)
    assert versions(replay) == [1, 2]
    assert [r.version for r in replay.excluded_by_known_at] == [3, 4]
    assert present(replay).tier is None and not present(replay).acct_open


def test_a_history_must_be_whole() -> None:
    with pytest.raises(ValueError, match="CaseOpened"):
        replay_case([])


def test_replaying_a_synthetic_estate_agrees_with_the_repository(
    ledger: JourneyLedger,
) -> None:
    seed_estate(ledger, prisons=3, people=150, years=2, seed=1)
    opened = [
        UUID(str(n.originator_id))
        for n in ledger.recorder.select_notifications(1, 1_000_000)
        if n.topic == CaseOpened.TOPIC
    ]
    assert len(opened) >= 150
    kinds: set[str] = set()
    for case_uuid in opened:
        events: list[CaseEvent] = list(ledger.events.get(case_uuid))  # type: ignore[arg-type]
        kinds.update(type(e).__name__ for e in events)
        replay = replay_case(events)
        assert state(replay.case) == state(ledger.repository.get(case_uuid))
        # As the ledger held it after each save that was stamped apart from the next.
        for version in range(2, len(events)):
            stamp = events[version - 1].timestamp
            if events[version].timestamp > stamp:
                then: Case = ledger.repository.get(case_uuid, version=version)
                assert state(replay_case(events, known_at=stamp).case) == state(then)
    assert {"EventCorrected", "CasesMerged", "Released"} <= kinds
