"""Identifiers: prisoner numbers, prison codes, officer ids, and the ids derived from them."""

from __future__ import annotations

import re
from uuid import UUID, uuid5

CASE_NAMESPACE = UUID("6f1c2a4e-5b7d-5e0a-9c3b-2d4e6f8a0b1c")
"""Fixed namespace for case ids. Never change it: every stored case id derives from it."""

OFFICER_NAMESPACE = UUID("0b8e7d6c-3a2f-5e1d-8c4b-9a7f6e5d4c3b")
"""Fixed namespace for officer ids. Never change it."""

PRISONER_NUMBER = re.compile(r"^[A-Z]\d{4}[A-Z]{2}$")


def case_id(prisoner_number: str) -> UUID:
    """The Case aggregate id for a prisoner number: uuid5, so two first receptions of
    one number collide on version 1 instead of opening two cases."""
    return uuid5(CASE_NAMESPACE, prisoner_number)
