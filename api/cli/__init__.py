"""The ``ledger`` command line: translates arguments into store and ledger calls."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, TypeAlias, cast

from eventsourcing.persistence import PersistenceError

from api.cli.evidence_commands import REGISTER as EVIDENCE_COMMANDS
from api.cli.evidence_commands import withhold_private_keys
from api.cli.projection_commands import PROJECTION_COMMANDS
from api.cli.record_commands import RECORD_COMMANDS
from api.cli.replay_commands import REPLAY_COMMANDS
from api.cli.seed_commands import SEED_COMMANDS
from api.cli.serve_commands import SERVE_COMMANDS
from api.settings import LedgerSettings, SettingsError
from domain.errors import DomainError
from domain.prisons import PrisonRegisterError
from store.config import StoreConfigurationError

if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

Handler = Callable[[argparse.Namespace], int]
EXIT_REFUSED = 1
EXIT_UNUSABLE_STORE = 2
EXIT_UNUSABLE_SETTING = 2


def _add_status(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "status", help="show the configured store's size and Merkle root"
    )
    parser.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    from evidence.status import describe_store

    print(describe_store(args.settings.database_url))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse repeats what it cannot place ("unrecognized arguments: ..."), and a
    private key given without its flag must not be printed back."""

    def error(self, message: str) -> NoReturn:
        super().error(withhold_private_keys(message))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ledger")
    # Each command's parser is a _Parser too (argparse makes them of the parent's
    # class); the registration functions need only the base class's methods.
    subparsers = cast(
        "Subparsers", parser.add_subparsers(dest="command", required=True)
    )
    for register in (
        _add_status,
        *SEED_COMMANDS,
        *RECORD_COMMANDS,
        *PROJECTION_COMMANDS,
        *REPLAY_COMMANDS,
        *EVIDENCE_COMMANDS,
        *SERVE_COMMANDS,
    ):
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        # Every setting, read once for the command (api.settings).
        args.settings = LedgerSettings.from_environment()
    except (PrisonRegisterError, SettingsError) as e:
        # A setting that cannot be used (a LEDGER_PRISONS file, a limit): say which.
        print(f"ledger {args.command}: {e}", file=sys.stderr)
        return EXIT_UNUSABLE_SETTING
    try:
        return handler(args)
    except (StoreConfigurationError, PersistenceError) as e:
        # A bad URL or an unreachable server is an operator's problem, not a bug:
        # say what is wrong, without a traceback.
        print(f"ledger: {e}", file=sys.stderr)
        return EXIT_UNUSABLE_STORE
    except DomainError as e:
        # Refused input (a bad prisoner number, prison code, date): say which rule.
        print(f"ledger: {e}", file=sys.stderr)
        return EXIT_REFUSED
