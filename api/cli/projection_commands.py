"""``ledger project`` and ``ledger rebuild``: keeping and rebuilding the read models."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from api.settings import LedgerSettings
    from domain.ledger import JourneyLedger

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def add_project(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "project",
        help="keep every read model current, following the store (LISTEN/NOTIFY on "
        "PostgreSQL, polling on SQLite); issues checkpoints when a signing key exists",
    )
    parser.add_argument(
        "--once", action="store_true", help="catch up to the end of the log and exit"
    )
    parser.add_argument("--page-size", type=int, default=1_000)
    parser.add_argument(
        "--progress", action="store_true", help="print each page's position as it lands"
    )
    parser.set_defaults(handler=_project)


def checkpoint_issuer(
    ledger: JourneyLedger, settings: LedgerSettings
) -> Callable[[int], None] | None:
    """Issue a signed checkpoint every N events or T seconds, if a log key exists."""
    from api.wiring import checkpoint_schedule
    from evidence.checkpoint import issue_checkpoint
    from evidence.database import evidence_store
    from evidence.keys import load_key_file
    from evidence.signed_note import ED25519

    path = settings.signing_key_file
    if not path.exists():
        return None
    signer = load_key_file(path, ED25519)
    schedule = checkpoint_schedule(settings)
    evidence = evidence_store(ledger.recorder)
    # Count from the last checkpoint in the store, not from this process's start.
    latest = evidence.latest_checkpoint()
    schedule.last_position = latest.tree_size if latest else 0

    def after_page(position: int) -> None:
        if schedule.due(position):
            issue_checkpoint(evidence, signer)

    return after_page


def _project(args: argparse.Namespace) -> int:
    from api.wiring import open_ledger, store_environment
    from projections.catalogue import all_models
    from projections.database import open_database
    from projections.runner import ProjectionRunner

    ledger = open_ledger(args.settings)
    database = open_database(store_environment(args.settings))
    issue = checkpoint_issuer(ledger, args.settings)

    def after_page(position: int) -> None:
        if args.progress:
            print(f"position {position}", flush=True)
        if issue is not None:
            issue(position)

    runner = ProjectionRunner(
        ledger, database, all_models(), page_size=args.page_size, after_page=after_page
    )
    try:
        if args.once:
            print(f"read models at position {runner.catch_up()}")
            return 0

        def stop(signum: int, frame: Any) -> None:
            runner.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print(f"following the log from position {runner.position}", file=sys.stderr)
        runner.follow()
        return 0
    finally:
        database.close()
        ledger.close()


def add_rebuild(subparsers: Subparsers) -> None:
    from projections.catalogue import READ_MODELS

    parser = subparsers.add_parser(
        "rebuild",
        help="rebuild read models from position 0 into fresh tables and swap them in "
        "(the live ones keep serving); --check compares instead",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"one of: {', '.join(READ_MODELS)}"
    )
    parser.add_argument("--all", action="store_true", help="every read model")
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare a rebuild with the live tables row for row; swap nothing",
    )
    parser.add_argument("--progress", action="store_true")
    parser.set_defaults(handler=_rebuild)


def _rebuild(args: argparse.Namespace) -> int:
    from api.wiring import open_ledger, store_environment
    from projections.catalogue import READ_MODELS
    from projections.database import open_database
    from projections.rebuild import RebuildRunning, rebuild

    names = list(READ_MODELS) if args.all else list(dict.fromkeys(args.names))
    unknown = [n for n in names if n not in READ_MODELS]
    if unknown or not names:
        problem = f"unknown: {', '.join(unknown)}" if unknown else "none named"
        print(
            f"ledger rebuild: {problem}; name read models or give --all",
            file=sys.stderr,
        )
        print(f"read models: {', '.join(READ_MODELS)}", file=sys.stderr)
        return 2
    ledger = open_ledger(args.settings)
    database = open_database(store_environment(args.settings))

    def progress(position: int) -> None:
        print(f"position {position}", flush=True)

    try:
        report = rebuild(
            ledger,
            database,
            names,
            check=args.check,
            after_page=progress if args.progress else None,
        )
    except RebuildRunning as e:
        print(f"ledger rebuild: {e}", file=sys.stderr)
        return 1
    finally:
        database.close()
        ledger.close()
    print(report)
    return 1 if report.differences else 0


def add_roll(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "roll",
        help="a prison's roll now, or at the end of a past day (read models are "
        "brought up to date first)",
    )
    parser.add_argument("prison", help="prison code, e.g. LEI")
    parser.add_argument(
        "--on", type=_day, help="a past day, YYYY-MM-DD (the roll at its end)"
    )
    parser.set_defaults(handler=_roll)


def _day(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD)"
        ) from None


def _roll(args: argparse.Namespace) -> int:
    from api.wiring import open_ledger, store_environment
    from domain.identifiers import PrisonCode
    from projections.catalogue import all_models
    from projections.database import open_database
    from projections.queries import ReadModelQueries
    from projections.runner import ProjectionRunner

    PrisonCode(args.prison)
    # Before the store is opened: an unknown prison's roll would print as empty.
    args.settings.prisons.require(args.prison)
    ledger = open_ledger(args.settings)
    database = open_database(store_environment(args.settings))
    try:
        ProjectionRunner(ledger, database, all_models()).catch_up()
        queries = ReadModelQueries(database)
        if args.on is None:
            numbers, when = queries.roll(args.prison), "now"
        else:
            numbers, when = (
                queries.roll_on(args.prison, args.on),
                f"at end of {args.on}",
            )
    finally:
        database.close()
        ledger.close()
    print(f"{args.prison} roll {when}: {len(numbers)}")
    for number in numbers:
        print(f"  {number}")
    return 0


PROJECTION_COMMANDS = (add_project, add_rebuild, add_roll)
