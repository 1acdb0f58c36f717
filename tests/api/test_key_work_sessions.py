"""Key work sessions over HTTP, on both stores: the route generated from the command,
the case state's last session, the feed item with its narrative withheld, and the
timeline. Synthetic data."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_commands import PN, last_position, ledger_of, received

BODY = {
    "prison": "LEI",
    "occurred_at": "2026-11-02T10:00:00+00:00",
    "officer_id": "JSMITH_GEN",
    "duration_minutes": 45,
    "held": True,
    "narrative": "Talked through the sentence plan and a family visit (synthetic).",
}


def post(api: Api, body: dict[str, Any]) -> Any:
    return api.as_("recorder")("POST", f"/cases/{PN}/key-work-sessions", json=body)


def test_a_session_is_recorded_and_shown(api: Api) -> None:
    received(ledger_of(api))
    reply = post(api, BODY)
    assert reply.status_code == 201, reply.text
    position = reply.json()["position"]
    inspector = api.as_("inspector")
    state = inspector("GET", f"/cases/{PN}", params={"min_position": position}).json()
    assert state["last_key_work_session_at"].startswith("2026-11-02T10:00:00")
    timeline = inspector("GET", f"/cases/{PN}/timeline").json()
    summaries = [e["summary"] for e in timeline["events"]]
    assert "Key work session with JSMITH_GEN (45 min)" in summaries
    feed = api.as_("consumer")("GET", "/feed", params={"limit": 100}).json()
    (item,) = [
        i
        for i in feed["items"]
        if i["eventType"] == "journey-ledger.prisoner.key-work-session-recorded"
    ]
    assert item["personReference"]["identifiers"][0]["value"] == PN
    assert "narrative" not in item["data"]
    assert "family visit" not in str(item)


def test_the_route_refuses_what_the_command_refuses(api: Api) -> None:
    received(ledger_of(api))
    before = last_position(api)
    for change, field in (
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"held": "true"}, "held"),
        ({"duration": 45}, "duration"),
    ):
        reply = post(api, {**BODY, **change})
        assert reply.status_code == 422, reply.text
        assert reply.json()["field"] == field
    assert last_position(api) == before


def test_the_openapi_document_describes_the_route(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    route = document["paths"]["/cases/{prisoner_number}/key-work-sessions"]["post"]
    assert (
        route["summary"]
        == "Record a key work session (held, or attempted and not held)."
    )
    schema = document["components"]["schemas"]["RecordKeyWorkSession"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["duration_minutes"]["maximum"] == 24 * 60
    assert schema["examples"][0]["officer_id"] == "JSMITH_GEN"
