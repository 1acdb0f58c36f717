"""The ``ledger`` command line."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

Handler = Callable[[argparse.Namespace], int]


def _add_status(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("status", help="describe the configured store")
    parser.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    # PLACEHOLDER (store issue): to become
    #   store.open_store(store.config.environment_for(LEDGER_DATABASE_URL)).
    # Until then, delegate to store.inspect.describe_store, imported lazily so
    # the rest of the CLI works without the store.
    from store.inspect import describe_store

    print(describe_store(os.environ.get("LEDGER_DATABASE_URL")))
    return 0


def _add_demo(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("demo", help="run the demo")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    # PLACEHOLDER: the lead replaces this with the real demo.
    print("not yet")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledger")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for register in (_add_status, _add_demo):
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
