"""Correlation ids, request logs and metrics, as a plain ASGI middleware.

Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware
wraps every request and response in extra tasks and streams, a measurable share of
each request's time, and it buffers streaming responses such as the feed's.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.routers import operations

CORRELATION_HEADER = "X-Correlation-Id"
_HEADER = CORRELATION_HEADER.lower().encode()
MAX_CORRELATION_ID = 100
request_log = logging.getLogger("journey_ledger.requests")


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == _HEADER), b"")
        correlation_id = (given.decode("latin-1") or str(uuid.uuid4()))[
            :MAX_CORRELATION_ID
        ]
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((_HEADER, correlation_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            operations.observe_scope(scope, status, elapsed)
            if request_log.isEnabledFor(logging.INFO):
                request_log.info(_line(scope, status, elapsed, correlation_id))


def _line(scope: Scope, status: int, elapsed: float, correlation_id: str) -> str:
    fields: dict[str, Any] = {
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "ms": round(elapsed, 2),
        "correlation_id": correlation_id,
    }
    return json.dumps(fields)
