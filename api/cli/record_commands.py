"""``ledger record``: every command on a case, from the command line.

Each subcommand is generated from a command's declaration in ``domain.commands``, as
the HTTP routes are: ``ledger record transfers A1234BC --prison LEI --recorded-by
JSMITH_GEN --to-prison MDI --movement-reason NOTR``. The domain checks every value as
the command is made, so the command line refuses what the API refuses, naming the
field, and stores nothing. Lists are given by repeating the option; objects
(personal details, a correction's fields) as JSON text; true or false as ``true`` /
``false``. It prints the ``CommandResult`` as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, Union, get_args, get_origin
from uuid import uuid4

from domain.commands import (
    CASE_COMMANDS,
    CaseCommand,
    Recording,
    command_fields,
)
from domain.errors import InvalidValue

if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

SOURCE = "journey-ledger-cli"


def _base(hint: Any) -> Any:
    """The plain type under ``Annotated`` and ``| None``."""
    while True:
        if get_origin(hint) is Annotated:
            hint = get_args(hint)[0]
        elif get_origin(hint) in (Union, types.UnionType):
            hint = next(a for a in get_args(hint) if a is not type(None))
        else:
            return hint


def _is_sequence(hint: Any) -> bool:
    return get_origin(_base(hint)) in (Sequence, tuple, list)


def _from_text(hint: Any, name: str, text: str) -> Any:
    """A value from its command-line text, as the declared type takes it."""
    base = _base(hint)
    if base is bool:
        if text not in ("true", "false"):
            raise InvalidValue(name, f"{name} must be true or false, not {text!r}")
        return text == "true"
    if base is int:
        try:
            return int(text)
        except ValueError:
            raise InvalidValue(name, f"{name} must be a whole number") from None
    if base in (dict, Mapping) or get_origin(base) in (dict, Mapping):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidValue(name, f"{name} must be a JSON object: {e}") from None
    return text


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_fields(parser: argparse.ArgumentParser, command: type[Any]) -> None:
    for spec in dataclasses.fields(command):
        hint = command_fields(command)[spec.name]
        optional = (
            spec.default is not dataclasses.MISSING
            or spec.default_factory is not dataclasses.MISSING
            or _is_sequence(hint)
        )
        parser.add_argument(
            _option(spec.name),
            dest=spec.name,
            metavar="VALUE",
            action="append" if _is_sequence(hint) else "store",
            required=not optional,
            help=_help(hint),
        )


def _help(hint: Any) -> str | None:
    described = [
        rule.text
        for rule in (get_args(hint)[1:] if get_origin(hint) is Annotated else ())
        if hasattr(rule, "text")
    ]
    codes = [c for c in _rules(hint) if isinstance(c, type) and issubclass(c, StrEnum)]
    words = described + ["one of " + ", ".join(m.value for m in c) for c in codes]
    if _is_sequence(hint):
        words.append("repeat for each item")
    return "; ".join(words) or None


def _rules(hint: Any) -> list[Any]:
    found: list[Any] = []
    if get_origin(hint) is Annotated:
        found.extend(get_args(hint)[1:])
        found.extend(_rules(get_args(hint)[0]))
    elif get_origin(hint) in (Union, types.UnionType, Sequence, tuple, list):
        for arg in get_args(hint):
            found.extend(_rules(arg))
    return found


def add_record(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record a command on a person's case (as the API's POST "
        "/cases/{prisoner_number}/<command>)",
        description="Record a command on a case in the configured store. Each "
        "command is declared once in the domain; its options are its fields. "
        "Refusals are one line naming the field or the rule, and store nothing.",
    )
    commands = parser.add_subparsers(dest="resource", required=True, metavar="COMMAND")
    for command in CASE_COMMANDS:
        sub = commands.add_parser(
            command.resource,
            help=(command.__doc__ or "").split("\n\n")[0].strip(),
        )
        sub.add_argument("prisoner_number", metavar="PRISONER")
        sub.add_argument(
            "--recorded-by",
            required=True,
            metavar="USER",
            help="the member of staff recording this (their user id)",
        )
        sub.add_argument(
            "--if-match",
            type=int,
            metavar="VERSION",
            help="the case version this expects; refused if the case has moved on",
        )
        _add_fields(sub, Recording)
        _add_fields(sub, command)
        sub.set_defaults(handler=_record, command=command)


def _given(args: argparse.Namespace, command: type[Any]) -> dict[str, Any]:
    given: dict[str, Any] = {}
    for name, hint in command_fields(command).items():
        value = getattr(args, name)
        if value is None:
            continue
        given[name] = (
            [_from_text(get_args(_base(hint))[0], name, v) for v in value]
            if _is_sequence(hint)
            else _from_text(hint, name, value)
        )
    return given


def _record(args: argparse.Namespace) -> int:
    from api.wiring import open_ledger
    from domain.context import RequestContext

    command_class: type[CaseCommand] = args.command
    recording = Recording.from_fields(_given(args, Recording))
    command = command_class.from_fields(_given(args, command_class))
    ctx = RequestContext(
        recorded_by=args.recorded_by,
        prison=recording.prison,
        source=SOURCE,
        correlation_id=str(uuid4()),
        source_ref=recording.source_ref,
        authority=recording.authority,
        occurred_at=recording.occurred_at,
    )
    ledger = open_ledger(args.settings)
    try:
        results = ledger.execute(
            ctx, args.prisoner_number, command, expected_version=args.if_match
        )
    finally:
        ledger.close()
    print(
        json.dumps(
            [
                {
                    "prisoner_number": r.prisoner_number,
                    "version": r.version,
                    "position": r.position,
                    "duplicate": r.duplicate,
                }
                for r in results
            ]
            if command_class.on_several_cases
            else {
                "prisoner_number": results[0].prisoner_number,
                "version": results[0].version,
                "position": results[0].position,
                "duplicate": results[0].duplicate,
            }
        )
    )
    return 0


RECORD_COMMANDS = (add_record,)
