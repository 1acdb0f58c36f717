"""The register of the estate's prisons: the built-in estate, and an operator's file
of extra or overriding prisons."""

from __future__ import annotations

import json
import re
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest

from domain import errors
from domain.prisons import (
    Prison,
    PrisonCategory,
    PrisonRegister,
    PrisonRegisterError,
    PrisonType,
)
from synthetic.estate import PRISON_CODES


def write(tmp_path: Path, document: Any) -> str:
    path = tmp_path / "prisons.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_the_estate_holds_every_prison_the_ledger_already_uses() -> None:
    register = PrisonRegister.default()
    for code in (*PRISON_CODES, "LEI", "MDI", "BMI"):
        prison = register.require(code)
        assert prison.active, code
    assert register.require("LEI").name == "HMP Leeds"
    assert register.require("MDI").name == "HMP Moorland"


def test_the_estate_is_well_formed() -> None:
    register = PrisonRegister.default()
    prisons = list(register)
    assert len(prisons) > 100
    assert [p.code for p in prisons] == sorted(register.codes())
    assert all(re.fullmatch(r"[A-Z]{3}", p.code) for p in prisons)
    assert len({p.name for p in prisons}) == len(prisons)
    assert {p.type for p in prisons} == set(PrisonType)
    closed = [p for p in prisons if not p.active]
    assert closed and register.active() == [p for p in prisons if p.active]
    assert register.require("HYI").active is False  # Holloway closed; history stays


def test_an_unknown_code_is_refused_naming_it_and_how_to_add_one() -> None:
    register = PrisonRegister.default()
    assert register.find("XYZ") is None
    assert "XYZ" not in register
    with pytest.raises(errors.UnknownPrison) as refused:
        register.require("XYZ", "to_prison")
    error = refused.value
    assert isinstance(error, errors.InvalidValue)
    assert (error.code, error.field, error.rule) == ("XYZ", "to_prison", "known-prison")
    assert "XYZ" in str(error) and "LEDGER_PRISONS" in str(error)
    assert str(error).endswith("[rule: known-prison]")
    assert register.require("LEI").code == "LEI"


def test_a_prison_is_immutable_and_checked() -> None:
    prison = Prison("ABC", "HMP Example", PrisonType.HMP, PrisonCategory.C)
    assert prison.active
    with pytest.raises(FrozenInstanceError):
        prison.name = "other"  # type: ignore[misc]
    for code in ("abc", "AB", "ABCD", "ÀBC", ""):
        with pytest.raises(ValueError, match="three capital letters"):
            Prison(code, "HMP Example", PrisonType.HMP, PrisonCategory.C)
    with pytest.raises(ValueError, match="listed twice"):
        PrisonRegister([prison, prison])


def test_no_setting_is_the_estate_alone() -> None:
    default = PrisonRegister.default()
    for value in (None, "", "  "):
        assert list(PrisonRegister.from_setting(value)) == list(default)


def test_a_file_adds_prisons_and_overrides_existing_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "prisons": [
                {"code": "XYZ", "name": "HMP Example", "type": "HMP", "category": "C"},
                {
                    "code": "LEI",
                    "name": "HMP Leeds (Armley)",
                    "type": "HMP",
                    "category": "B",
                    "active": False,
                },
                {
                    "code": "QQI",
                    "name": "Example Women's Prison",
                    "type": "HMP",
                    "category": "female open",
                },
            ]
        },
    )
    register = PrisonRegister.from_setting(path)
    assert register.require("XYZ") == Prison(
        "XYZ", "HMP Example", PrisonType.HMP, PrisonCategory.C, True
    )
    assert register.require("LEI").name == "HMP Leeds (Armley)"
    assert not register.require("LEI").active
    assert register.require("QQI").category is PrisonCategory.FEMALE_OPEN
    assert register.codes() == PrisonRegister.default().codes() | {"XYZ", "QQI"}


def entry(**fields: Any) -> dict[str, Any]:
    return {"code": "XYZ", "name": "X", "type": "HMP", "category": "C", **fields}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([entry()], 'expected an object {"prisons"'),
        ({"prisons": {}}, "must be a list"),
        ({"prisons": ["XYZ"]}, "prison 1 is not an object"),
        (
            {"prisons": [{k: v for k, v in entry().items() if k != "category"}]},
            "prison 1 (XYZ) lacks: category",
        ),
        ({"prisons": [entry(actve=False)]}, "unknown keys: actve"),
        (
            {"prisons": [entry(type="JAIL")]},
            "type 'JAIL' is not one of HMP, YOI, IRC, STC",
        ),
        ({"prisons": [entry(category="E")]}, "category 'E' is not one of"),
        ({"prisons": [entry(code="xyz")]}, "'xyz' is not three capital letters"),
        ({"prisons": [entry(name=" ")]}, "needs a name"),
        ({"prisons": [entry(active="no")]}, "active must be true or false"),
        (
            {"prisons": [entry(), entry(name="Y")]},
            "prison 2 (XYZ) is listed twice",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_problem(
    tmp_path: Path, document: Any, problem: str
) -> None:
    path = write(tmp_path, document)
    with pytest.raises(PrisonRegisterError) as refused:
        PrisonRegister.from_setting(path)
    message = str(refused.value)
    assert message.startswith(f"LEDGER_PRISONS names {path}")
    assert problem in message


def test_a_missing_or_unreadable_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(PrisonRegisterError, match="cannot be read"):
        PrisonRegister.from_setting(str(missing))
    not_json = tmp_path / "prisons.json"
    not_json.write_text("{prisons: [", encoding="utf-8")
    with pytest.raises(PrisonRegisterError, match=r"prisons\.json, which is not JSON"):
        PrisonRegister.from_setting(str(not_json))
