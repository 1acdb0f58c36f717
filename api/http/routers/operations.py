"""Operations: liveness, readiness (store reachable, read-model lag), metrics."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Annotated, Any

from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from pydantic import BaseModel

from api.services import Services, services

router = APIRouter(tags=["operations"])

REQUESTS = Counter(
    "journey_ledger_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "journey_ledger_http_request_seconds",
    "HTTP request duration by route",
    ["method", "route"],
)


def observe_scope(
    scope: MutableMapping[str, Any], status: int, milliseconds: float
) -> None:
    """Count a finished request under its route's template (not its raw path)."""
    template = getattr(scope.get("route"), "path", "unmatched")
    REQUESTS.labels(scope["method"], template, str(status)).inc()
    LATENCY.labels(scope["method"], template).observe(milliseconds / 1000)


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    store_position: int | None
    read_model_position: int
    lag: int | None


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up (says nothing of the store)."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The store is unreachable"}},
)
def readyz(found: Annotated[Services, Depends(services)]) -> JSONResponse:
    """Ready when the store answers; reports how far the read models lag behind."""
    try:
        position = found.read_model_position()
        head = found.ledger.recorder.max_notification_id() or 0
    except PersistenceError:
        position = found.runner.position
        body = Readiness(
            status="store unreachable",
            store_position=None,
            read_model_position=position,
            lag=None,
        )
        return JSONResponse(body.model_dump(), status_code=503)
    body = Readiness(
        status="ready", store_position=head, read_model_position=position,
        lag=head - position,
    )  # fmt: skip
    return JSONResponse(body.model_dump())


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    """Prometheus metrics (of every worker, under ``ledger serve --workers``)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
