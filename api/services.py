"""What the API's routes use: the ledger, the read models and their follower."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from fastapi import Request

from domain.ledger import JourneyLedger
from projections.catalogue import all_models
from projections.database import ReadModelDatabase, open_database
from projections.queries import ReadModelQueries
from projections.runner import ProjectionRunner
from store.config import environment_for

SERVER_POOL = {"POSTGRES_POOL_SIZE": "15", "POSTGRES_MAX_OVERFLOW": "0"}
"""The API's connections to a PostgreSQL store, unless its URL says otherwise: at most
15 at once, as the library's defaults allow (5 kept and 10 more), but all of them
kept. With only 5 kept, under load (8 requests at once in bench/api.py) the request
threads, the follower and its subscription made and closed a connection, a server
process each, on most requests."""


def server_environment(url: str | None = None) -> dict[str, str]:
    """The store settings for ``url``, with the API's pool where the URL sets none."""
    env = environment_for(url)
    if env["PERSISTENCE_MODULE"] == "store.postgres":
        env = SERVER_POOL | env
    return env


@dataclass
class Services:
    ledger: JourneyLedger
    database: ReadModelDatabase
    runner: ProjectionRunner
    queries: ReadModelQueries
    follower: threading.Thread | None = field(default=None)

    @classmethod
    def open(cls, url: str | None = None, *, follow: bool = True) -> Services:
        env = server_environment(url)
        ledger = JourneyLedger(env=env)
        database = open_database(env)
        runner = ProjectionRunner(ledger, database, all_models())
        services = cls(ledger, database, runner, ReadModelQueries(database))
        if follow:
            services.follower = runner.start()
        return services

    def close(self) -> None:
        self.runner.stop()
        if self.follower is not None:
            self.follower.join(timeout=5)
        self.database.close()
        self.ledger.close()


async def services(request: Request) -> Services:
    """A route dependency: the app's services.

    A coroutine, though it never awaits: FastAPI runs a plain function dependency in
    its thread pool, a hand-off to a worker thread and back on every request."""
    found: Services = request.app.state.services
    return found
