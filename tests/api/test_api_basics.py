"""The API's frame: auth, problem+json, idempotency, If-Match, read-your-writes."""

from __future__ import annotations

from tests.api.conftest import RECEPTION, Api

PN = "A1234BC"


def test_a_reception_then_reading_it_back(api: Api) -> None:
    recorder = api.as_("recorder")
    reply = recorder("POST", f"/cases/{PN}/receptions", json=RECEPTION)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert (body["version"], body["duplicate"]) == (2, False)
    assert reply.headers["ETag"] == '"2"'
    state = recorder("GET", f"/cases/{PN}", params={"min_position": body["position"]})
    assert state.status_code == 200
    assert state.json()["status"] == "in_custody"
    assert state.headers["ETag"] == '"2"'


def test_idempotency_key_makes_a_retry_safe(api: Api) -> None:
    recorder = api.as_("recorder")
    headers = {"Idempotency-Key": "nomis-42"}
    first = recorder("POST", f"/cases/{PN}/receptions", json=RECEPTION, headers=headers)
    again = recorder("POST", f"/cases/{PN}/receptions", json=RECEPTION, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "duplicate": True}


def test_a_stale_if_match_is_412_problem_json(api: Api) -> None:
    recorder = api.as_("recorder")
    recorder("POST", f"/cases/{PN}/receptions", json=RECEPTION)
    reply = recorder(
        "POST",
        f"/cases/{PN}/receptions",
        json={**RECEPTION, "booking_no": "38413B"},
        headers={"If-Match": '"1"'},
    )
    assert reply.status_code == 412
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["current_version"] == 2


def test_refused_by_a_rule_is_409_naming_it(api: Api) -> None:
    recorder = api.as_("recorder")
    recorder("POST", f"/cases/{PN}/receptions", json=RECEPTION)
    reply = recorder(
        "POST", f"/cases/{PN}/receptions", json={**RECEPTION, "booking_no": "38413B"}
    )
    assert reply.status_code == 409
    assert reply.json()["rule"] == "one-open-booking"


def test_bad_input_is_422_naming_the_field(api: Api) -> None:
    recorder = api.as_("recorder")
    reply = recorder(
        "POST", f"/cases/{PN}/receptions", json={**RECEPTION, "movement_reason": "Q"}
    )
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["field"] == "movement_reason"
    reply = recorder("POST", "/cases/a1234bc/receptions", json=RECEPTION)
    assert reply.status_code == 422


def test_auth(api: Api) -> None:
    assert api.client.get(f"/cases/{PN}").status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert api.client.get(f"/cases/{PN}", headers=bad).status_code == 401
    consumer = api.as_("consumer")
    assert (
        consumer("POST", f"/cases/{PN}/receptions", json=RECEPTION).status_code == 403
    )
    elsewhere = api.as_("recorder", prisons=("MDI",))
    reply = elsewhere("POST", f"/cases/{PN}/receptions", json=RECEPTION)
    assert reply.status_code == 403
    assert "not in this token's caseload" in reply.json()["detail"]


def test_operations(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["lag"] is not None
    api.client.get("/healthz", headers={"X-Correlation-Id": "corr-123"})
    metrics = api.client.get("/metrics")
    assert "journey_ledger_http_requests_total" in metrics.text
    echoed = api.client.get("/healthz", headers={"X-Correlation-Id": "corr-123"})
    assert echoed.headers["X-Correlation-Id"] == "corr-123"
