"""``api.http.protocol``: one write per response, on a real uvicorn and socket."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.http.protocol import SEND_AT_ONCE, CoalescedWrites, CoalescingHttpToolsProtocol

BODY = b'{"prisoner_number":"A1234BC","version":1}'
BIG = b"x" * (3 * SEND_AT_ONCE)


class CountedSends:
    """The socket's transport, counting the writes that reach it."""

    def __init__(self, transport: asyncio.Transport, sends: list[bytes]) -> None:
        self._transport = transport
        self.sends = sends

    def write(self, data: bytes) -> None:
        self.sends.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def counting(protocol: type[HttpToolsProtocol], sends: list[bytes]) -> type[Any]:
    class Counting(protocol):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(CountedSends(transport, sends))

    return Counting


class Streams:
    """An ASGI app: ``/json`` answers at once; ``/stream`` sends a first chunk, then
    waits for the test to say it arrived before it sends the rest; ``/big`` sends a
    body larger than what is gathered before a write."""

    def __init__(self) -> None:
        self.first_chunk_seen: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        if scope["path"] == "/stream":
            self.loop = asyncio.get_running_loop()
            self.first_chunk_seen = asyncio.Event()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send(
                {"type": "http.response.body", "body": b"first", "more_body": True}
            )
            await self.first_chunk_seen.wait()
            await send({"type": "http.response.body", "body": b"second"})
            return
        body = BIG if scope["path"] == "/big" else BODY
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def say_first_chunk_seen(self) -> None:
        assert self.loop is not None and self.first_chunk_seen is not None
        self.loop.call_soon_threadsafe(self.first_chunk_seen.set)


@contextmanager
def serving(app: Streams, protocol: type[Any]) -> Iterator[int]:
    """uvicorn serving ``app`` with ``protocol`` on a loopback port, in a thread. The
    socket listens before the server starts, so clients may connect at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    config = uvicorn.Config(app, http=protocol, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]})
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def responses(sends: list[bytes]) -> int:
    return sum(data.startswith(b"HTTP/1.1 ") for data in sends)


@pytest.mark.parametrize(
    ("protocol", "writes_per_response"),
    [(HttpToolsProtocol, 2), (CoalescingHttpToolsProtocol, 1)],
)
def test_a_response_is_one_write_on_a_kept_alive_connection(
    protocol: type[HttpToolsProtocol], writes_per_response: int
) -> None:
    sends: list[bytes] = []
    with serving(Streams(), counting(protocol, sends)) as port:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(3):
            client.request("POST", "/json", body=b"{}")
            reply = client.getresponse()
            assert (reply.status, reply.read()) == (201, BODY)
        client.close()
    assert responses(sends) == 3
    assert len(sends) == 3 * writes_per_response


def test_a_streamed_response_still_streams() -> None:
    app = Streams()
    with serving(app, CoalescingHttpToolsProtocol) as port:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        client.request("GET", "/stream")
        reply = client.getresponse()
        assert reply.status == 200
        # The app sends the rest only once this chunk has arrived: had the chunk
        # been held back until the response completed, this read would time out.
        assert reply.read1() == b"first"
        app.say_first_chunk_seen()
        assert reply.read() == b"second"
        client.request("POST", "/json", body=b"{}")
        assert client.getresponse().read() == BODY
        client.close()


def test_a_closing_connection_gets_the_whole_response() -> None:
    with (
        serving(Streams(), CoalescingHttpToolsProtocol) as port,
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
    ):
        sock.sendall(b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 201 ")
    assert received.endswith(b"\r\n\r\n" + BODY)


def test_a_large_body_arrives_whole() -> None:
    sends: list[bytes] = []
    with serving(Streams(), counting(CoalescingHttpToolsProtocol, sends)) as port:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        client.request("GET", "/big")
        assert client.getresponse().read() == BIG
        client.close()
    assert len(sends) == 1 and sends[0].endswith(BIG)


def test_writes_in_one_loop_step_are_sent_together_at_the_next() -> None:
    sends: list[bytes] = []

    async def two_writes_then_a_turn() -> list[int]:
        loop = asyncio.get_running_loop()
        fake: Any = CountedSends(FakeTransport(), sends)
        writes = CoalescedWrites(fake, loop)
        writes.write(b"head ")
        writes.write(b"body")
        before = len(sends)
        await asyncio.sleep(0)  # one turn of the loop, not a wait for work
        after = len(sends)
        writes.write(b"last")
        writes.close()
        return [before, after]

    assert asyncio.run(two_writes_then_a_turn()) == [0, 1]
    assert sends == [b"head body", b"last"]


def test_a_large_write_is_sent_without_waiting_for_the_loop() -> None:
    sends: list[bytes] = []

    async def a_head_and_a_large_body() -> int:
        writes = CoalescedWrites(
            CountedSends(FakeTransport(), sends),  # type: ignore[arg-type]
            asyncio.get_running_loop(),
        )
        writes.write(b"head ")
        writes.write(BIG)
        return len(sends)

    # Sent at once, where the transport's flow control sees it.
    assert asyncio.run(a_head_and_a_large_body()) == 1
    assert sends == [b"head " + BIG]


class FakeTransport:
    def __init__(self) -> None:
        self.closed = False

    def write(self, data: bytes) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
