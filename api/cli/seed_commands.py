"""``ledger seed`` and ``ledger demo``: a synthetic estate in the configured store."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeAlias

DEMO_MONTH = "2026-09"

if TYPE_CHECKING:
    from api.settings import LedgerSettings
    from domain.ledger import JourneyLedger

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def add_seed(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "seed",
        help="write a synthetic estate (invented people and journeys) into an "
        "empty store",
    )
    parser.add_argument("--prisons", type=_positive, default=12)
    parser.add_argument("--people", type=_positive, default=5_000)
    parser.add_argument("--years", type=_positive, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_seed)


def _seed(args: argparse.Namespace) -> int:
    from api.wiring import open_ledger
    from domain.errors import DomainError
    from synthetic.estate import progress_bar, seed_estate

    ledger = open_ledger(args.settings)
    try:
        report = seed_estate(
            ledger,
            prisons=args.prisons,
            people=args.people,
            years=args.years,
            seed=args.seed,
            progress=None if args.quiet else progress_bar,
        )
    except DomainError as e:
        print(f"ledger seed: {e.message}")
        return 1
    finally:
        ledger.close()
    print(report)
    return 0


def add_demo(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="seed the configured store with a synthetic estate if it is empty, "
        "then summarise it",
    )
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from api.wiring import open_ledger
    from evidence.status import describe_store
    from synthetic.estate import progress_bar, seed_estate

    ledger = open_ledger(args.settings)
    try:
        if ledger.recorder.max_notification_id():
            print("The store already holds a ledger; not seeding again.")
        else:
            print("Seeding a synthetic estate (12 prisons, 5,000 people, 3 years)...")
            print(seed_estate(ledger, progress=progress_bar))
        print(read_model_summary(ledger, args.settings))
    finally:
        ledger.close()
    print(describe_store())
    print(
        "\nEvery person, officer and narrative in this estate is invented.\n"
        "ledger serve runs the HTTP API (make demo starts it next); also try\n"
        "  ledger roll LEI --on 2025-06-30    ledger replay <prisoner number>\n"
        "  ledger rebuild --all --check       ledger verify"
    )
    return 0


def read_model_summary(ledger: JourneyLedger, settings: LedgerSettings) -> str:
    """Bring the read models up to date in-process and show what they hold."""
    from api.wiring import store_environment
    from projections.catalogue import all_models
    from projections.database import open_database
    from projections.queries import ReadModelQueries
    from projections.runner import ProjectionRunner

    database = open_database(store_environment(settings))
    try:
        position = ProjectionRunner(ledger, database, all_models()).catch_up()
        queries = ReadModelQueries(database)
        league = queries.league_table(DEMO_MONTH)
    finally:
        database.close()
    lines = [f"\nRead models at position {position:,}. League table, {DEMO_MONTH}:"]
    lines.append("  rank prison   ADP  incidents/1000  self-harm/1000  MDT positive")
    for row in league:
        lines.append(
            f"  {row['rank']:>4} {row['prison']:<6}"
            f" {row['average_daily_population']:>5.0f}"
            f" {row['incidents_per_1000']:>15.1f} {row['self_harm_per_1000']:>15.1f}"
            f" {row['drug_tests_positive_rate']:>13.1%}"
        )
    return "\n".join(lines)


SEED_COMMANDS = (add_seed, add_demo)
