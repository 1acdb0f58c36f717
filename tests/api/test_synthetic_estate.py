"""The synthetic estate: deterministic, realistic, refused on a non-empty store."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from domain.errors import DomainError
from domain.ledger import JourneyLedger
from synthetic.estate import seed_estate
from tests.ledgers import ledger_on


def decoded_stream(ledger: JourneyLedger) -> list[tuple[Any, ...]]:
    """Every event's topic, identity and data; not the record time (it is now)."""
    stream = []
    for n in ledger.recorder.select_notifications(1, 1_000_000):
        event = ledger.mapper.to_domain_event(n)
        data = {k: v for k, v in vars(event).items() if k != "timestamp"}
        stream.append((n.id, n.topic, n.originator_id, n.originator_version, data))
    return stream


def test_same_seed_same_stream_on_both_stores(
    sqlite_url: str, postgres_url: str
) -> None:
    streams = []
    for url in (sqlite_url, postgres_url):
        ledger = ledger_on(url)
        seed_estate(ledger, prisons=3, people=120, years=2, seed=7, batch_people=50)
        streams.append(decoded_stream(ledger))
        ledger.close()
    assert len(streams[0]) > 1_000
    assert streams[0] == streams[1]


def test_a_different_seed_gives_a_different_estate(tmp_path: Path) -> None:
    streams = []
    for seed in (1, 2):
        ledger = ledger_on(f"sqlite:///{tmp_path}/seed{seed}.db")
        seed_estate(ledger, prisons=2, people=30, years=1, seed=seed)
        streams.append(decoded_stream(ledger))
        ledger.close()
    assert streams[0] != streams[1]


def test_the_estate_looks_like_a_prison_estate(ledger: JourneyLedger) -> None:
    report = seed_estate(ledger, prisons=4, people=600, years=3, seed=3)
    kinds = report.by_type
    assert kinds["CaseOpened"] >= 600
    for kind in (
        "HealthScreened",
        "RiskAssessed",
        "OfficerAllocated",
        "IncidentRecorded",
        "AcctOpened",
        "DrugTestRecorded",
        "Transferred",
        "TemporaryReleaseStarted",
        "ResettlementStepRecorded",
        "ReleaseDateSet",
        "EarlyReleaseDayApproved",
        "Released",
        "EventCorrected",
    ):
        assert kinds[kind] > 0, kind
    results: Counter[str] = Counter()
    self_harm: Counter[str] = Counter()
    friday_releases = 0
    for n in ledger.recorder.select_notifications(1, 1_000_000):
        event = ledger.mapper.to_domain_event(n)
        name = type(event).__name__
        if name == "DrugTestRecorded":
            results[event.result] += 1
        elif name == "IncidentRecorded" and event.incident_type == "self_harm":
            self_harm[n.originator_id] += 1
        elif name == "Released" and event.occurred_at.weekday() == 4:
            friday_releases += 1
    positive = results["positive"] / sum(results.values())
    assert 0.06 < positive < 0.14
    assert results["refused"] > 0
    # Self-harm is clustered: a minority of people account for all of it.
    assert 0 < len(self_harm) < 0.1 * 600
    assert sum(self_harm.values()) > 2 * len(self_harm)
    assert friday_releases > 0


def test_seeding_a_non_empty_store_is_refused(ledger: JourneyLedger) -> None:
    seed_estate(ledger, prisons=1, people=5, years=1, seed=1)
    with pytest.raises(DomainError):
        seed_estate(ledger, prisons=1, people=5, years=1, seed=1)


def test_ledger_seed_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    args = ["seed", "--prisons", "2", "--people", "40", "--years", "1", "--quiet"]
    assert main(args) == 0
    assert "Seeded 40 people" in capsys.readouterr().out
    assert main(args) == 1
    assert "already holds events" in capsys.readouterr().out
