"""``ledger seed`` and ``ledger demo``: a synthetic estate in the configured store."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
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
    from api.synthetic_estate import progress_bar, seed_estate
    from api.wiring import open_ledger
    from domain.errors import DomainError

    ledger = open_ledger()
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
    from api.synthetic_estate import progress_bar, seed_estate
    from api.wiring import open_ledger
    from store.status import describe_store

    ledger = open_ledger()
    try:
        if ledger.recorder.max_notification_id():
            print("The store already holds a ledger; not seeding again.")
        else:
            print("Seeding a synthetic estate (12 prisons, 5,000 people, 3 years)...")
            print(seed_estate(ledger, progress=progress_bar))
    finally:
        ledger.close()
    print(describe_store())
    print(
        "\nEvery person, officer and narrative in this estate is invented.\n"
        "The HTTP API and console arrive with later issues; meanwhile try\n"
        "  ledger status    ledger verify    ledger checkpoint"
    )
    return 0


SEED_COMMANDS = (add_seed, add_demo)
