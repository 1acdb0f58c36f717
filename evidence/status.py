"""What the configured store holds: its size and the root of its Merkle log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import InfrastructureFactory

from store.config import environment_for
from store.merkle import Frontier


@dataclass(frozen=True)
class StoreStatus:
    module: str
    frontier: Frontier

    def __str__(self) -> str:
        return (
            f"store:  {self.module}\n"
            f"events: {self.frontier.size}\n"
            f"root:   {self.frontier.root().hex()}"
        )


def describe_store(url: str | None = None) -> StoreStatus:
    """Open the store ``url`` names (default: LEDGER_DATABASE_URL) and read its seal."""
    env = environment_for(url)
    factory: Any = InfrastructureFactory.construct(env)
    try:
        frontier = factory.application_recorder().frontier()
    finally:
        factory.close()
    return StoreStatus(module=env["PERSISTENCE_MODULE"], frontier=frontier)
