"""The domain's constrained value types, and the one check that applies a declared type.

Commands and events declare each field with one of these types (or an identifier from
:mod:`domain.identifiers`, or a code list from :mod:`domain.codes`); ``check_value``
reads the declaration and checks a value against it, so a field is checked the same
way whether it comes from the API, the command line, the synthetic estate or a
correction. Each type also says what it allows as JSON Schema keywords
(``schema()``), from which the HTTP edge builds its request models: the rule is
written once, here.

Times: a recorded moment must carry a time zone and lie between 1900 and 2200 (UTC).
Nothing in custody happened before 1900, and a moment outside the range that Python's
``datetime`` can convert to UTC would be sealed into the log for ever and then break
every reader that works in UTC.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, ClassVar, Self, Union, get_args, get_origin

from domain.errors import InvalidValue

MAX_TEXT = 200
MAX_NARRATIVE = 4000
MAX_NAME = 100
MAX_ITEMS = 20
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class Text(str):
    """Free text of 1 to ``max_length`` characters that is not only white space."""

    max_length: ClassVar[int] = MAX_TEXT

    @classmethod
    def check(cls, field: str, value: Any) -> Self:
        if (
            not isinstance(value, str)
            or not value.strip()
            or len(value) > cls.max_length
        ):
            raise InvalidValue(
                field, f"{field} must be text of 1-{cls.max_length} characters"
            )
        return cls(value)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {"type": "string", "minLength": 1, "maxLength": cls.max_length}


class Narrative(Text):
    """A narrative or detailed account (sealed like personal details where it is)."""

    max_length = MAX_NARRATIVE


class Name(Text):
    """A person's name, or part of one."""

    max_length = MAX_NAME


class FieldName(str):
    """The name of an event's field, as a correction names it."""

    pattern: ClassVar[re.Pattern[str]] = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)

    @classmethod
    def check(cls, field: str, value: Any) -> Self:
        if not isinstance(value, str) or not cls.pattern.fullmatch(value):
            raise InvalidValue(field, f"{value!r} is not a field name")
        return cls(value)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {"type": "string", "pattern": f"^{cls.pattern.pattern}$"}


class Bounded(int):
    """A whole number from ``low`` to ``high``; never a boolean or a float."""

    low: ClassVar[int]
    high: ClassVar[int]

    @classmethod
    def check(cls, field: str, value: Any) -> Self:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue(field, f"{field} must be a whole number")
        if not cls.low <= value <= cls.high:
            raise InvalidValue(
                field, f"{field} must be between {cls.low} and {cls.high}"
            )
        return cls(value)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {"type": "integer", "minimum": cls.low, "maximum": cls.high}


class SentenceDays(Bounded):
    low = 1
    high = 365 * 100


class TierChangeLevel(Bounded):
    low = 0
    high = 3


class EventVersion(Bounded):
    """A version of a case, as a correction names the event it corrects."""

    low = 1
    high = 2**31


class Minutes(Bounded):
    """A duration in whole minutes, up to a day."""

    low = 1
    high = 24 * 60


@dataclass(frozen=True)
class PastOnly:
    """A date or moment that cannot be in the future (a date of birth)."""

    def check(self, field: str, value: date) -> date:
        today = datetime.now(UTC).date()
        day = value.date() if isinstance(value, datetime) else value
        if day > today:
            raise InvalidValue(field, f"{field} {value} is in the future")
        return value

    def schema(self) -> dict[str, Any]:
        return {"description": "Not in the future"}


PastDate = Annotated[date, PastOnly()]


class PersonalDetails(dict[str, str]):
    """A person's name and date of birth, as recorded at reception (encrypted at rest
    with the rest of the event when the ledger has a cipher key)."""

    FIELDS: ClassVar[dict[str, Any]] = {
        "first_name": Name,
        "last_name": Name,
        "date_of_birth": PastDate,
    }

    @classmethod
    def check(cls, field: str, value: Any) -> Self:
        if not isinstance(value, Mapping):
            raise InvalidValue(field, f"{field} must be an object")
        unknown = sorted(set(value) - set(cls.FIELDS))
        if unknown:
            raise InvalidValue(
                f"{field}.{unknown[0]}",
                f"{field} has no field {unknown[0]!r}; it may hold only: "
                f"{', '.join(cls.FIELDS)}",
            )
        checked = cls()
        for key, item in value.items():
            found = check_value(cls.FIELDS[key], f"{field}.{key}", item)
            # Stored as text, as every personal detail always has been.
            checked[key] = found.isoformat() if isinstance(found, date) else found
        return checked

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {"type": "object", "fields": cls.FIELDS}


class CorrectedFields(dict[str, Any]):
    """Field name -> corrected value; each value is checked against the type the
    corrected event declares for that field (``Case.correct``)."""

    @classmethod
    def check(cls, field: str, value: Any) -> Self:
        if not isinstance(value, Mapping) or not 1 <= len(value) <= MAX_ITEMS:
            raise InvalidValue(
                field, f"{field} must name 1-{MAX_ITEMS} fields to correct"
            )
        for name in value:
            FieldName.check(field, name)
        return cls(value)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {"type": "object", "minProperties": 1, "maxProperties": MAX_ITEMS}


def _moment(field: str, value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidValue(
                field, f"{field} must be an ISO 8601 date and time"
            ) from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidValue(field, f"{field} must be a date and time with a time zone")
    try:
        in_utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        in_utc = None
    if in_utc is None or not EARLIEST <= in_utc < LATEST:
        raise InvalidValue(
            field, f"{field} {value.isoformat()} is outside the years 1900 to 2199"
        )
    return value


def _date(field: str, value: Any) -> date:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise InvalidValue(field, f"{field} must be a date (YYYY-MM-DD)") from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidValue(field, f"{field} must be a date")
    if not EARLIEST.year <= value.year < LATEST.year:
        raise InvalidValue(field, f"{field} {value} is outside the years 1900 to 2199")
    return value


def _code(codes: type[StrEnum], field: str, value: Any) -> StrEnum:
    try:
        return codes(value)
    except ValueError:
        raise InvalidValue(
            field,
            f"{field} {value!r} is not one of: {', '.join(c.value for c in codes)}",
        ) from None


def is_carrier(hint: Any) -> bool:
    """A plain type that says only what a value is made of; the ``Annotated`` rules
    beside it say what it may hold."""
    return hint in (str, int, dict, Mapping) or get_origin(hint) in (dict, Mapping)


def declares(hint: Any, kind: type) -> bool:
    """Whether a field declared ``hint`` holds a ``kind`` (``PrisonCode``,
    ``Annotated[str, PrisonCode]``, either of them ``| None``)."""
    arm = optional_arm(hint)
    if arm is not None:
        return declares(arm, kind)
    if get_origin(hint) is Annotated:
        return kind in get_args(hint)
    return hint is kind


def optional_arm(hint: Any) -> Any | None:
    """``X`` for a declared ``X | None``; None for a hint that is not optional."""
    if get_origin(hint) in (Union, types.UnionType):
        arms = [a for a in get_args(hint) if a is not type(None)]
        if len(arms) == 1 and len(get_args(hint)) == 2:
            return arms[0]
    return None


Check = Callable[[str, Any], Any]
"""A compiled check: (field, value) -> the value checked, or InvalidValue."""


def check_value(hint: Any, field: str, value: Any) -> Any:
    """``value`` checked against the declared type ``hint`` (and made that type), or
    InvalidValue naming ``field``."""
    return checker(hint)(field, value)


@cache
def checker(hint: Any) -> Check:
    """The check a declared type stands for, worked out once per type: a command is
    checked on every request, and reading a declaration is most of the cost."""
    if get_origin(hint) is Annotated:
        # ``Annotated[str, PrisonCode]``: a plain type for the type checker, and the
        # rules that check it (a code list, or anything with ``check``).
        base, *rules = get_args(hint)
        first = None if is_carrier(base) else checker(base)
        steps = [
            functools.partial(_code, rule)
            if isinstance(rule, type) and issubclass(rule, StrEnum)
            else rule.check
            for rule in rules
        ]

        def annotated(field: str, value: Any) -> Any:
            checked = value if first is None else first(field, value)
            if checked is not None:
                for step in steps:
                    checked = step(field, checked)
            return checked

        return annotated
    arm = optional_arm(hint)
    if arm is not None:
        inner = checker(arm)
        return lambda field, value: None if value is None else inner(field, value)
    return _required(_plain_checker(hint))


def _required(check: Check) -> Check:
    def required(field: str, value: Any) -> Any:
        if value is None:
            raise InvalidValue(field, f"{field} is required")
        return check(field, value)

    return required


def _plain_checker(hint: Any) -> Check:
    if get_origin(hint) in (tuple, list, Sequence):
        (item,) = get_args(hint)[:1]
        each = checker(item)

        def items(field: str, value: Any) -> Any:
            if isinstance(value, str | bytes | Mapping) or not isinstance(
                value, Sequence
            ):
                raise InvalidValue(field, f"{field} must be a list")
            if len(value) > MAX_ITEMS:
                raise InvalidValue(field, f"{field} may hold at most {MAX_ITEMS} items")
            return tuple(each(field, v) for v in value)

        return items
    plain = _PLAIN_CHECKS.get(hint)
    if plain is not None:
        return plain
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return functools.partial(_code, hint)
    check: Check | None = getattr(hint, "check", None)
    if check is None:
        raise TypeError(f"{hint!r} is not one of the domain's checked types")
    return check


def _boolean(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue(field, f"{field} must be true or false")
    return value


_PLAIN_CHECKS: dict[Any, Check] = {bool: _boolean, datetime: _moment, date: _date}


@cache
def _declared(cls: type) -> dict[str, Any]:
    from typing import get_type_hints

    return get_type_hints(cls, include_extras=True)


def declared_fields(cls: type) -> dict[str, Any]:
    """The declared type of each field of a command or event class, by name."""
    return _declared(cls)
