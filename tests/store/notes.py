"""A store-agnostic aggregate, to drive the store through eventsourcing's Application.

The store knows nothing of prisons, so its tests use the smallest aggregate that has
what matters here: an id derived from a name (as a Case's is from a prisoner number),
so that opening the same name twice collides on version 1.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from store.config import environment_for


class Note(Aggregate):
    @staticmethod
    def create_id(name: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"note:{name}")

    @event("Opened")
    def __init__(self, name: str, text: str = "") -> None:
        self.name = name
        self.text = text

    @event("Amended")
    def amend(self, text: str) -> None:
        self.text = text


class Notes(Application[UUID]):
    pass


def notes_app(url: str, **settings: str) -> Notes:
    """An Application on the store that ``url`` names (extra env settings allowed)."""
    env: dict[str, Any] = environment_for(url) | settings
    return Notes(env=env)
