"""Speed of the read models on PostgreSQL, against a same-run baseline.

Seeds a synthetic estate (``ledger seed``'s generator) into a fresh schema of the bench
database, then measures, in interleaved rounds:

- rebuild: every read model built from position 0 into fresh tables
  (``projections.rebuild``, swap included; on PostgreSQL in parts, one process
  per CPU up to ``MAX_WORKERS``), events/s;
- baseline: reading and decoding the same notifications and nothing else
  (``select_notifications`` in pages + the application's mapper, in this one
  process), events/s. Target: rebuild >= 0.5x the baseline.

Then read-your-writes: a command through the ledger, ``wait_for`` its position on a
follower running in-process, then a query of the case's state; p50 and p99 over many
commands. Target: p50 < 20 ms.

Prints a table and writes bench/results/projections.json.

    .venv/bin/python bench/projections.py [--people N] [--rounds R] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.commands import ReceivePrisoner

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
from domain.context import RequestContext
from domain.ledger import JourneyLedger
from projections.catalogue import READ_MODELS, all_models
from projections.database import open_database
from projections.queries import ReadModelQueries
from projections.rebuild import MAX_WORKERS, rebuild
from projections.runner import PAGE_SIZE, ProjectionRunner
from store.config import environment_for
from synthetic.estate import seed_estate

RESULTS = Path(__file__).resolve().parent / "results" / "projections.json"
TARGET_RATIO = 0.5
TARGET_P50_MS = 20.0


def time_rebuild(ledger: JourneyLedger, env: dict[str, str]) -> float:
    database = open_database(env)
    try:
        started = time.perf_counter()
        report = rebuild(ledger, database, list(READ_MODELS))
        elapsed = time.perf_counter() - started
    finally:
        database.close()
    return report.position / elapsed


def time_baseline(ledger: JourneyLedger) -> float:
    to_event = ledger.mapper.to_domain_event
    started = time.perf_counter()
    position = 0
    while True:
        page = ledger.recorder.select_notifications(position + 1, PAGE_SIZE)
        if not page:
            break
        for notification in page:
            to_event(notification)
        position = page[-1].id
    return position / (time.perf_counter() - started)


def read_your_writes(
    ledger: JourneyLedger, env: dict[str, str], commands: int
) -> list[float]:
    database = open_database(env)
    runner = ProjectionRunner(ledger, database, all_models())
    queries = ReadModelQueries(database)
    thread = runner.start()
    timings = []
    try:
        for i in range(commands):
            context = RequestContext(
                recorded_by="BENCH_GEN",
                prison="LEI",
                source="bench",
                correlation_id=f"bench-{i}",
            )
            number = f"Z{i:04d}ZZ"
            started = time.perf_counter()
            result = ledger.record(
                context,
                number,
                ReceivePrisoner(
                    booking_no="99999Z", movement_reason="N", legal_status="remand"
                ),
            )
            assert result.position is not None
            if not runner.wait_for(result.position, timeout=10):
                raise RuntimeError("the follower did not reach the command's position")
            state = queries.case_state(number)
            timings.append((time.perf_counter() - started) * 1000)
            assert state is not None and state["version"] == result.version
    finally:
        runner.stop()
        thread.join(timeout=10)
        database.close()
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument(
        "--quick", action="store_true", help="1,000 people, 3 rounds (a smoke run)"
    )
    parser.add_argument("--server", default=DEFAULT_SERVER)
    args = parser.parse_args(argv)
    people, rounds = (1_000, 3) if args.quick else (args.people, args.rounds)
    server = Server.from_url(args.server)
    ensure_bench_database(server)
    schemas = Schemas(server)
    try:
        with schemas.fresh("projections") as schema:
            env = environment_for(server.url(schema))
            ledger = JourneyLedger(env=env)
            progress(f"seeding {people:,} people into {schema} ...")
            seeded = seed_estate(ledger, people=people)
            progress(f"  {seeded.events:,} events in {seeded.seconds:.1f} s")
            ours: list[float] = []
            baseline: list[float] = []
            for r in range(1, rounds + 1):
                ours.append(time_rebuild(ledger, env))
                baseline.append(time_baseline(ledger))
                progress(
                    f"round {r}/{rounds}: rebuild {ours[-1]:,.0f} events/s, "
                    f"read+decode {baseline[-1]:,.0f} events/s"
                )
            latencies = read_your_writes(ledger, env, args.commands)
            ledger.close()
        facts = schemas.server_facts()
    finally:
        schemas.close()
    ours_median = statistics.median(ours)
    baseline_median = statistics.median(baseline)
    ratio = ours_median / baseline_median
    quantiles = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies), quantiles[98]
    rows = [
        ("measure", "median", "target", "met"),
        (
            "rebuild all read models, events/s",
            f"{ours_median:,.0f}",
            "",
            "",
        ),
        ("read + decode baseline, events/s", f"{baseline_median:,.0f}", "", ""),
        ("ratio rebuild / baseline", f"{ratio:.2f}x", f">= {TARGET_RATIO}x",
         "yes" if ratio >= TARGET_RATIO else "NO"),
        ("read-your-writes p50, ms", f"{p50:.1f}", f"< {TARGET_P50_MS:.0f}",
         "yes" if p50 < TARGET_P50_MS else "NO"),
        ("read-your-writes p99, ms", f"{p99:.1f}", "", ""),
    ]  # fmt: skip
    print_table(rows)
    document: dict[str, Any] = {
        "machine": machine_info(facts),
        "parameters": {
            "people": people,
            "events": seeded.events,
            "rounds": rounds,
            "commands": args.commands,
            "page_size": PAGE_SIZE,
            "rebuild_processes": min(os.cpu_count() or 1, MAX_WORKERS),
            "statistic": "median over interleaved rounds",
        },
        "measures": {
            "rebuild_events_per_second": {
                **ratio_figures(ours, baseline),
                "baseline": "select_notifications in pages + the application's "
                "mapper, nothing else, in one process",
                "ours": "projections.rebuild of every read model, swap included; "
                "on PostgreSQL in parts, one process per CPU (rebuild_processes)",
                "target_ratio": TARGET_RATIO,
                "met": ratio >= TARGET_RATIO,
            },
            "read_your_writes_ms": {
                "p50": round(p50, 2),
                "p99": round(p99, 2),
                "target_p50": TARGET_P50_MS,
                "met": p50 < TARGET_P50_MS,
            },
        },
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
