"""The console's pages through the app (no browser): who may see what, what each
page shows, and that bad input gets a page that explains, never a 500."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.settings import ApiSettings
from domain.commands import CorrectEvent, MergeCases, OpenAcct
from tests.console.conftest import SECRET, Estate, sign_in, token
from tests.ledgers import ctx, receive


def merged_number(estate: Estate) -> tuple[str, str]:
    """A duplicate record merged into a case in custody: (retired, survivor)."""
    survivor = case_at(estate, status="in_custody")["prisoner_number"]
    retired = "Z0001ZZ"
    receive(estate.services.ledger, retired)
    results = estate.services.ledger.execute(
        ctx(), retired, MergeCases(survivor_number=survivor)
    )
    estate.services.runner.wait_for(max(r.position or 0 for r in results), 5)
    return retired, survivor


def case_at(estate: Estate, prison: str = "LEI", **wanted: Any) -> dict[str, Any]:
    rows = estate.services.queries.cases(prison=prison, limit=10_000)
    return next(r for r in rows if all(r[k] == v for k, v in wanted.items()))


def test_without_a_cookie_every_page_sends_you_to_sign_in(console: TestClient) -> None:
    for path in (
        "/console",
        "/console/cases/A1234BC",
        "/console/prisons/LEI",
        "/console/league-table",
        "/console/access-log",
    ):
        reply = console.get(path, follow_redirects=False)
        assert reply.status_code == 303
        assert reply.headers["location"].startswith("/console/sign-in?next=")


def test_sign_in_keeps_the_token_in_an_http_only_cookie(console: TestClient) -> None:
    reply = console.post(
        "/console/sign-in",
        data={"token": token("inspector"), "next": "/console/league-table"},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    assert reply.headers["location"] == "/console/league-table"
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert console.get("/console/league-table").status_code == 200


def test_a_bad_token_is_refused_at_sign_in(console: TestClient) -> None:
    reply = console.post("/console/sign-in", data={"token": "not.a.token"})
    assert reply.status_code == 401
    assert "does not verify" in reply.text
    assert "set-cookie" not in reply.headers
    huge = console.post("/console/sign-in", data={"token": "x" * 9_000})
    assert huge.status_code == 422
    assert "invalid: token" in huge.text
    assert huge.headers["content-type"].startswith("text/html")


def test_consumer_and_admin_tokens_cannot_open_the_console(console: TestClient) -> None:
    for role in ("consumer", "admin"):
        reply = console.post("/console/sign-in", data={"token": token(role)})
        assert reply.status_code == 403
        assert "set-cookie" not in reply.headers
        console.cookies.set("ledger_console", token(role), path="/console")
        assert console.get("/console/cases").status_code == 403
        console.cookies.clear()


def test_sign_in_never_redirects_off_the_console(console: TestClient) -> None:
    for target in ("https://elsewhere.example/", "//elsewhere.example", "/docs"):
        reply = console.post(
            "/console/sign-in",
            data={"token": token("inspector"), "next": target},
            follow_redirects=False,
        )
        assert reply.headers["location"] == "/console"


def test_a_merged_number_opens_the_surviving_case(
    console: TestClient, estate: Estate
) -> None:
    retired, survivor = merged_number(estate)
    sign_in(console, "inspector")
    reply = console.get(f"/console/cases?number={retired.lower()}")
    assert reply.status_code == 200
    assert reply.url.path == f"/console/cases/{survivor}"
    assert f"{retired} was merged into this case" in reply.text


def test_the_case_page_shows_every_event_with_a_proof_mark(
    console: TestClient, estate: Estate
) -> None:
    case = case_at(estate, status="in_custody")
    number = case["prisoner_number"]
    sign_in(console, "inspector")
    page = console.get(f"/console/cases/{number}").text
    timeline = estate.services.queries.timeline(number)
    assert len(timeline) == case["version"]
    for row in timeline:
        assert f'id="v{row["case_version"]}"' in page
        assert f"#{row['position']}" in page
    assert page.count('class="mark proved"') == len(timeline)
    assert "signed by journey-ledger" in page


def test_an_event_after_the_checkpoint_is_marked_pending(
    console: TestClient, estate: Estate
) -> None:
    case = case_at(estate, status="in_custody", acct_open=False)
    number = case["prisoner_number"]
    result = estate.services.ledger.record(
        ctx(), number, OpenAcct(triggers=["low mood"])
    )
    estate.services.runner.wait_for(result.position, 5)
    sign_in(console, "inspector")
    page = console.get(f"/console/cases/{number}").text
    assert page.count('class="mark proved"') == case["version"]
    assert page.count('class="mark pending"') == result.version - case["version"]


def test_corrections_link_to_what_they_correct(
    console: TestClient, estate: Estate
) -> None:
    # A risk assessment keyed with the wrong tier, corrected.
    case = next(
        r
        for r in estate.services.queries.cases(prison="LEI", status="in_custody")
        if any(
            e["kind"] == "RiskAssessed"
            for e in estate.services.queries.timeline(r["prisoner_number"])
        )
    )
    number = case["prisoner_number"]
    assessed = next(  # the latest, so its tier is the case's tier
        e
        for e in reversed(estate.services.queries.timeline(number))
        if e["kind"] == "RiskAssessed"
    )
    tier = "A" if case["tier"] != "A" else "B"
    result = estate.services.ledger.record(
        ctx(),
        number,
        CorrectEvent(
            version=assessed["case_version"],
            reason="keyed against the wrong assessment",
            corrected_fields={"tier": tier},
        ),
    )
    estate.services.runner.wait_for(result.position or 0, 5)
    sign_in(console, "inspector")
    page = console.get(f"/console/cases/{number}").text
    corrected = assessed["case_version"]
    assert f'Corrects <a href="#v{corrected}">version {corrected}</a>' in page
    assert (
        f'Corrected by <a href="#v{result.version}">version {result.version}</a>'
    ) in page
    assert f'<dd data-field="tier">{tier}</dd>' in page


def test_opening_a_case_is_recorded_in_the_access_log(
    console: TestClient, estate: Estate
) -> None:
    number = case_at(estate)["prisoner_number"]
    console.post(
        "/console/sign-in",
        data={"token": token("inspector", user="AUDITOR_ONE")},
    )
    console.get(f"/console/cases/{number}")
    page = console.get("/console/access-log?reader=AUDITOR_ONE").text
    assert f'<a href="/console/cases/{number}">{number}</a>' in page
    assert "timeline" in page


def test_replay_and_bundles_need_the_investigator_role(
    console: TestClient, estate: Estate
) -> None:
    number = case_at(estate)["prisoner_number"]
    sign_in(console, "inspector")
    page = console.get(f"/console/cases/{number}").text
    assert "need the investigator role" in page
    assert 'name="as_of"' not in page
    assert console.get(f"/console/cases/{number}?as_of=2025-01-01").status_code == 403
    assert console.get(f"/console/cases/{number}/bundle").status_code == 403


def test_a_recorder_sees_only_its_caseload(console: TestClient, estate: Estate) -> None:
    elsewhere = case_at(estate, prison="MDI")["prisoner_number"]
    sign_in(console, "recorder", ("LEI",))
    assert console.get(f"/console/cases/{elsewhere}").status_code == 403
    assert console.get("/console/prisons/MDI").status_code == 403
    assert console.get("/console/prisons/LEI").status_code == 200
    assert console.get("/console/access-log").status_code == 403
    listing = console.get("/console/cases?status=in_custody").text
    assert "<td>MDI</td>" not in listing and "<td>LEI</td>" in listing


def test_the_prison_page_draws_its_charts_and_caseloads(
    console: TestClient, estate: Estate
) -> None:
    sign_in(console, "inspector")
    page = console.get("/console/prisons/LEI?month=2026-10").text
    assert page.count('<svg id="chart-') == 5
    roll = estate.services.queries.roll("LEI")
    assert f'<span id="roll-count">{len(roll)}</span>' in page
    over = estate.services.queries.over_limit_allocations("LEI")
    assert page.count('<tr class="over-limit"><td>') == len(over)


def test_a_prison_not_in_the_register_is_a_404_page(console: TestClient) -> None:
    sign_in(console, "recorder", ("LEI",))
    for path in ("/console/prisons/XYZ", "/console/cases?prison=XYZ"):
        reply = console.get(path)
        assert reply.status_code == 404, path
        assert reply.headers["content-type"].startswith("text/html")
        assert "XYZ is not a prison in the register" in reply.text, path
    page = console.get("/console/prisons/LEI").text
    assert '<p id="prison-name">HMP Leeds (HMP, category B)</p>' in page


def test_bad_input_gets_a_page_that_says_what_was_wrong(console: TestClient) -> None:
    sign_in(console, "investigator", ("LEI",))
    for path, status, words in (
        ("/console/cases?number=NOTANUMBER", 422, "not a valid prisoner number"),
        ("/console/cases?number=Z9999ZZ", 404, "no case for Z9999ZZ"),
        ("/console/cases?status=asleep", 422, "is not a status"),
        ("/console/prisons/leeds", 422, "not a valid prison code"),
        ("/console/prisons/LEI?month=2026-13", 422, "not a valid month"),
        ("/console/league-table?month=x", 422, "not a valid month"),
        ("/console/cases/Z9999ZZ", 404, "no case for Z9999ZZ"),
    ):
        reply = console.get(path)
        assert reply.status_code == status, path
        assert words in reply.text, path
        assert reply.headers["content-type"].startswith("text/html")


def test_a_page_says_when_the_read_models_are_behind(estate: Estate) -> None:
    # A short bound, so the page is shown (not held) once the follower has stopped.
    estate.app.state.settings = ApiSettings(
        jwt_secret=SECRET, read_your_writes_timeout=0.1
    )
    with TestClient(estate.app, raise_server_exceptions=False) as console:
        sign_in(console, "inspector")
        assert 'id="behind"' not in console.get("/console/prisons").text
        estate.services.runner.stop()
        assert estate.services.follower is not None
        estate.services.follower.join(timeout=10)
        number = case_at(estate, status="in_custody", acct_open=False)[
            "prisoner_number"
        ]
        estate.services.ledger.record(ctx(), number, OpenAcct(triggers=["low mood"]))
        page = console.get(f"/console/cases/{number}")
        assert page.status_code == 200
        assert 'id="behind"' in page.text
        assert "1 event behind the log (at position" in page.text
