"""Request bodies derived from the domain's command declarations.

Each command in :mod:`domain.commands` declares its fields once, with the domain's
checked types; this module turns a declaration into a pydantic model for FastAPI: the
same names, the constraints each type states (``schema()``: length, pattern, range),
its description and the command's example, and ``extra="forbid"``, so a misspelt
field is a 422 naming it instead of a value silently left out of the record. The
domain checks every value again as the command is made, and its word is final; the
model is what the OpenAPI document shows and what refuses a malformed body early.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, get_args, get_origin

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    create_model,
)

from domain.commands import Command, Recording, command_fields
from domain.values import MAX_ITEMS, is_carrier, optional_arm

# JSON Schema keywords a domain type states -> pydantic's Field arguments.
_KEYWORDS = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "ge",
    "maximum": "le",
    "minProperties": "min_length",
    "maxProperties": "max_length",
    "description": "description",
    "examples": "examples",
}

FORBID_UNKNOWN = ConfigDict(extra="forbid", use_enum_values=True)
"""Every request body refuses a field it does not declare."""


def _constraints(schema: dict[str, Any]) -> dict[str, Any]:
    return {_KEYWORDS[k]: v for k, v in schema.items() if k in _KEYWORDS}


def field_type(hint: Any) -> Any:
    """The pydantic type for a field the domain declares as ``hint``."""
    if get_origin(hint) is Annotated:
        base, *rules = get_args(hint)
        codes = [r for r in rules if isinstance(r, type) and issubclass(r, StrEnum)]
        schema: dict[str, Any] = {}
        for rule in rules:
            if rule not in codes:
                schema |= rule.schema()
        if codes:
            shown: Any = codes[0]
        elif "fields" in schema:
            return _object_model(rules[0].__name__, schema["fields"])
        elif is_carrier(base):
            shown = _carried(base)
        else:
            shown = field_type(base)
        constraints = _constraints(schema)
        return Annotated[shown, Field(**constraints)] if constraints else shown
    arm = optional_arm(hint)
    if arm is not None:
        return field_type(arm) | None
    if get_origin(hint) in (tuple, list, Sequence):
        (item,) = get_args(hint)[:1]
        items = field_type(item)
        return Annotated[list[items], Field(max_length=MAX_ITEMS)]  # type: ignore[valid-type]
    wire = _WIRE_TYPES.get(hint)
    if wire is not None:
        return wire
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return hint
    if isinstance(hint, type) and issubclass(hint, Command):
        return body_model(hint, recording=())
    if hasattr(hint, "schema"):
        return field_type(Annotated[_wire_type(hint.schema()), hint])
    raise TypeError(f"{hint!r} is not one of the domain's checked types")


_WIRE_TYPES: dict[Any, Any] = {bool: StrictBool, datetime: AwareDatetime, date: date}
"""The plain types a command declares, as the wire takes them: strictly (no "true"
for true), times with a zone."""


def _wire_type(schema: dict[str, Any]) -> Any:
    return {"integer": int, "object": dict[str, Any]}.get(schema.get("type", ""), str)


def _carried(base: Any) -> Any:
    """What a plain carrier type is on the wire: integers strictly, no coercion."""
    if base is int:
        return StrictInt
    if base is str:
        return str
    return dict[str, Any]


def _object_model(name: str, fields: dict[str, Any]) -> type[BaseModel]:
    """A nested object whose keys are all optional (personal details)."""
    return create_model(  # type: ignore[call-overload, no-any-return]
        name,
        __config__=FORBID_UNKNOWN,
        **{key: (field_type(hint) | None, None) for key, hint in fields.items()},
    )


def _defaults(command: type[Command]) -> dict[str, Any]:
    """Each field's default in the request body (``...``: required)."""
    found: dict[str, Any] = {}
    for spec in dataclasses.fields(command):
        if spec.default is not dataclasses.MISSING:
            value = spec.default
            found[spec.name] = list(value) if isinstance(value, tuple) else value
        elif spec.default_factory is not dataclasses.MISSING:
            found[spec.name] = None
        else:
            found[spec.name] = ...
    return found


RECORDING_FIELDS = tuple(command_fields(Recording))
"""What every command on a case carries: prison, occurred_at, source_ref, authority."""


_MODELS: dict[tuple[type[Command], tuple[str, ...]], type[BaseModel]] = {}


def body_model(
    command: type[Command], recording: tuple[str, ...] = RECORDING_FIELDS
) -> type[BaseModel]:
    """The request body for ``command``: the ``recording`` fields (by default all of
    them), then the command's own. Built once per command."""
    found = _MODELS.get((command, recording))
    if found is None:
        found = _MODELS[(command, recording)] = _body_model(command, recording)
    return found


def _body_model(command: type[Command], recording: tuple[str, ...]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    defaults = _defaults(Recording)
    for name in recording:
        fields[name] = (field_type(command_fields(Recording)[name]), defaults[name])
    defaults = _defaults(command)
    for name, hint in command_fields(command).items():
        fields[name] = (field_type(hint), defaults[name])
    shown = {k: v for k, v in Recording.example.items() if k in recording}
    example = {**shown, **command.example}
    config = ConfigDict(
        **FORBID_UNKNOWN,
        title=command.__name__,
        json_schema_extra={"examples": [example]} if example else None,
    )
    model: type[BaseModel] = create_model(
        command.__name__,
        __config__=config,
        __doc__=(command.__doc__ or "").strip().split("\n\n")[0],
        **fields,
    )
    return model


def command_of(command: type[Command], body: BaseModel) -> Command:
    """The domain command a validated body asks for (the domain checks it again)."""
    names = command_fields(command)
    given = body.model_dump(include=set(names), exclude_none=True)
    return command.from_fields(given)
