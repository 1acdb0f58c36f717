"""Speed of ``ledger verify``'s core on PostgreSQL, against raw baselines, same run.

Writes N sealed events (default 200,000; about 300-byte states) into a fresh schema of
the bench database by bulk COPY (the rows, leaf hashes and interior nodes exactly as
the write path would store them; setup speed is not what is measured), signs a
checkpoint at the end, then times, in interleaved rounds:

- ours: ``evidence.verify.verify_log`` over the whole log (every leaf recomputed, every
  stored node and the checkpoint's root and signature checked), through the store's
  own connection pool;
- baseline: raw psycopg2 reading the same columns in the same pages (plain SELECT)
  plus SHA-256 of each row's canonical bytes, and nothing else;
- floor: raw psycopg2 binary COPY of the same columns into memory, no work at all
  (what the transfer alone costs).

Reports medians over rounds, events/s, and the ratio ours/baseline (our overhead).
Target: ours >= 200,000 events/s. Prints a table and writes bench/results/verify.json.

    .venv/bin/python bench/verify.py [--events N] [--rounds R] [--quick] [--server URL]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import struct
import sys
import time
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InfrastructureFactory

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import print_table, progress, ratio_figures
from bench.store_write import (
    DEFAULT_SERVER,
    Schemas,
    Server,
    ensure_bench_database,
    machine_info,
)
from evidence.checkpoint import issue_checkpoint
from evidence.database import evidence_store
from evidence.signed_note import Ed25519Signer
from evidence.verify import PAGE_SIZE, verify_log
from store.config import environment_for
from store.merkle import Frontier
from store.seal import canonical_event_bytes

RESULTS = Path(__file__).resolve().parent / "results" / "verify.json"
TARGET_EVENTS_PER_SECOND = 200_000
TOPICS = [
    f"domain.events:{name}"
    for name in ("PrisonerReceived", "HealthScreened", "RiskAssessed", "Transferred")
]


def fill(url: str, events: int, seed: int = 1) -> Ed25519Signer:
    """Bulk-load ``events`` sealed rows and sign a checkpoint over them."""
    factory: Any = InfrastructureFactory.construct(environment_for(url))
    try:
        recorder = factory.application_recorder()
        rng = random.Random(seed)
        frontier = Frontier()
        buffer = io.StringIO()
        written = 0
        while written < events:
            originator = UUID(int=rng.getrandbits(128), version=4)
            for version in range(1, min(rng.randint(1, 12), events - written) + 1):
                topic = rng.choice(TOPICS)
                state = rng.randbytes(rng.randint(200, 400))
                leaf = sha256(
                    b"\x00" + canonical_event_bytes(originator, version, topic, state)
                ).digest()
                nodes = b"".join(n.hash for n in frontier.append(leaf))
                buffer.write(
                    f"{frontier.size}\t{originator}\t{version}\t{topic}\t"
                    f"\\\\x{state.hex()}\t\\\\x{leaf.hex()}\t\\\\x{nodes.hex()}\n"
                )
                written += 1
        buffer.seek(0)
        with (
            recorder.datastore.pool.connection() as conn,
            conn.cursor() as curs,
        ):
            curs.copy_expert(
                f"COPY {recorder.events_table} (notification_id, originator_id, "
                "originator_version, topic, state, leaf_hash, nodes) FROM STDIN",
                buffer,
            )
            curs.execute(
                f"UPDATE {recorder.frontier_table} SET tree_size = %s, hashes = %s",
                (frontier.size, frontier.to_bytes()),
            )
            curs.execute(f"ANALYZE {recorder.events_table}")
        signer = Ed25519Signer.generate("journey-ledger.example/bench")
        issue_checkpoint(evidence_store(recorder), signer)
        return signer
    finally:
        factory.close()


def time_ours(url: str, signer: Ed25519Signer, events: int) -> float:
    factory: Any = InfrastructureFactory.construct(environment_for(url))
    try:
        store = evidence_store(factory.application_recorder())
        started = time.perf_counter()
        report = verify_log(store, signer.verifier())
        elapsed = time.perf_counter() - started
    finally:
        factory.close()
    if not report.ok or report.events != events or report.checkpoints != 1:
        raise SystemExit(f"verification of the bench log failed: {report}")
    return events / elapsed


_LENGTH = struct.Struct(">I").pack
_VERSION = struct.Struct(">Iq").pack


def time_baseline(server: Server, schema: str, events: int) -> float:
    """Raw psycopg2: the same pages of the same columns, and a SHA-256 per row."""
    conn = server.connect("ledger_bench")
    conn.autocommit = True
    table = f'"{schema}"."stored_events"'
    try:
        started = time.perf_counter()
        count = 0
        after = 0
        with conn.cursor() as curs:
            while True:
                curs.execute(
                    "SELECT notification_id, originator_id::text, originator_version, "
                    f"topic, state, leaf_hash, nodes FROM {table} "
                    "WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
                    (after, PAGE_SIZE),
                )
                rows = curs.fetchall()
                if not rows:
                    break
                for _, oid, version, topic, state, _, _ in rows:
                    o = oid.encode()
                    t = topic.encode()
                    sha256(
                        b"".join(
                            (
                                b"\x00",
                                _LENGTH(len(o)),
                                o,
                                _VERSION(8, version),
                                _LENGTH(len(t)),
                                t,
                                _LENGTH(len(state)),
                                state,
                            )
                        )
                    ).digest()
                count += len(rows)
                after = rows[-1][0]
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    assert count == events
    return events / elapsed


def time_copy_floor(server: Server, schema: str, events: int) -> float:
    """Raw psycopg2 binary COPY of the same columns into memory, nothing else: the
    transfer floor (no parsing, no hashing)."""
    conn = server.connect("ledger_bench")
    conn.autocommit = True
    table = f'"{schema}"."stored_events"'
    try:
        started = time.perf_counter()
        with conn.cursor() as curs:
            curs.copy_expert(
                "COPY (SELECT notification_id, originator_id::text, "
                f"originator_version, topic, state, leaf_hash, nodes FROM {table} "
                "ORDER BY notification_id) TO STDOUT (FORMAT binary)",
                io.BytesIO(),
            )
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return events / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="20,000 events, 3 rounds (a smoke run)"
    )
    parser.add_argument("--server", default=DEFAULT_SERVER)
    args = parser.parse_args(argv)
    events, rounds = (20_000, 3) if args.quick else (args.events, args.rounds)
    server = Server.from_url(args.server)
    ensure_bench_database(server)
    schemas = Schemas(server)
    try:
        with schemas.fresh("verify") as schema:
            url = server.url(schema)
            progress(f"writing {events:,} sealed events into {schema} ...")
            started = time.perf_counter()
            signer = fill(url, events)
            progress(f"  done in {time.perf_counter() - started:.1f} s")
            ours: list[float] = []
            baseline: list[float] = []
            floor: list[float] = []
            for r in range(1, rounds + 1):
                ours.append(time_ours(url, signer, events))
                baseline.append(time_baseline(server, schema, events))
                floor.append(time_copy_floor(server, schema, events))
                progress(
                    f"round {r}/{rounds}: ours {ours[-1]:,.0f} events/s, "
                    f"baseline {baseline[-1]:,.0f}, copy floor {floor[-1]:,.0f}"
                )
        facts = schemas.server_facts()
    finally:
        schemas.close()
    ours_median = statistics.median(ours)
    baseline_median = statistics.median(baseline)
    ratio = ours_median / baseline_median
    met = ours_median >= TARGET_EVENTS_PER_SECOND
    rows = [
        ("measure", "median events/s", "rounds"),
        (
            "ledger verify core (evidence.verify.verify_log)",
            f"{ours_median:,.0f}",
            ", ".join(f"{v:,.0f}" for v in ours),
        ),
        (
            "baseline: raw psycopg2 read + SHA-256 per row",
            f"{baseline_median:,.0f}",
            ", ".join(f"{v:,.0f}" for v in baseline),
        ),
        (
            "floor: raw binary COPY to memory, no work",
            f"{statistics.median(floor):,.0f}",
            ", ".join(f"{v:,.0f}" for v in floor),
        ),
    ]
    print_table(rows)
    print(
        f"ratio ours/baseline: {ratio:.2f}x; target >= "
        f"{TARGET_EVENTS_PER_SECOND:,} events/s: {'met' if met else 'MISSED'}"
    )
    document = {
        "machine": machine_info(facts),
        "parameters": {
            "events": events,
            "rounds": rounds,
            "quick": args.quick,
            "page_size": PAGE_SIZE,
            "state_bytes": "uniform 200-400",
            "statistic": "median over interleaved rounds",
        },
        "measures": {
            "verify_events_per_second": {
                **ratio_figures(ours, baseline),
                "baseline": "raw psycopg2 SELECT of the same columns in the same "
                "pages + SHA-256 of each row's canonical bytes",
                "copy_floor_median": round(statistics.median(floor)),
                "copy_floor_rounds": [round(v) for v in floor],
                "copy_floor": "raw psycopg2 binary COPY of the same columns into "
                "memory, no parsing or hashing",
                "target_events_per_second": TARGET_EVENTS_PER_SECOND,
                "met": met,
            }
        },
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
