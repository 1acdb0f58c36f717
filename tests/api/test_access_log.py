"""The access log on both stores: people's reads recorded and sealed, systems' not."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.access import AccessLog, AccessLogRead, CaseRead, access_log_id
from domain.ledger import JourneyLedger
from evidence.keys import create_key_file
from projections.catalogue import READ_MODELS
from projections.rebuild import rebuild
from tests.api.conftest import Api, bearer
from tests.api.journeys import A, ledger_of, seed
from tests.api.test_queries import expected_statuses, statuses_of

MATRIX: dict[str, tuple[int, int, int, int, int, int, int]] = {
    #                       rec-in rec-out insp inv  cons admin none
    "/access-log":          (403, 403, 200, 200, 403, 403, 401),
    f"/cases/{A}":          (200, 403, 200, 200, 200, 403, 401),
}  # fmt: skip


def head(api: Api) -> int:
    return ledger_of(api).recorder.max_notification_id() or 0


def access_log(api: Api, who: str = "inspector", **params: Any) -> dict[str, Any]:
    reply = api.client.get("/access-log", params=params, headers=bearer(who))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_who_may_read_the_access_log(api: Api) -> None:
    seed(api)
    assert statuses_of(api, MATRIX) == expected_statuses(MATRIX)


def test_a_persons_read_is_recorded_sealed_and_leaves_the_case_alone(
    api: Api,
) -> None:
    seeded = seed(api)
    consumer = bearer("consumer")
    before = api.client.get(
        f"/cases/{A}", params={"min_position": seeded.position}, headers=consumer
    )
    assert head(api) == seeded.position  # a system's read is not recorded

    reply = api.client.get(
        f"/cases/{A}",
        headers={**bearer("inspector"), "X-Correlation-Id": "audit-7"},
    )
    assert reply.status_code == 200
    after = api.client.get(f"/cases/{A}", headers=consumer)
    # The read is not on the case: same version, same ETag.
    assert before.headers["ETag"] == reply.headers["ETag"] == after.headers["ETag"]

    ledger = ledger_of(api)
    read_at = head(api)
    assert read_at > seeded.position
    (stored,) = ledger.recorder.select_notifications(read_at, 1)
    assert stored.topic == CaseRead.TOPIC
    (sealed,) = ledger.recorder.select_sealed_rows(read_at - 1, 1)  # type: ignore[attr-defined]
    assert len(sealed.leaf_hash) == 32
    # The feed's cursor passes over reads: it is for journey events.
    feed = api.client.get("/feed", params={"after": seeded.position}, headers=consumer)
    assert feed.json()["items"] == []
    assert feed.json()["head"] == read_at

    logged = access_log(api, prisoner_number=A, min_position=read_at)["items"]
    assert [
        (e["reader"], e["roles"], e["kind"], e["resource"], e["correlation_id"])
        for e in logged
    ] == [("INSPECTOR_USER", ["inspector"], "case_read", "case", "audit-7")]
    assert logged[0]["position"] == read_at


def test_every_kind_of_case_read_is_recorded(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "log.key"
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(key))
    monkeypatch.delenv("LEDGER_LOG_ORIGIN", raising=False)
    create_key_file(key, "journey-ledger.example/log")
    seeded = seed(api)
    recorder, investigator = bearer("recorder"), bearer("investigator")
    reads = [
        (f"/cases/{A}", {"min_position": seeded.position}, recorder),
        (f"/cases/{A}/timeline", {}, recorder),
        (f"/cases/{A}", {"as_of": "2030-01-01"}, investigator),
        (f"/cases/{A}/export", {}, investigator),
    ]
    for path, params, headers in reads:
        reply = api.client.get(path, params=params, headers=headers)
        assert reply.status_code == 200, (path, reply.text)
    refused = [
        api.client.get(f"/cases/{A}", headers=bearer("recorder", ("BMI",))),
        api.client.get("/cases/Z9999ZZ", headers=recorder),
        api.client.get(f"/cases/{A}/timeline", headers=bearer("consumer")),
    ]
    assert [r.status_code for r in refused] == [403, 404, 403]
    logged = access_log(api, prisoner_number=A, min_position=head(api))["items"]
    assert [(e["reader"], e["resource"]) for e in logged] == [
        ("RECORDER_USER", "case"),
        ("RECORDER_USER", "timeline"),
        ("INVESTIGATOR_USER", "replay"),
        ("INVESTIGATOR_USER", "export"),
    ]


def test_reading_the_access_log_is_recorded(api: Api) -> None:
    seeded = seed(api)
    for _ in range(3):
        read = api.client.get(
            f"/cases/{A}",
            params={"min_position": seeded.position},
            headers=bearer("inspector"),
        )
        assert read.status_code == 200, read.text
    first = access_log(api, "investigator", limit=2, min_position=head(api))
    assert len(first["items"]) == 2 and first["next"] is not None
    rest = access_log(
        api,
        "investigator",
        limit=2,
        after=first["next"],
        min_position=first["position"],
    )
    kinds = [e["kind"] for e in first["items"] + rest["items"]]
    assert kinds == ["case_read", "case_read", "case_read", "access_log_read"]
    own = rest["items"][-1]
    assert (own["reader"], own["position"]) == ("INVESTIGATOR_USER", first["position"])
    assert own["filters"] == {"after": "0", "limit": "2"}
    assert own["prisoner_number"] is None
    (stored,) = ledger_of(api).recorder.select_notifications(first["position"], 1)
    assert stored.topic == AccessLogRead.TOPIC
    assert first["position"] > seeded.position
    by_reader = access_log(api, reader="NOBODY", min_position=head(api))
    assert by_reader["items"] == []
    for bad in ({"limit": 0}, {"limit": 101}, {"prisoner_number": "x"}, {"after": -1}):
        reply = api.client.get("/access-log", params=bad, headers=bearer("inspector"))
        assert reply.status_code == 422


def test_one_persons_concurrent_reads_are_all_recorded(ledger: JourneyLedger) -> None:
    positions: list[int] = []
    lock = threading.Lock()

    def read(n: int) -> None:
        for i in range(3):
            position = ledger.record_case_read(
                reader="BUSY_READER",
                roles=["inspector"],
                correlation_id=f"c-{n}-{i}",
                prisoner_number=A,
                resource="case",
            )
            with lock:
                positions.append(position)

    threads = [threading.Thread(target=read, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(positions)) == 18
    log: AccessLog = ledger.repository.get(
        access_log_id("BUSY_READER", datetime.now(UTC).date())
    )
    assert log.reads == 18
    assert log.version == 19  # opened, then one event per read


def test_the_access_log_rebuilds_to_the_same_rows(api: Api) -> None:
    seeded = seed(api)
    for who in ("inspector", "recorder", "investigator"):
        read = api.client.get(
            f"/cases/{A}",
            params={"min_position": seeded.position},
            headers=bearer(who),
        )
        assert read.status_code == 200, read.text
    access_log(api)
    services = api.client.app.state.services  # type: ignore[attr-defined]
    report = rebuild(services.ledger, services.database, list(READ_MODELS), check=True)
    assert report.differences == []
    assert report.rows["access_log"] == 4
