"""What the stored bytes hold: old event versions upcast, encryption, snapshots."""

from __future__ import annotations

from datetime import UTC, datetime

from eventsourcing.application import project_aggregate
from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import StoredEvent

from domain.commands import (
    IncidentPerson,
    RecordResettlementStep,
)
from domain.events import RiskAssessed
from domain.ledger import JourneyLedger
from tests.ledgers import ctx, incident, ledger_on, receive

PN = "A1234BC"


def test_a_version_1_risk_assessment_loads_as_version_2(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    case = ledger.case(PN)
    # Version 1 stored the tier and its change level as one string, with no
    # class_version key (the library omits it for version 1).
    v1_state = {
        "occurred_at": datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
        "recorded_by": "TSTAFF_GEN",
        "prison": "LEI",
        "source": "legacy",
        "source_ref": None,
        "correlation_id": "corr-v1",
        "authority": None,
        "tier": "B2",
        "rosh": "high",
        "likelihood_of_reoffending": "medium",
        "assessor": "Dr Synthetic",
        "timestamp": datetime(2024, 5, 1, 10, 5, tzinfo=UTC),
    }
    ledger.recorder.insert_events(
        [
            StoredEvent(
                originator_id=case.id,
                originator_version=case.version + 1,
                topic=RiskAssessed.TOPIC,
                state=ledger.mapper.transcoder.encode(v1_state),
            )
        ]
    )
    event = list(ledger.events.get(case.id))[-1]
    assert isinstance(event, RiskAssessed)
    assert (event.tier, event.tier_change_level) == ("B", 2)
    assert ledger.case(PN).tier == "B"


def test_personal_details_and_narratives_are_unreadable_when_encrypted(
    store_url: str,
) -> None:
    def record(ledger: JourneyLedger) -> bytes:
        receive(
            ledger,
            PN,
            personal_details={"first_name": "Zebedee", "last_name": "Quibblesworth"},
        )
        ledger.record_incident(
            ctx(),
            incident(
                IncidentPerson(prisoner_number=PN, role="involved"),
                narrative="Synthetic narrative marker XYZZY.",
            ),
        )
        return b"".join(n.state for n in ledger.recorder.select_notifications(1, 100))

    plain = ledger_on(store_url)
    stored = record(plain)
    assert b"Quibblesworth" in stored and b"XYZZY" in stored
    plain.close()

    key = AESCipher.create_key(32)
    encrypted_url = store_url  # the same database: fresh tables are not needed
    ledger = ledger_on(encrypted_url, LEDGER_CIPHER_KEY=key)
    try:
        receive(
            ledger,
            "B2222BB",
            booking_no="20002B",
            personal_details={"first_name": "Ophelia", "last_name": "Zanzibarova"},
        )
        ledger.record_incident(
            ctx(),
            incident(
                IncidentPerson(prisoner_number="B2222BB", role="involved"),
                incident_ref="IR-2025-000002",
                narrative="Synthetic narrative marker PLUGH.",
            ),
        )
        notifications = ledger.recorder.select_notifications(1, 100)
        encrypted = b"".join(n.state for n in notifications[4:])
        assert b"Zanzibarova" not in encrypted and b"PLUGH" not in encrypted
        assert b"Ophelia" not in encrypted
        assert ledger.case("B2222BB").personal_details["last_name"] == "Zanzibarova"
    finally:
        ledger.close()


def test_snapshots_every_fifty_events_by_default(ledger: JourneyLedger) -> None:
    receive(ledger, PN)
    for i in range(48):
        ledger.record(
            ctx(),
            PN,
            RecordResettlementStep(
                element="family", status="in_progress", detail=f"visit {i}"
            ),
        )
    assert ledger.case(PN).version == 50
    assert ledger.snapshots is not None
    snapshots = list(ledger.snapshots.get(ledger.case(PN).id))
    assert [s.originator_version for s in snapshots] == [50]
    # A case loaded from its snapshot equals one folded from every event.
    ledger.record(
        ctx(),
        PN,
        RecordResettlementStep(
            element="id", status="done", detail="after the snapshot"
        ),
    )
    from_snapshot = ledger.case(PN)
    from_events = project_aggregate(None, ledger.events.get(from_snapshot.id))
    assert public_state(from_snapshot) == public_state(from_events)
    assert from_snapshot.resettlement == {"family": "in_progress", "id": "done"}


def public_state(aggregate: object) -> dict[str, object]:
    return {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}


def test_stored_topics_are_the_stable_names_not_module_paths(
    ledger: JourneyLedger,
) -> None:
    from domain.case import Case
    from domain.events import CASE_EVENTS, OFFICER_EVENTS
    from domain.officer import Officer

    classes = (*CASE_EVENTS.values(), *OFFICER_EVENTS.values())
    topics = [cls.TOPIC for cls in classes]
    for cls in classes:
        # Its own explicit topic, not the module path or one inherited.
        assert "TOPIC" in vars(cls), cls
        assert cls.TOPIC.startswith("journey-ledger.") and cls.__module__ not in (
            cls.TOPIC
        )
    assert len(set(topics)) == len(topics)
    assert Case.TOPIC == "journey-ledger.case:Case"
    assert Officer.TOPIC == "journey-ledger.officer:Officer"
    receive(ledger, PN)
    topics = {n.topic for n in ledger.recorder.select_notifications(1, 100)}
    assert topics == {
        "journey-ledger.case:CaseOpened",
        "journey-ledger.case:PrisonerReceived",
    }
