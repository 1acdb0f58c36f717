"""Officer allocation: caseload limits, overrides and concurrency, on both stores."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from domain import errors
from domain.commands import (
    AllocateOfficer,
    DeallocateOfficer,
    RecordRelease,
    RegisterOfficer,
)
from domain.context import RequestContext
from domain.events import CaseAllocated, OfficerAllocated
from domain.ledger import CommandResult, JourneyLedger
from tests.ledgers import ctx, ledger_on, receive

OFFICER = "KWORKER_GEN"


def register(ledger: JourneyLedger, roles: tuple[str, ...] = ("key_worker",)) -> None:
    ledger.register_officer(
        ctx(),
        RegisterOfficer(
            officer_id=OFFICER, name="Kay Worker", roles=roles, home_prison="LEI"
        ),
    )


def numbers(n: int) -> list[str]:
    return [f"A{i:04d}AA" for i in range(1, n + 1)]


def allocate(
    ledger: JourneyLedger,
    number: str,
    override_reason: str | None = None,
    context: RequestContext | None = None,
) -> CommandResult:
    return ledger.record(
        context or ctx(),
        number,
        AllocateOfficer(
            officer_id=OFFICER,
            role="key_worker",
            reason="new arrival",
            override_reason=override_reason,
        ),
    )


def test_allocation_changes_case_and_officer_in_one_save(
    ledger: JourneyLedger,
) -> None:
    register(ledger)
    receive(ledger, "A0001AA")
    result = allocate(ledger, "A0001AA")
    assert ledger.case("A0001AA").officers == {"key_worker": OFFICER}
    allocation = ledger.officer(OFFICER).caseload["A0001AA"]
    assert (allocation["role"], allocation["override_reason"]) == ("key_worker", None)
    assert allocation["prison"] == "LEI"
    last_two = ledger.recorder.select_notifications(result.position or 0, 2)
    assert [n.topic for n in last_two] == [OfficerAllocated.TOPIC, CaseAllocated.TOPIC]


def test_allocation_needs_custody_a_registered_officer_and_the_role(
    ledger: JourneyLedger,
) -> None:
    receive(ledger, "A0001AA")
    with pytest.raises(errors.OfficerNotFound):
        allocate(ledger, "A0001AA")
    register(ledger, roles=("pom",))
    with pytest.raises(errors.InvalidValue):
        allocate(ledger, "A0001AA")
    ledger.record(
        ctx(), "A0001AA", RecordRelease(movement_reason="CR", accommodation="settled")
    )
    with pytest.raises(errors.CaseIsReleased):
        allocate(ledger, "A0001AA")


def test_limit_holds_and_an_override_needs_reason_and_authority(
    ledger: JourneyLedger,
) -> None:
    register(ledger)
    for number in numbers(7):
        receive(ledger, number)
    for number in numbers(6):
        allocate(ledger, number)
    with pytest.raises(errors.CaseloadLimitReached):
        allocate(ledger, "A0007AA")
    with pytest.raises(errors.OverrideNeedsAuthority):
        allocate(ledger, "A0007AA", override_reason="wing short-staffed")
    allocate(
        ledger,
        "A0007AA",
        override_reason="wing short-staffed",
        context=ctx(authority="CUSTMGR_LEI"),
    )
    assert ledger.officer(OFFICER).caseload["A0007AA"]["override_reason"] == (
        "wing short-staffed"
    )
    assert ledger.officer(OFFICER).count("key_worker") == 7


def test_limits_are_configurable_per_role(store_url: str) -> None:
    ledger = ledger_on(store_url, LEDGER_CASELOAD_LIMITS="key_worker=2")
    try:
        register(ledger)
        for number in numbers(3):
            receive(ledger, number)
        allocate(ledger, "A0001AA")
        allocate(ledger, "A0002AA")
        with pytest.raises(errors.CaseloadLimitReached):
            allocate(ledger, "A0003AA")
    finally:
        ledger.close()


def test_deallocation_and_release_free_the_caseload(ledger: JourneyLedger) -> None:
    register(ledger)
    receive(ledger, "A0001AA")
    receive(ledger, "A0002AA")
    with pytest.raises(errors.NotAllocated):
        ledger.record(
            ctx(),
            "A0001AA",
            DeallocateOfficer(officer_id=OFFICER, role="key_worker", reason="moved"),
        )
    allocate(ledger, "A0001AA")
    allocate(ledger, "A0002AA")
    with pytest.raises(errors.AlreadyAllocated):
        allocate(ledger, "A0001AA")
    ledger.record(
        ctx(),
        "A0001AA",
        DeallocateOfficer(officer_id=OFFICER, role="key_worker", reason="moved wing"),
    )
    ledger.record(
        ctx(), "A0002AA", RecordRelease(movement_reason="SC", accommodation="settled")
    )
    assert ledger.officer(OFFICER).caseload == {}
    assert ledger.case("A0001AA").officers == {}


def test_ten_concurrent_allocations_to_one_officer_with_limit_six(
    store_url: str,
) -> None:
    setup = ledger_on(store_url)
    register(setup)
    people = numbers(10)
    for number in people:
        receive(setup, number)
    stored_before = len(setup.recorder.select_notifications(1, 10_000))

    # One application per thread, as separate API workers would have.
    apps = [ledger_on(store_url) for _ in people]
    start = threading.Barrier(len(people))
    outcomes: dict[str, object] = {}

    def attempt(app: JourneyLedger, number: str) -> None:
        start.wait()
        try:
            outcomes[number] = allocate(app, number)
        except errors.DomainError as e:
            outcomes[number] = e

    threads = [
        threading.Thread(target=attempt, args=(app, number))
        for app, number in zip(apps, people, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    kinds = Counter(type(o).__name__ for o in outcomes.values())
    assert kinds == {"CommandResult": 6, "CaseloadLimitReached": 4}
    officer = setup.officer(OFFICER)
    allocated = {n for n, o in outcomes.items() if isinstance(o, CommandResult)}
    assert set(officer.caseload) == allocated
    for number in people:
        expected = {"key_worker": OFFICER} if number in allocated else {}
        assert setup.case(number).officers == expected
    # Exactly two events per successful allocation: none lost, none doubled.
    stored = setup.recorder.select_notifications(1, 10_000)
    assert len(stored) == stored_before + 12
    assert [n.id for n in stored] == list(range(1, len(stored) + 1))
    for app in [setup, *apps]:
        app.close()
