"""The register of prisons over HTTP and on the command line: reads refuse a prison
it does not hold, ``GET /prisons`` lists it, and ``LEDGER_PRISONS`` extends it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.cli import main
from api.http.app import create_app
from api.settings import ApiSettings
from domain.prisons import PrisonRegisterError
from tests.api.conftest import SECRET, Api, bearer

UNKNOWN_READS = (
    "/prisons/XYZ",
    "/prisons/XYZ/roll",
    "/prisons/XYZ/roll?on=2025-06-30",
    "/prisons/XYZ/indicators?month=2025-06",
    "/cases?prison=XYZ",
    "/overdue?prison=XYZ",
)


def extra_prisons(tmp_path: Path) -> Path:
    path = tmp_path / "prisons.json"
    path.write_text(
        json.dumps(
            {
                "prisons": [
                    {
                        "code": "XYZ",
                        "name": "HMP Example",
                        "type": "HMP",
                        "category": "C",
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    return path


def test_every_read_naming_an_unknown_prison_is_404_naming_it(api: Api) -> None:
    # A recorder at LEI would be refused XYZ as outside its caseload; the prison not
    # existing is what it needs to hear.
    for who in (bearer("inspector"), bearer("recorder", ("LEI",))):
        for path in UNKNOWN_READS:
            reply = api.client.get(path, headers=who)
            assert reply.status_code == 404, path
            assert reply.headers["content-type"] == "application/problem+json"
            problem = reply.json()
            assert problem["rule"] == "known-prison", path
            assert "XYZ is not a prison in the register" in problem["detail"]
            assert "LEDGER_PRISONS" in problem["detail"]
    known = api.client.get("/prisons/HMI/roll", headers=bearer("inspector"))
    assert (known.status_code, known.json()["count"]) == (200, 0)
    listed = api.client.get("/cases?prison=HMI", headers=bearer("inspector"))
    assert (listed.status_code, listed.json()["items"]) == (200, [])


def test_the_register_is_listed_for_every_role(api: Api) -> None:
    for role in ("recorder", "inspector", "investigator", "consumer", "admin"):
        reply = api.client.get("/prisons", headers=bearer(role))
        assert reply.status_code == 200, role
    prisons = reply.json()["prisons"]
    by_code = {p["code"]: p for p in prisons}
    assert [p["code"] for p in prisons] == sorted(by_code)
    assert by_code["LEI"] == {
        "code": "LEI",
        "name": "HMP Leeds",
        "type": "HMP",
        "category": "B",
        "active": True,
    }
    assert by_code["HYI"]["active"] is False  # Holloway, closed
    open_now = api.client.get("/prisons?active=true", headers=bearer("consumer"))
    assert "HYI" not in {p["code"] for p in open_now.json()["prisons"]}
    assert "LEI" in {p["code"] for p in open_now.json()["prisons"]}
    one = api.client.get("/prisons/MDI", headers=bearer("consumer")).json()
    assert one["name"] == "HMP Moorland"
    assert api.client.get("/prisons").status_code == 401
    assert api.client.get("/prisons/leeds", headers=bearer("admin")).status_code == 422


def test_a_prison_in_the_configured_file_is_known(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_PRISONS", str(extra_prisons(tmp_path)))
    app = create_app(ApiSettings(jwt_secret=SECRET), url=sqlite_url)
    with TestClient(app, raise_server_exceptions=False) as client:
        roll = client.get("/prisons/XYZ/roll", headers=bearer("inspector"))
        assert (roll.status_code, roll.json()["count"]) == (200, 0)
        listed = client.get("/prisons", headers=bearer("inspector")).json()
        assert {"code": "XYZ", "name": "HMP Example"}.items() <= next(
            p for p in listed["prisons"] if p["code"] == "XYZ"
        ).items()
        unknown = client.get("/prisons/XQZ/roll", headers=bearer("inspector"))
        assert unknown.json()["rule"] == "known-prison"


def test_a_bad_file_stops_the_api_at_start(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "prisons.json"
    bad.write_text('{"prisons": [{"code": "XYZ"}]}', encoding="utf-8")
    monkeypatch.setenv("LEDGER_PRISONS", str(bad))
    with pytest.raises(PrisonRegisterError, match=re.escape(f"names {bad}: prison 1")):
        create_app(ApiSettings(jwt_secret=SECRET), url=sqlite_url)
    monkeypatch.setenv("LEDGER_JWT_SECRET", SECRET)
    monkeypatch.setenv("LEDGER_DATABASE_URL", sqlite_url)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert f"ledger serve: LEDGER_PRISONS names {bad}: " in err
    assert "lacks: category, name, type" in err
    assert "Traceback" not in err


def test_ledger_roll_refuses_an_unknown_prison(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", sqlite_url)
    assert main(["roll", "XYZ"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("ledger: XYZ is not a prison in the register")
    assert err.rstrip().endswith("[rule: known-prison]")
    assert main(["roll", "XYZ", "--on", "2025-06-30"]) == 1
    capsys.readouterr()
    monkeypatch.setenv("LEDGER_PRISONS", str(extra_prisons(tmp_path)))
    assert main(["roll", "XYZ"]) == 0
    assert capsys.readouterr().out == "XYZ roll now: 0\n"
    monkeypatch.setenv("LEDGER_PRISONS", str(tmp_path / "missing.json"))
    assert main(["roll", "LEI"]) == 2
    assert "LEDGER_PRISONS names" in capsys.readouterr().err


def test_ledger_token_refuses_an_unknown_prison_in_its_caseload(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEDGER_JWT_SECRET", SECRET)
    assert main(["token", "--role", "recorder", "--prisons", "LEI,XYZ"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("ledger: XYZ is not a prison in the register")
    assert main(["token", "--role", "recorder", "--prisons", "LEI,MDI"]) == 0
