"""uvicorn's HTTP protocol, sending each response in one write.

uvicorn writes a response's status line and headers, then its body, as two
``transport.write`` calls, and uvloop sends each at once: two ``send`` syscalls per
response, made on the event loop's thread while it holds the GIL, the first of them
the biggest single cost in serving a command. Here the writes made within one step of
the event loop are gathered and sent together: when the response completes, or at the
loop's next turn for a response still streaming (the feed, the console's pages), so
nothing waits on a later write.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

PROTOCOL = "api.http.protocol:CoalescingHttpToolsProtocol"
"""For ``uvicorn.run(http=...)``: a path, so ``--workers`` processes import it too."""

SEND_AT_ONCE = 64 * 1024
"""Gathered bytes that are sent without waiting for the loop's turn: the transport's
own buffer (and so its flow control, which pauses the response) sees large bodies."""


class CoalescedWrites(asyncio.Transport):
    """A transport that gathers writes until ``flush``, which is scheduled for the
    loop's next turn whenever something is gathered; everything else is the wrapped
    transport's."""

    def __init__(
        self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop
    ) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._gathered: list[bytes] = []
        self._size = 0
        self._flush_scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self._gathered.append(bytes(data))
        self._size += len(data)
        if self._size >= SEND_AT_ONCE:
            self.flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._scheduled_flush)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        if not self._gathered:
            return
        data = (
            self._gathered[0] if len(self._gathered) == 1 else b"".join(self._gathered)
        )
        self._gathered.clear()
        self._size = 0
        # A transport closed under us (the peer went away) would have dropped the
        # bytes too, had they been written at once.
        if not self._transport.is_closing():
            self._transport.write(data)

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._gathered.clear()
        self._size = 0
        self._transport.abort()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(
        self, high: int | None = None, low: int | None = None
    ) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a ``CoalescedWrites`` transport."""

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        self.writes = CoalescedWrites(transport, self.loop)
        super().connection_made(self.writes)

    def on_response_complete(self) -> None:
        # The whole response is gathered by now: send it before anything else runs.
        self.writes.flush()
        super().on_response_complete()
