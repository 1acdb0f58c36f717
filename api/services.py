"""What the API's routes use: the ledger, the read models and their follower."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from fastapi import Request

from api.settings import LedgerSettings
from api.wiring import open_ledger, store_environment
from domain.ledger import JourneyLedger
from domain.prisons import PrisonRegister
from projections.catalogue import all_models
from projections.database import PostgresDatabase, ReadModelDatabase, open_database
from projections.queries import ReadModelQueries
from projections.runner import ProjectionRunner
from projections.watched_runner import WatchedRunner


@dataclass
class Services:
    ledger: JourneyLedger
    database: ReadModelDatabase
    runner: ProjectionRunner
    queries: ReadModelQueries
    follower: threading.Thread | None = field(default=None)
    """The thread that keeps the read models' position known here, so that waiting
    for a position can succeed: the follower applying the log in this process, or,
    when ``ledger project`` follows elsewhere, a :class:`WatchedRunner`'s watch."""

    settings: LedgerSettings = field(default_factory=LedgerSettings)
    """What the parts were built from (the register of prisons the reads accept,
    the evidence key)."""

    @classmethod
    def open(
        cls, settings: LedgerSettings | None = None, *, follow: bool = True
    ) -> Services:
        """The services built from ``settings`` (default: read from the
        environment, which stops at a setting that cannot be used, before anything
        is opened)."""
        settings = settings or LedgerSettings.from_environment()
        ledger = open_ledger(settings)
        database = open_database(store_environment(settings))
        queries = ReadModelQueries(database)
        if not follow and isinstance(database, PostgresDatabase):
            watched = WatchedRunner(ledger, database, all_models())
            services = cls(ledger, database, watched, queries, settings=settings)
            services.follower = watched.watch()
            return services
        runner = ProjectionRunner(ledger, database, all_models())
        services = cls(ledger, database, runner, queries, settings=settings)
        if follow:
            services.follower = runner.start()
        return services

    @property
    def prisons(self) -> PrisonRegister:
        return self.settings.prisons

    def read_model_position(self) -> int:
        """Where the read models are now (for /readyz)."""
        if isinstance(self.runner, WatchedRunner):
            return self.runner.current_position()
        return self.runner.position

    def close(self) -> None:
        self.runner.stop()
        if self.follower is not None:
            self.follower.join(timeout=5)
        self.database.close()
        self.ledger.close()


def services_of(request: Request) -> Services:
    """The app's services, for the busiest routes, which take them from the request
    rather than as a dependency: FastAPI resolves every dependency afresh on every
    request, a measurable share of a command's time on the event loop."""
    found: Services = request.app.state.services
    return found


async def services(request: Request) -> Services:
    """A route dependency: the app's services.

    A coroutine, though it never awaits: FastAPI runs a plain function dependency in
    its thread pool, a hand-off to a worker thread and back on every request."""
    return services_of(request)
