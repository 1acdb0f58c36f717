"""Identifiers: prisoner numbers, prison codes, officer ids, references, and the
aggregate ids derived from them.

Each value type is a ``str`` checked against its pattern once, at the edge of the
domain; events store the plain string.
"""

from __future__ import annotations

import re
from typing import ClassVar
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

    def __new__(cls, value: str) -> _Identifier:
        if not isinstance(value, str) or not cls.pattern.fullmatch(value):
            raise InvalidValue(
                cls.field, f"{value!r} is not a {cls.field} (e.g. {cls.example})"
            )
        return super().__new__(cls, value)


class PrisonerNumber(_Identifier):
    pattern = re.compile(r"[A-Z]\d{4}[A-Z]{2}")
    example = "A1234BC"
    field = "prisoner number"


class PrisonCode(_Identifier):
    pattern = re.compile(r"[A-Z]{3}")
    example = "LEI"
    field = "prison code"


class OfficerId(_Identifier):
    """A staff user id, as prison systems spell them (e.g. ``JSMITH_GEN``)."""

    pattern = re.compile(r"[A-Z][A-Z0-9_]{1,29}")
    example = "JSMITH_GEN"
    field = "officer id"


class BookingNumber(_Identifier):
    pattern = re.compile(r"\d{5}[A-Z]")
    example = "38412A"
    field = "booking number"


class IncidentReference(_Identifier):
    pattern = re.compile(r"IR-\d{4}-\d{6}")
    example = "IR-2025-000123"
    field = "incident reference"


class DrugTestReference(_Identifier):
    pattern = re.compile(r"MDT-[A-Z]{3}-\d{6}")
    example = "MDT-LEI-000123"
    field = "drug test reference"


def case_id(prisoner_number: str) -> UUID:
    """The Case aggregate id for a prisoner number: uuid5, so two first receptions of
    one number collide on version 1 instead of opening two cases."""
    return uuid5(CASE_NAMESPACE, prisoner_number)


def officer_aggregate_id(officer_id: str) -> UUID:
    return uuid5(OFFICER_NAMESPACE, officer_id)
