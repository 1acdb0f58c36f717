"""Read models on each store, fed by a runner the test drives."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from domain.ledger import JourneyLedger
from projections.catalogue import all_models
from projections.database import ReadModelDatabase, open_database
from projections.queries import ReadModelQueries
from projections.runner import ProjectionRunner
from store.config import environment_for


@dataclass
class ReadModels:
    database: ReadModelDatabase
    runner: ProjectionRunner
    queries: ReadModelQueries

    def catch_up(self) -> ReadModelQueries:
        self.runner.catch_up()
        return self.queries


@pytest.fixture
def read_models(ledger: JourneyLedger, store_url: str) -> Iterator[ReadModels]:
    database = open_database(environment_for(store_url))
    runner = ProjectionRunner(ledger, database, all_models())
    yield ReadModels(database, runner, ReadModelQueries(database))
    runner.stop()
    database.close()
