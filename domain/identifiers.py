"""Identifiers: prisoner numbers, prison codes, officer ids, references, and the
aggregate ids derived from them.

Each value type is a ``str`` checked against its pattern once, at the edge of the
domain; events store the plain string. Patterns are ASCII only, because a regular
expression's digit class matches every script's digits: a prisoner number written with
Arabic-Indic digits must never reach the record, or the feed as a NOMS identifier.
Each pattern is written once, here, in a form that Python and the HTTP edge's JSON
Schema read alike.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self
from uuid import UUID, uuid5

from domain.errors import InvalidValue

CASE_NAMESPACE = UUID("6f1c2a4e-5b7d-5e0a-9c3b-2d4e6f8a0b1c")
"""Fixed namespace for case ids. Never change it: stored case ids derive from it."""

OFFICER_NAMESPACE = UUID("0b8e7d6c-3a2f-5e1d-8c4b-9a7f6e5d4c3b")
"""Fixed namespace for officer ids. Never change it."""


class _Identifier(str):
    pattern: ClassVar[re.Pattern[str]]
    example: ClassVar[str]
    field: ClassVar[str]

    def __new__(cls, value: str) -> Self:
        return cls.check(cls.field, value)

    @classmethod
    def check(cls, field: str, value: Any) -> Self:
        if not isinstance(value, str) or not cls.pattern.fullmatch(value):
            raise InvalidValue(
                field, f"{value!r} is not a {cls.field} (e.g. {cls.example})"
            )
        return str.__new__(cls, value)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {
            "type": "string",
            "pattern": f"^{cls.pattern.pattern}$",
            "examples": [cls.example],
        }


class PrisonerNumber(_Identifier):
    pattern = re.compile(r"[A-Z][0-9]{4}[A-Z]{2}", re.ASCII)
    example = "A1234BC"
    field = "prisoner number"


class PrisonCode(_Identifier):
    pattern = re.compile(r"[A-Z]{3}", re.ASCII)
    example = "LEI"
    field = "prison code"


class OfficerId(_Identifier):
    """A staff user id, as prison systems spell them (e.g. ``JSMITH_GEN``)."""

    pattern = re.compile(r"[A-Z][A-Z0-9_]{1,29}", re.ASCII)
    example = "JSMITH_GEN"
    field = "officer id"


class BookingNumber(_Identifier):
    pattern = re.compile(r"[0-9]{5}[A-Z]", re.ASCII)
    example = "38412A"
    field = "booking number"


class IncidentReference(_Identifier):
    pattern = re.compile(r"IR-[0-9]{4}-[0-9]{6}", re.ASCII)
    example = "IR-2025-000123"
    field = "incident reference"


class DrugTestReference(_Identifier):
    pattern = re.compile(r"MDT-[A-Z]{3}-[0-9]{6}", re.ASCII)
    example = "MDT-LEI-000123"
    field = "drug test reference"


def case_id(prisoner_number: str) -> UUID:
    """The Case aggregate id for a prisoner number: uuid5, so two first receptions of
    one number collide on version 1 instead of opening two cases."""
    return uuid5(CASE_NAMESPACE, prisoner_number)


def officer_aggregate_id(officer_id: str) -> UUID:
    return uuid5(OFFICER_NAMESPACE, officer_id)
