"""The HTTP API: ``create_app()`` wires the ledger, the read models and the routers."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from api import problems
from api.routers import (
    access_log,
    cases,
    commands,
    feed,
    operations,
    proofs,
    queries,
)
from api.services import Services
from api.settings import ApiSettings

CORRELATION_HEADER = "X-Correlation-Id"
request_log = logging.getLogger("journey_ledger.requests")


def create_app(
    settings: ApiSettings | None = None,
    *,
    url: str | None = None,
    services: Services | None = None,
) -> FastAPI:
    """The API on the store ``url`` names (default: LEDGER_DATABASE_URL)."""
    settings = settings or ApiSettings.from_environment()
    services = services or Services.open(url, follow=settings.follow_in_process)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.services.close()

    app = FastAPI(
        title="Offender journey ledger",
        version="1.0.0",
        description="An append-only, tamper-evident case history of journeys through "
        "custody. All data in this service's demo is synthetic.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.services = services
    problems.install(app)

    @app.middleware("http")
    async def correlate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        correlation_id = request.headers.get(CORRELATION_HEADER) or str(uuid.uuid4())
        request.state.correlation_id = correlation_id[:100]
        started = time.perf_counter()
        response = await call_next(request)
        elapsed = (time.perf_counter() - started) * 1000
        response.headers[CORRELATION_HEADER] = request.state.correlation_id
        operations.observe(request, response.status_code, elapsed)
        request_log.info(
            json.dumps(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "ms": round(elapsed, 2),
                    "correlation_id": request.state.correlation_id,
                }
            )
        )
        return response

    for router in (
        operations.router,
        cases.router,
        commands.router,
        queries.router,
        feed.router,
        access_log.router,
        proofs.router,
    ):
        app.include_router(router)
    return app
