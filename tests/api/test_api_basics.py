"""The API's frame: auth, problem+json, idempotency, If-Match, read-your-writes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import ApiSettings
from tests.api.conftest import RECEPTION, SECRET, Api, bearer

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


def test_min_position_past_the_log_head_is_422(api: Api) -> None:
    recorder = api.as_("recorder")
    position = recorder("POST", f"/cases/{PN}/receptions", json=RECEPTION).json()[
        "position"
    ]
    for path in (f"/cases/{PN}", f"/cases/{PN}/timeline", "/cases"):
        ahead = recorder("GET", path, params={"min_position": position + 1_000})
        assert ahead.status_code == 422, (path, ahead.text)
        assert ahead.headers["content-type"] == "application/problem+json"
        assert ahead.json()["field"] == "min_position"
        mine = recorder("GET", path, params={"min_position": position})
        assert mine.status_code == 200, (path, mine.text)


def test_min_position_not_reached_in_time_is_503_not_a_stale_answer(
    store_url: str,
) -> None:
    app = create_app(
        ApiSettings(jwt_secret=SECRET, read_your_writes_timeout=0.2), url=store_url
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = bearer("recorder")
        made = client.post(f"/cases/{PN}/receptions", json=RECEPTION, headers=headers)
        first = made.json()["position"]
        assert client.get("/cases", params={"min_position": first}).status_code == 401
        seen = client.get("/cases", params={"min_position": first}, headers=headers)
        assert [c["prisoner_number"] for c in seen.json()["items"]] == [PN]
        services = app.state.services
        services.runner.stop()  # the follower stops: the read models fall behind
        services.follower.join(timeout=10)
        again = client.post(
            "/cases/B2345CD/receptions", json=RECEPTION, headers=headers
        ).json()["position"]
        for path in ("/cases/B2345CD", "/cases/B2345CD/timeline", "/cases"):
            behind = client.get(path, params={"min_position": again}, headers=headers)
            assert behind.status_code == 503, (path, behind.text)
            assert behind.headers["content-type"] == "application/problem+json"
            assert behind.headers["Retry-After"] == "1"
            assert behind.json()["type"].endswith("/read-models-behind")
            assert f"not {again} yet" in behind.json()["detail"]
