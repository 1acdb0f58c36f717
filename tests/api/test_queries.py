"""Queries over the read models, on both stores: every endpoint, and who may read it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from tests.api.conftest import Api, bearer
from tests.api.journeys import FIRST_NAME, NARRATIVE, OFFICER, A, B, C, seed

ROLES = (
    "recorder_in",
    "recorder_out",
    "inspector",
    "investigator",
    "consumer",
    "admin",
    "none",
)


def headers_for(who: str) -> dict[str, str]:
    if who == "none":
        return {}
    if who == "recorder_in":
        return bearer("recorder", ("LEI",))
    if who == "recorder_out":
        return bearer("recorder", ("BMI",))
    return bearer(who)


def statuses_of(api: Api, paths: Iterable[str]) -> dict[tuple[str, str], int]:
    """The status of a GET of each path by each caller of ``ROLES``."""
    return {
        (path, who): api.client.get(path, headers=headers_for(who)).status_code
        for path in paths
        for who in ROLES
    }


def expected_statuses(
    matrix: Mapping[str, Sequence[int]],
) -> dict[tuple[str, str], int]:
    """A matrix of statuses, a column for each caller of ``ROLES``, by path and
    caller."""
    return {
        (path, who): status
        for path, statuses in matrix.items()
        for who, status in zip(ROLES, statuses, strict=True)
    }


def get(api: Api, who: str, path: str, **params: Any) -> Any:
    return api.client.get(path, params=params, headers=headers_for(who))


# The expected status of every query for every caller (A is at LEI).
MATRIX: dict[str, tuple[int, int, int, int, int, int, int]] = {
    #                                   rec-in rec-out insp inv  cons admin none
    f"/cases/{A}/timeline":              (200, 403, 200, 200, 403, 403, 401),
    "/cases?prison=LEI":                 (200, 403, 200, 200, 200, 403, 401),
    f"/officers/{OFFICER}/caseload":     (200, 403, 200, 200, 403, 403, 401),
    "/prisons/LEI/roll":                 (200, 403, 200, 200, 403, 403, 401),
    "/prisons/LEI/indicators":           (200, 200, 200, 200, 200, 200, 401),
    "/league-table":                     (200, 200, 200, 200, 200, 200, 401),
    "/overdue?prison=LEI":               (200, 403, 200, 200, 403, 403, 401),
    f"/cases/{A}?as_of=2030-01-01":      (403, 403, 403, 200, 403, 403, 401),
    f"/cases/{A}?known_at=2030-01-01":   (403, 403, 403, 200, 403, 403, 401),
}  # fmt: skip


def test_who_may_read_what(api: Api) -> None:
    seeded = seed(api)
    found = {}
    for path in MATRIX:
        for who in ROLES:
            joiner = "&" if "?" in path else "?"
            reply = api.client.get(
                f"{path}{joiner}min_position={seeded.position}",
                headers=headers_for(who),
            )
            found[path, who] = reply.status_code
            if reply.status_code >= 400:
                assert reply.headers["content-type"] == "application/problem+json"
    assert found == expected_statuses(MATRIX)


def test_timeline(api: Api) -> None:
    seeded = seed(api)
    reply = get(api, "inspector", f"/cases/{A}/timeline", min_position=seeded.position)
    assert reply.status_code == 200, reply.text
    events = reply.json()["events"]
    assert [e["kind"] for e in events] == [
        "CaseOpened",
        "PrisonerReceived",
        "HealthScreened",
        "RiskAssessed",
        "IncidentRecorded",
        "OfficerAllocated",
    ]
    assert [e["case_version"] for e in events] == [1, 2, 3, 4, 5, 6]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions)
    received = events[1]
    assert received["data"]["personal_details"]["first_name"] == FIRST_NAME
    assert received["occurred_at"].startswith(seeded.received_a.date().isoformat())
    assert events[4]["data"]["narrative"] == NARRATIVE
    assert len(received["leaf_hash"]) == 64
    assert get(api, "inspector", "/cases/Z9999ZZ/timeline").status_code == 404
    assert get(api, "inspector", "/cases/bad/timeline").status_code == 422


def test_cases_by_prison_status_tier_with_a_cursor(api: Api) -> None:
    seeded = seed(api)
    at = seeded.position
    listed = get(api, "inspector", "/cases", min_position=at).json()
    assert [c["prisoner_number"] for c in listed["items"]] == [A, B, C]
    assert listed["next"] is None
    lei = get(api, "inspector", "/cases", prison="LEI").json()["items"]
    assert [c["prisoner_number"] for c in lei] == [A, B]
    tier_b = get(api, "inspector", "/cases", tier="B").json()["items"]
    assert [(c["prisoner_number"], c["tier"]) for c in tier_b] == [(A, "B")]
    custody = get(api, "inspector", "/cases", status="in_custody").json()["items"]
    assert len(custody) == 3
    assert get(api, "inspector", "/cases", status="released").json()["items"] == []

    page = get(api, "inspector", "/cases", limit=2).json()
    assert [c["prisoner_number"] for c in page["items"]] == [A, B]
    assert page["next"] == B
    rest = get(api, "inspector", "/cases", limit=2, after=page["next"]).json()
    assert [c["prisoner_number"] for c in rest["items"]] == [C]
    assert rest["next"] is None

    # A recorder without a prison sees the caseload's prisons only.
    mine = get(api, "recorder_in", "/cases").json()["items"]
    assert [c["prisoner_number"] for c in mine] == [A, B]
    for bad in ({"limit": 101}, {"limit": 0}, {"tier": "E"}, {"after": "x"}):
        assert get(api, "inspector", "/cases", **bad).status_code == 422


def test_caseload(api: Api) -> None:
    seeded = seed(api)
    reply = get(
        api, "recorder_in", f"/officers/{OFFICER}/caseload",
        min_position=seeded.position,
    )  # fmt: skip
    body = reply.json()
    assert (body["officer_id"], body["home_prison"], body["roles"]) == (
        OFFICER,
        "LEI",
        ["key_worker"],
    )
    assert [(c["prisoner_number"], c["role"]) for c in body["cases"]] == [
        (A, "key_worker")
    ]
    assert get(api, "inspector", "/officers/NOBODY_GEN/caseload").status_code == 404


def test_roll_now_and_on_a_past_day(api: Api) -> None:
    seeded = seed(api)
    now = get(api, "inspector", "/prisons/LEI/roll", min_position=seeded.position)
    assert now.json()["prisoner_numbers"] == [A, B]
    assert now.json()["count"] == 2
    day = (seeded.now - timedelta(days=10)).date().isoformat()
    then = get(api, "inspector", "/prisons/LEI/roll", on=day).json()
    assert (then["on"], then["prisoner_numbers"]) == (day, [A])
    before = (seeded.received_a - timedelta(days=1)).date().isoformat()
    assert get(api, "inspector", "/prisons/LEI/roll", on=before).json()["count"] == 0
    assert get(api, "inspector", "/prisons/MDI/roll").json()["prisoner_numbers"] == [C]
    for bad in ("13-2025", "9999-12-31", "0001-01-01"):
        assert get(api, "inspector", "/prisons/LEI/roll", on=bad).status_code == 422


def test_indicators_and_league_table(api: Api) -> None:
    seeded = seed(api)
    month = seeded.received_a.strftime("%Y-%m")
    receptions_at_lei = sum(
        1
        for t in (seeded.received_a, seeded.received_b)
        if t.strftime("%Y-%m") == month
    )
    reply = get(
        api, "consumer", "/prisons/LEI/indicators", month=month,
        min_position=seeded.position,
    )  # fmt: skip
    body = reply.json()
    assert (body["prison"], body["month"]) == ("LEI", month)
    assert body["counts"]["receptions"] == receptions_at_lei
    assert body["average_daily_population"] > 0
    table = get(api, "admin", "/league-table", month=month).json()
    assert table["month"] == month
    assert sorted(r["prison"] for r in table["prisons"]) == ["LEI", "MDI"]
    assert [r["rank"] for r in table["prisons"]] == [1, 2]
    assert get(api, "inspector", "/league-table").json()["month"]  # default: now
    for bad in ("2025-13", "0000-01", "2025-3"):
        assert get(api, "inspector", "/league-table", month=bad).status_code == 422


def test_overdue(api: Api) -> None:
    seeded = seed(api)
    reply = get(
        api, "recorder_in", "/overdue", prison="LEI", min_position=seeded.position
    )
    checks = {(c["prisoner_number"], c["check_name"]) for c in reply.json()["checks"]}
    assert (B, "initial_screening") in checks
    assert (A, "initial_screening") not in checks
    assert get(api, "inspector", "/overdue").status_code == 422


def test_case_as_of_and_known_at(api: Api) -> None:
    seeded = seed(api)
    path = f"/cases/{A}"
    now = get(api, "investigator", path, min_position=seeded.position).json()
    assert now["tier"] == "B" and now["replayed"] is None
    before_tiering = (seeded.now - timedelta(days=17)).isoformat()
    then = get(api, "investigator", path, as_of=before_tiering)
    assert then.status_code == 200, then.text
    body = then.json()
    assert (body["tier"], body["status"], body["prison"]) == (None, "in_custody", "LEI")
    assert body["version"] == 3
    assert body["replayed"]["excluded_by_as_of"] == 3
    assert body["replayed"]["latest_version"] == 6
    assert "ETag" not in then.headers
    # Naive times are UTC; a date alone is that day's midnight.
    naive = get(api, "investigator", path, as_of=before_tiering[:19]).json()
    assert naive["version"] == 3
    # Record time: nothing was recorded before the seed ran.
    early = get(api, "investigator", path, known_at="2020-01-01")
    assert early.status_code == 404
    assert "not recorded" in early.json()["detail"]
    timeline = get(api, "investigator", f"{path}/timeline").json()["events"]
    known_at = timeline[2]["recorded_at"]  # version 3, as the store stamped it
    known = get(api, "investigator", path, known_at=known_at).json()
    assert known["version"] == 3
    assert known["replayed"]["excluded_by_known_at"] == 3
    long_ago = get(api, "investigator", path, as_of="2001-01-01").status_code
    assert long_ago == 404
    assert (
        get(api, "investigator", "/cases/Z9999ZZ", as_of="2030-01-01").status_code
        == 404
    )
    for bad in ("yesterday", "0001-01-01T00:00:00+01:00", "9999-12-31"):
        assert get(api, "investigator", path, as_of=bad).status_code == 422
