"""Speed of the HTTP API on PostgreSQL, against the ledger in-process, in one run.

The API runs in subprocesses on a loopback socket, in two shapes; this process is
the load: a pool of threads, each with its own keep-alive HTTP/1.1 connection
(``Client``).

- one_process: ``ledger serve`` as by default (uvicorn, one process, the read models
  following in that process), as the embedded demo runs;
- production: as documented for PostgreSQL in production, ``ledger serve --workers
  N`` with ``LEDGER_FOLLOW_IN_PROCESS=no`` and one ``ledger project`` process
  following the read models, all on this machine's CPUs (N: ``--server-workers``).

- commands: receptions of distinct people, ``POST /cases/{pn}/receptions`` as a
  recorder at LEI, commands/s; against the same receptions saved by
  ``JourneyLedger.record_reception`` in this process, with the same number of
  threads, on a fresh schema (saves/s). Rounds are interleaved (in-process, then
  each shape over HTTP, in-process, ...) and each side's median is compared.
  Target: HTTP >= 0.6x. Both sides use the store's connection pool
  (``store.config.POOL_DEFAULTS``).
- timeline: ``GET /cases/{pn}/timeline`` as an inspector, one request at a time, on
  the synthetic estate of ``ledger seed``'s defaults (5,000 people, 3 years),
  people picked at random, the API in one process; p50 and p99. Target: p99 < 25
  ms. (Each read by a person also writes its access-log event, so this is a read
  and a write.)

Prints a table and writes bench/results/api.json (``--quick``, ``--only`` or other
``--server-workers``: api.quick.json).

    .venv/bin/python bench/api.py [--rounds R] [--commands N] [--workers W] [--quick]
        [--server-workers N] [--only one_process|production]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.commands import ReceivePrisoner

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.http.auth import ROLE_NAMES, mint_token
from bench.report import print_table, progress, ratio_figures
from bench.store_write import (
    BENCH_DATABASE,
    DEFAULT_SERVER,
    Schemas,
    Server,
    ensure_bench_database,
    machine_info,
)
from domain.context import RequestContext
from domain.ledger import JourneyLedger
from store.config import environment_for
from synthetic.estate import seed_estate

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECRET = "bench-secret-for-synthetic-tokens-only"
TARGET_RATIO = 0.6
TARGET_P99_MS = 25.0
RECEPTION: dict[str, Any] = {
    "prison": "LEI",
    "booking_no": "38412A",
    "movement_reason": "N",
    "legal_status": "remand",
    "personal_details": {"first_name": "Alex", "last_name": "Example"},
}


def number(i: int) -> str:
    """Distinct prisoner numbers: A0000AA, A0001AA, ..., then B0000AA, ..."""
    return f"{chr(ord('A') + i // 10_000)}{i % 10_000:04d}AA"


# -- the API in a subprocess -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Shape:
    """How the API runs for a measure."""

    name: str
    workers: int
    """``ledger serve --workers``."""
    follow_in_process: bool
    """The read models follow in the API's process; otherwise ``ledger project`` runs
    beside it, as documented for production."""

    def describe(self) -> str:
        if self.follow_in_process:
            return "ledger serve, one process, the read models following in-process"
        return (
            f"ledger serve --workers {self.workers} with LEDGER_FOLLOW_IN_PROCESS=no "
            "beside one ledger project process following the read models"
        )


ONE_PROCESS = Shape("one_process", workers=1, follow_in_process=True)
PRODUCTION_WORKERS = os.cpu_count() or 2
"""One worker per CPU. On 2 CPUs one worker was faster while ledger project's
pages cost it about 0.9 ms of CPU per command and writers in two processes kept
finding the frontier moved; since pages gather (``PAGE_INTERVAL``) and a moved
save retries under the lock, two workers beside ledger project measured 618-629
commands/s against 508-559 for one (4,000 commands each, interleaved, 8 client
threads) and about the same ratio in short runs of this bench (0.52x, 0.52x
against 0.53x, 0.48x).
A worker is bound by its GIL well before its CPU."""


def wait_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"ledger serve exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("ledger serve did not listen in 60 s") from None
            time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def api_server(url: str, shape: Shape = ONE_PROCESS) -> Iterator[int]:
    """The API on ``url`` at a free loopback port, run as ``shape`` says, until the
    block ends."""
    port = free_port()
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": url,
        "LEDGER_JWT_SECRET": SECRET,
        "LEDGER_SIGNING_KEY_FILE": str(ROOT / "var" / "bench-no-such.key"),
        "LEDGER_FOLLOW_IN_PROCESS": "yes" if shape.follow_in_process else "no",
    }
    ledger = [sys.executable, "-m", "api.cli"]
    serve = [*ledger, "serve", "--port", str(port), "--workers", str(shape.workers)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if not shape.follow_in_process:
            processes.append(
                subprocess.Popen(
                    [*ledger, "project"],
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        server = subprocess.Popen(
            [*serve, "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        processes.append(server)
        wait_listening(server, port)
        yield port
    finally:
        for process in reversed(processes):
            stop(process)


class Client:
    """One keep-alive HTTP/1.1 connection per thread, spoken directly on the socket.

    The load shares this machine's two CPUs with the API, ``ledger project`` and
    PostgreSQL, and the in-process baseline carries no load generator at all: a
    request here is one ``sendall`` and, in the common case, one ``recv``, where
    ``http.client`` parsed every response's headers with ``email.parser`` (about a
    quarter of a millisecond of this process's CPU per command, taken from the
    API). It reads responses with a Content-Length, as every endpoint measured
    here sends.
    """

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = (
            "HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n"
        )
        self.local = threading.local()

    def _socket(self) -> socket.socket:
        sock: socket.socket | None = getattr(self.local, "sock", None)
        if sock is None:
            sock = self.local.sock = socket.create_connection(
                ("127.0.0.1", self.port), timeout=60
            )
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        sock = self._socket()
        data = b"" if body is None else json.dumps(body).encode()
        sock.sendall(
            f"{method} {path} {self.head}Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        received = b""
        while (end := received.find(b"\r\n\r\n")) < 0:
            received += self._recv(sock)
        head, rest = received[:end], received[end + 4 :]
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"{method} {path}: {status} without a Content-Length")
        while len(rest) < length:
            rest += self._recv(sock)
        return status, rest[:length]

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise RuntimeError("the API closed the connection")
        return chunk


def wait_until_ready(client: Client, timeout: float = 600) -> None:
    """Until /readyz says the read models have caught up with the store."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = client.request("GET", "/readyz")
        if status == 200 and json.loads(body)["lag"] == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("the read models did not catch up")


# -- commands/s ----------------------------------------------------------------------


def run_parallel(
    work: Callable[[int], None], first: int, count: int, workers: int
) -> float:
    """Items first..first+count-1 over ``workers`` threads; items per second."""
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(work, range(first, first + count)):
            pass
    return count / (time.perf_counter() - started)


def http_commands(
    url: str, commands: int, warmup: int, workers: int, shape: Shape
) -> float:
    token = mint_token(SECRET, roles=[ROLE_NAMES["recorder"]], prisons=["LEI"])
    with api_server(url, shape) as port:
        client = Client(port, token)

        def receive(i: int) -> None:
            status, body = client.request(
                "POST", f"/cases/{number(i)}/receptions", RECEPTION
            )
            if status != 201:
                raise RuntimeError(f"reception {number(i)}: {status} {body[:300]!r}")

        run_parallel(receive, 0, warmup, workers)
        return run_parallel(receive, warmup, commands, workers)


def in_process_commands(url: str, commands: int, warmup: int, workers: int) -> float:
    """Saves/s by ``JourneyLedger.record_reception`` on ``workers`` threads."""
    ledger = JourneyLedger(env=environment_for(url))
    try:

        def receive(i: int) -> None:
            context = RequestContext(
                recorded_by="BENCH_RECORDER",
                prison="LEI",
                source="bench",
                correlation_id=f"bench-{i}",
            )
            ledger.record(
                context,
                number(i),
                ReceivePrisoner(
                    booking_no=RECEPTION["booking_no"],
                    movement_reason=RECEPTION["movement_reason"],
                    legal_status=RECEPTION["legal_status"],
                    personal_details=RECEPTION["personal_details"],
                ),
            )

        run_parallel(receive, 0, warmup, workers)
        return run_parallel(receive, warmup, commands, workers)
    finally:
        ledger.close()


# -- timeline latency --------------------------------------------------------------


def timeline_latencies(
    server: Server, schema: str, requests: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Milliseconds per GET /cases/{pn}/timeline (and per GET /cases/{pn})."""
    token = mint_token(SECRET, roles=[ROLE_NAMES["inspector"]], user="BENCH_INSPECTOR")
    with api_server(server.url(schema), ONE_PROCESS) as port:
        client = Client(port, token)
        wait_until_ready(client)
        with closing(server.connect(BENCH_DATABASE)) as conn, conn.cursor() as cur:
            cur.execute(f'SELECT prisoner_number FROM "{schema}".case_state')
            people = sorted(row[0] for row in cur.fetchall())
        rng = random.Random(1)
        timings: dict[str, list[float]] = {"timeline": [], "case": []}
        for kind, path in (("timeline", "/cases/{}/timeline"), ("case", "/cases/{}")):
            for i in range(warmup + requests):
                pn = rng.choice(people)
                started = time.perf_counter()
                status, body = client.request("GET", path.format(pn))
                elapsed = (time.perf_counter() - started) * 1000
                if status != 200:
                    raise RuntimeError(
                        f"GET {path.format(pn)}: {status} {body[:300]!r}"
                    )
                if i >= warmup:
                    timings[kind].append(elapsed)
        return timings["timeline"], timings["case"]


# -- main ------------------------------------------------------------------------------


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def command_figures(
    ours: list[float], baseline: list[float], shape: Shape, workers: int
) -> dict[str, Any]:
    return {
        **ratio_figures(ours, baseline),
        "ours": "POST /cases/{pn}/receptions over loopback HTTP to "
        + shape.describe()
        + f", {workers} client threads with keep-alive connections",
        "baseline": "JourneyLedger.record_reception in-process, "
        f"{workers} threads, same commands, the same connection pool",
        "target_ratio": TARGET_RATIO,
        "met": statistics.median(ours) / statistics.median(baseline) >= TARGET_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commands", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=8, help="client threads")
    parser.add_argument("--people", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument(
        "--quick", action="store_true", help="2 short rounds, a small estate (smoke)"
    )
    parser.add_argument(
        "--server-workers",
        type=int,
        default=PRODUCTION_WORKERS,
        help="ledger serve --workers in the production shape (default: the CPUs, "
        f"here {PRODUCTION_WORKERS})",
    )
    parser.add_argument(
        "--only",
        choices=("one_process", "production"),
        help="measure commands in one shape of the API only",
    )
    parser.add_argument("--server", default=DEFAULT_SERVER)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.commands, args.people, args.requests = 2, 300, 500, 300
    production = Shape(
        "production", workers=args.server_workers, follow_in_process=False
    )
    shapes = [s for s in (ONE_PROCESS, production) if args.only in (None, s.name)]
    warmup = max(20, args.commands // 10)
    server = Server.from_url(args.server)
    ensure_bench_database(server)
    schemas = Schemas(server)
    ours: dict[str, list[float]] = {shape.name: [] for shape in shapes}
    baseline: list[float] = []
    try:
        for r in range(1, args.rounds + 1):
            with schemas.fresh("api_inprocess") as schema:
                baseline.append(
                    in_process_commands(
                        server.url(schema), args.commands, warmup, args.workers
                    )
                )
            for shape in shapes:
                with schemas.fresh("api_http") as schema:
                    ours[shape.name].append(
                        http_commands(
                            server.url(schema),
                            args.commands,
                            warmup,
                            args.workers,
                            shape,
                        )
                    )
            progress(
                f"round {r}/{args.rounds}: in-process {baseline[-1]:,.0f} saves/s; "
                + ", ".join(f"{n} {v[-1]:,.0f} commands/s" for n, v in ours.items())
            )
        with schemas.fresh("api_estate") as schema:
            ledger = JourneyLedger(env=environment_for(server.url(schema)))
            try:
                progress(f"seeding {args.people:,} people into {schema} ...")
                seeded = seed_estate(ledger, people=args.people)
            finally:
                ledger.close()
            progress(f"  {seeded.events:,} events in {seeded.seconds:.1f} s")
            timeline, case = timeline_latencies(
                server, schema, args.requests, warmup=100
            )
        facts = schemas.server_facts()
    finally:
        schemas.close()

    figures = {
        shape.name: command_figures(ours[shape.name], baseline, shape, args.workers)
        for shape in shapes
    }
    t50, t99 = statistics.median(timeline), percentile(timeline, 99)
    c50, c99 = statistics.median(case), percentile(case, 99)
    rows = [("measure", "median", "target", "met")]
    rows.append(
        ("in-process record_reception, saves/s", f"{statistics.median(baseline):,.0f}",
         "", "")
    )  # fmt: skip
    for name, f in figures.items():
        rows += [
            (f"HTTP receptions ({name}), commands/s", f"{f['ours_median']:,}", "", ""),
            (f"ratio HTTP ({name}) / in-process", f"{f['ratio']:.2f}x",
             f">= {TARGET_RATIO}x", "yes" if f["met"] else "NO"),
        ]  # fmt: skip
    rows += [
        ("GET /cases/{pn}/timeline p50, ms", f"{t50:.1f}", "", ""),
        ("GET /cases/{pn}/timeline p99, ms", f"{t99:.1f}", f"< {TARGET_P99_MS:.0f}",
         "yes" if t99 < TARGET_P99_MS else "NO"),
        ("GET /cases/{pn} p50 / p99, ms", f"{c50:.1f} / {c99:.1f}", "", ""),
    ]  # fmt: skip
    print_table(rows)
    document: dict[str, Any] = {
        "machine": machine_info(facts),
        "parameters": {
            "rounds": args.rounds,
            "commands_per_round": args.commands,
            "warmup_commands": warmup,
            "workers": args.workers,
            "server_workers_production": args.server_workers,
            "people": args.people,
            "events": seeded.events,
            "timeline_requests": args.requests,
            "statistic": "median over interleaved rounds; latencies over all requests",
        },
        "measures": {
            "commands_per_second": figures,
            "timeline_ms": {
                "p50": round(t50, 2),
                "p99": round(t99, 2),
                "target_p99": TARGET_P99_MS,
                "met": t99 < TARGET_P99_MS,
                "what": "GET /cases/{pn}/timeline as an inspector, one at a time, "
                "random people of the seeded estate (each read also records its "
                "access-log event), " + ONE_PROCESS.describe(),
            },
            "case_state_ms": {"p50": round(c50, 2), "p99": round(c99, 2)},
        },
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    # Only the default run's figures are meant to be committed.
    name = "api.json"
    if args.quick or args.only or args.server_workers != PRODUCTION_WORKERS:
        name = "api.quick.json"
    (RESULTS / name).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
