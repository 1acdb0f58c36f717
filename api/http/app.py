"""The HTTP API: ``create_app()`` wires the ledger, the read models and the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.console import STATIC, access_log_page, case_pages, prison_pages, sign_in
from api.http import problems
from api.http.body_limit import BodyLimit
from api.http.request_log import RequestLog
from api.http.routers import (
    access_log,
    cases,
    commands,
    feed,
    operations,
    prisons,
    proofs,
    queries,
)
from api.services import Services
from api.settings import ApiSettings, LedgerSettings

DESCRIPTION = """An append-only, tamper-evident case history of journeys through
custody. All data in this service's demo is synthetic.

Whatever a command stores stays in the record for good, so the write edge refuses,
with problem+json naming the field and storing nothing: a field the command does not
declare (422); an identifier with anything but ASCII letters and digits (422); an
`occurred_at` more than the allowed clock skew (default five minutes) in the future, or
any time outside 1900-2199 (422); a date of birth in the future (422); a prison that
is not in the register, or is closed (422, rule `known-prison`); an `Idempotency-Key`
or `source_ref` the case already holds for another request (422, rule
`one-request-per-reference`). The same request sent again under its key gets its
first answer (200). Every command's body is generated from its declaration in the
domain, so these rules hold for every route alike."""


def create_app(
    settings: ApiSettings | None = None,
    *,
    url: str | None = None,
    services: Services | None = None,
    ledger_settings: LedgerSettings | None = None,
) -> FastAPI:
    """The API, built from its settings and the ledger's (each read from the
    environment when not given), on the store ``url`` names if given."""
    settings = settings or ApiSettings.from_environment()
    if services is None:
        ledger_settings = ledger_settings or LedgerSettings.from_environment()
        if url is not None:
            ledger_settings = replace(ledger_settings, database_url=url)
        services = Services.open(ledger_settings, follow=settings.follow_in_process)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.services.close()

    app = FastAPI(
        title="Offender journey ledger",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.services = services
    problems.install(app)

    # Added first, so inside the request log: a refused body is logged too.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestLog)

    for router in (
        operations.router,
        cases.router,
        commands.router,
        queries.router,
        prisons.router,
        feed.router,
        access_log.router,
        proofs.router,
        sign_in.router,
        case_pages.router,
        prison_pages.router,
        access_log_page.router,
    ):
        app.include_router(router)
    app.mount(
        "/console/static",
        StaticFiles(directory=STATIC),
        name="console-static",
    )
    return app
