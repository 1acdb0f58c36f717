"""The feed and its stream on both stores: order, cursor, envelope, nothing personal."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.cli import main
from api.http.app import create_app
from api.http.routers import feed as feed_module
from api.http.routers.feed import EVENT_TYPE_OF_TOPIC, follower_threads, resume_from
from api.settings import ApiConfigurationError, ApiSettings
from domain.commands import CorrectEvent, DeallocateOfficer
from domain.errors import InvalidValue
from domain.events import CASE_EVENTS, OFFICER_EVENTS, PrisonerReceived
from tests.api.conftest import RECEPTION, SECRET, Api, bearer
from tests.api.journeys import (
    FIRST_NAME,
    NARRATIVE,
    OFFICER,
    A,
    ledger_of,
    seed,
)
from tests.api.test_queries import expected_statuses, statuses_of
from tests.ledgers import ctx

MATRIX: dict[str, tuple[int, int, int, int, int, int, int]] = {
    #                          rec-in rec-out insp inv  cons admin none
    "/feed":                   (403, 403, 200, 200, 200, 403, 401),
    "/feed/stream?limit=1":    (403, 403, 200, 200, 200, 403, 401),
}  # fmt: skip


def feed(api: Api, **params: Any) -> dict[str, Any]:
    reply = api.client.get("/feed", params=params, headers=bearer("consumer"))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def sse(text: str) -> list[dict[str, str]]:
    """Parse server-sent events (id, event, data), ignoring comments."""
    events = []
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if fields:
            events.append(fields)
    return events


def stream(api: Api, headers: dict[str, str] | None = None, **params: Any) -> Any:
    return api.client.get(
        "/feed/stream",
        params=params,
        headers={**bearer("consumer"), **(headers or {})},
    )


def test_every_event_class_has_a_stable_event_type() -> None:
    classes = [*CASE_EVENTS.values(), *OFFICER_EVENTS.values()]
    assert set(EVENT_TYPE_OF_TOPIC) == {cls.TOPIC for cls in classes}
    names = [cls.FEED_TYPE for cls in classes]
    assert len(set(names)) == len(names)
    assert all(n.startswith("journey-ledger.") for n in names)
    assert PrisonerReceived.FEED_TYPE == "journey-ledger.prisoner.received"


def test_who_may_read_the_feed(api: Api) -> None:
    seed(api)
    assert statuses_of(api, MATRIX) == expected_statuses(MATRIX)


def test_pages_in_log_order_with_a_cursor(api: Api) -> None:
    seeded = seed(api)
    whole = feed(api, limit=1000)
    positions = [i["position"] for i in whole["items"]]
    assert positions == list(range(1, seeded.position + 1))
    assert whole["next"] == whole["head"] == seeded.position

    paged: list[dict[str, Any]] = []
    after = 0
    while True:
        page = feed(api, after=after, limit=3)
        assert len(page["items"]) <= 3
        paged.extend(page["items"])
        if page["next"] == after:
            break
        assert page["next"] > after  # never backwards
        after = page["next"]
    assert paged == whole["items"]
    assert feed(api, after=seeded.position)["items"] == []
    assert feed(api, after=seeded.position)["next"] == seeded.position
    for bad in ({"limit": 0}, {"limit": 1001}, {"after": -1}):
        reply = api.client.get("/feed", params=bad, headers=bearer("consumer"))
        assert reply.status_code == 422


def test_items_are_hmpps_domain_events(api: Api) -> None:
    seed(api)
    items = feed(api, limit=1000)["items"]
    by_type = {}
    for item in items:
        by_type.setdefault(item["eventType"], item)
    received = by_type["journey-ledger.prisoner.received"]
    assert received["version"] == 1
    assert received["personReference"] == {
        "identifiers": [{"type": "NOMS", "value": A}]
    }
    assert received["detailUrl"].endswith(f"/cases/{A}")
    assert received["caseVersion"] == 2
    assert received["data"]["booking_no"] == "38412A"
    assert received["additionalInformation"]["prisonId"] == "LEI"
    assert received["description"].startswith("Received into LEI")
    assert {"occurredAt", "recordedAt", "position"} <= set(received)
    assert by_type["journey-ledger.prisoner.risk-assessed"]["version"] == 2

    allocated = by_type["journey-ledger.officer.case-allocated"]
    assert allocated["personReference"]["identifiers"][0]["value"] == A
    assert allocated["caseVersion"] is None
    registered = by_type["journey-ledger.officer.registered"]
    assert registered["personReference"] is None
    assert registered["detailUrl"].endswith(f"/officers/{OFFICER}/caseload")
    assert "name" not in registered["data"]


def test_no_personal_details_or_narratives_for_anyone(api: Api) -> None:
    seeded = seed(api)
    ledger_of(api).record(
        ctx(),
        A,
        CorrectEvent(
            version=2,
            reason="name misspelt",
            corrected_fields={
                "personal_details": {
                    "first_name": "Alexandrina",
                    "last_name": "Example",
                },
                "sentence_days": 720,
            },
        ),
    )
    for who in ("consumer", "inspector", "investigator"):
        text = api.client.get("/feed", params={"limit": 1000}, headers=bearer(who)).text
        streamed = stream(api, after=0, limit=seeded.position + 1).text
        for secret in (FIRST_NAME, "Alexandrina", NARRATIVE, "Jo Smith"):
            assert secret not in text and secret not in streamed
        for item in json.loads(text)["items"]:
            assert not {"personal_details", "narrative"} & set(item["data"])
    corrected = feed(api, limit=1000)["items"][-1]
    assert corrected["eventType"] == "journey-ledger.prisoner.event-corrected"
    assert corrected["data"]["corrected_fields"] == {"sentence_days": 720}


def test_stream_sends_the_feed_and_resumes_from_last_event_id(api: Api) -> None:
    seeded = seed(api)
    reply = stream(api, after=0, limit=5)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = sse(reply.text)
    items = feed(api, limit=5)["items"]
    assert [e["id"] for e in events] == [str(i["position"]) for i in items]
    assert [e["event"] for e in events] == [i["eventType"] for i in items]
    assert [json.loads(e["data"]) for e in events] == items

    resumed = sse(stream(api, {"Last-Event-ID": "3"}, after=0, limit=2).text)
    assert [e["id"] for e in resumed] == ["4", "5"]
    tail = sse(stream(api, after=seeded.position - 1, limit=1).text)
    assert [e["id"] for e in tail] == [str(seeded.position)]
    bad = stream(api, {"Last-Event-ID": "not-a-number"}, limit=1)
    assert bad.status_code == 422


def test_stream_is_woken_by_new_events(api: Api) -> None:
    seeded = seed(api)
    got: list[dict[str, str]] = []

    def listen() -> None:
        got.extend(sse(stream(api, after=seeded.position, limit=2).text))

    listener = threading.Thread(target=listen)
    listener.start()
    recorder = api.as_("recorder")
    reply = recorder("POST", "/cases/D4567EF/receptions", json=RECEPTION)
    assert reply.status_code == 201
    listener.join(timeout=20)
    assert not listener.is_alive()
    assert [e["event"] for e in got] == [
        "journey-ledger.case.opened",
        "journey-ledger.prisoner.received",
    ]
    assert got[1]["id"] == str(reply.json()["position"])


def test_stream_stops_when_the_client_goes_away(api: Api) -> None:
    seed(api)
    with api.client.stream("GET", "/feed/stream", headers=bearer("inspector")) as reply:
        assert reply.status_code == 200
        first = next(line for line in reply.iter_lines() if line.startswith("id:"))
        assert first == "id: 1"
    for thread in follower_threads():
        thread.join(timeout=10)
    assert follower_threads() == []


# --- the cursor -----------------------------------------------------------------------


def refusal(reply: Any) -> dict[str, Any]:
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = reply.json()
    return body


def test_a_cursor_past_the_head_is_refused_naming_the_head(api: Api) -> None:
    head = seed(api).position
    consumer = bearer("consumer")
    for past in (head + 1, 9000):
        problem = refusal(
            api.client.get("/feed", params={"after": past}, headers=consumer)
        )
        assert problem["field"] == "after"
        assert problem["detail"] == (
            f"after {past} is past the log's last position ({head})"
        )
        problem = refusal(stream(api, after=past, limit=1))
        assert problem["detail"] == (
            f"after {past} is past the log's last position ({head})"
        )
        problem = refusal(stream(api, {"Last-Event-ID": str(past)}, limit=1))
        assert problem["field"] == "Last-Event-ID"
        assert problem["detail"] == (
            f"Last-Event-ID {past} is past the log's last position ({head})"
        )
    at_head = feed(api, after=head)
    assert (at_head["items"], at_head["next"], at_head["head"]) == ([], head, head)
    # Last-Event-ID wins over after, so a good one is not refused for a bad after.
    resumed = stream(api, {"Last-Event-ID": str(head - 1)}, after=9000, limit=1)
    assert [e["id"] for e in sse(resumed.text)] == [str(head)]
    assert feed(api, limit=1000)["head"] == head  # nothing was recorded


def test_a_last_event_id_of_non_ascii_digits_is_refused(api: Api) -> None:
    # A server hands the header's raw byte 0xB2 over as "²", a digit to str.isdigit
    # but not to int(); the test client re-encodes it as UTF-8 on the way, so the
    # stream's dependency is called as the server would call it.
    found = api.client.app.state.services  # type: ignore[attr-defined]
    with pytest.raises(InvalidValue, match="Last-Event-ID must be a position"):
        resume_from(found, None, "\u00b2")


# --- links ----------------------------------------------------------------------------


EVIL = {"Host": "evil.example"}


def links(items: list[dict[str, Any]]) -> dict[str, str]:
    """The first link of each event type, so the received item is A's reception."""
    found: dict[str, str] = {}
    for item in items:
        found.setdefault(item["eventType"], item["detailUrl"])
    return found


def test_links_are_relative_and_never_follow_the_host_header(api: Api) -> None:
    seed(api)
    reply = api.client.get(
        "/feed", params={"limit": 1000}, headers={**bearer("consumer"), **EVIL}
    )
    paged = reply.json()["items"]
    streamed = [
        json.loads(e["data"]) for e in sse(stream(api, EVIL, limit=len(paged)).text)
    ]
    for items in (paged, streamed):
        found = links(items)
        assert found["journey-ledger.prisoner.received"] == f"/cases/{A}"
        assert found["journey-ledger.officer.registered"] == (
            f"/officers/{OFFICER}/caseload"
        )
        assert all(i["detailUrl"].startswith(("/cases/", "/officers/")) for i in items)


@pytest.fixture
def published(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The API as ``ledger serve`` configures it, with LEDGER_PUBLIC_URL set."""
    monkeypatch.setenv("LEDGER_JWT_SECRET", SECRET)
    monkeypatch.delenv("LEDGER_JWT_PUBLIC_KEY", raising=False)
    monkeypatch.setenv("LEDGER_PUBLIC_URL", "https://ledger.example.gov.uk/")
    app = create_app(ApiSettings.from_environment(), url=store_url)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client)


def test_links_start_at_the_configured_public_url(published: Api) -> None:
    seed(published)
    reply = published.client.get(
        "/feed", params={"limit": 1000}, headers={**bearer("consumer"), **EVIL}
    )
    found = links(reply.json()["items"])
    assert found["journey-ledger.prisoner.received"] == (
        f"https://ledger.example.gov.uk/cases/{A}"
    )
    assert found["journey-ledger.officer.registered"] == (
        f"https://ledger.example.gov.uk/officers/{OFFICER}/caseload"
    )
    assert all(
        i["detailUrl"].startswith("https://ledger.example.gov.uk/")
        for i in reply.json()["items"]
    )


BAD_PUBLIC_URLS = (
    "ledger.example.gov.uk",
    "ftp://ledger.example.gov.uk",
    "https://ledger.example.gov.uk/?consumer=1",
    "https://ledger.example.gov.uk/#feed",
    "https://someone:secret@ledger.example.gov.uk",
    "https://ledger.example.gov.uk:port",
    " https://ledger.example.gov.uk",
)


@pytest.mark.parametrize("value", BAD_PUBLIC_URLS)
def test_a_bad_public_url_stops_start_up(
    value: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def never_serve(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"ledger serve started with LEDGER_PUBLIC_URL={value!r}")

    monkeypatch.setattr(uvicorn, "run", never_serve)
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.setenv("LEDGER_JWT_SECRET", SECRET)
    monkeypatch.delenv("LEDGER_JWT_PUBLIC_KEY", raising=False)
    monkeypatch.setenv("LEDGER_PUBLIC_URL", value)
    with pytest.raises(ApiConfigurationError, match="set it to the absolute http"):
        ApiSettings.from_environment()
    assert main(["serve"]) == 1
    said = capsys.readouterr().err
    assert f"LEDGER_PUBLIC_URL {value!r}" in said
    assert "https://ledger.example.gov.uk" in said


# --- officers -------------------------------------------------------------------------


def test_officer_items_name_the_officer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(api)
    ledger = ledger_of(api)
    ledger.record(
        ctx(),
        A,
        DeallocateOfficer(officer_id=OFFICER, role="key_worker", reason="moved wings"),
    )
    items = feed(api, limit=1000)["items"]
    officer_side = {
        i["eventType"]: i
        for i in items
        if i["eventType"].startswith("journey-ledger.officer.")
    }
    allocated = officer_side["journey-ledger.officer.case-allocated"]
    deallocated = officer_side["journey-ledger.officer.case-deallocated"]
    for item in officer_side.values():
        assert item["additionalInformation"]["officerId"] == OFFICER
    assert allocated["description"] == (
        f"{A} allocated to officer {OFFICER}'s caseload as key_worker"
    )
    assert deallocated["description"] == (
        f"{A} deallocated from officer {OFFICER}'s caseload as key_worker"
    )

    # A fresh process knows no officer: a consumer resuming right at an officer's
    # item (its registration and the case's side of the allocation are behind the
    # cursor) still gets the officer, from the store.
    position = deallocated["position"]
    monkeypatch.setattr(feed_module, "_officers", feed_module.Learned(10))
    (resumed,) = feed(api, after=position - 1, limit=1)["items"]
    assert resumed["additionalInformation"]["officerId"] == OFFICER
    monkeypatch.setattr(feed_module, "_officers", feed_module.Learned(10))
    (streamed,) = sse(stream(api, after=position - 1, limit=1).text)
    assert json.loads(streamed["data"])["additionalInformation"]["officerId"] == OFFICER

    # Once learned, naming the officer again costs no read of the store.
    reads: list[Any] = []
    select_events = ledger.recorder.select_events

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return select_events(*args, **kwargs)

    monkeypatch.setattr(ledger.recorder, "select_events", counted)
    assert feed(api, limit=1000)["items"] == items
    assert reads == []
