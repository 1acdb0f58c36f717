"""Request bodies are bounded, and the bound is enforced while reading.

A body over the limit is refused (413 problem+json) before it is parsed and before
the token is checked: whoever sends it, it costs at most the limit in memory. The
whole body is read here, up to the limit, and handed on whole: the ledger's bodies
are small (a command is a few hundred bytes), so buffering costs nothing worth
measuring, and the app never sees a body it would have to abandon half read.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
PROBLEM_TYPE = "https://journey-ledger.example/problems/too-large"


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next(
            (v for k, v in scope["headers"] if k == b"content-length"), None
        )
        if declared is not None and (
            not declared.isdigit() or int(declared) > self.max_bytes
        ):
            await self._refuse(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away while sending: nothing to answer.
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        detail = (
            f"the request body is larger than {self.max_bytes:,} bytes "
            "(LEDGER_MAX_BODY_BYTES); nothing was read further or stored"
        )
        problem = {
            "type": PROBLEM_TYPE,
            "title": "Request body too large",
            "status": 413,
            "detail": detail,
            "instance": scope.get("path", ""),
        }
        payload = json.dumps(problem).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
