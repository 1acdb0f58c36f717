"""Each read-model table declared once: its columns, their types and its key.

A table's DDL on both stores, the column order its rows are written in (COPY and
INSERT), the columns its queries select and the API's response models all come from
its :class:`Table`, so none of them can name a column the others do not, or give it
another type.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

S = TypeVar("S")
"""What a table's rows are made from, for a table whose columns say how (a Case)."""


def _names(text: str) -> list[str]:
    return [name for name in text.split(",") if name]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class Kind:
    """How one kind of value is stored, and what readers get back."""

    sql: str
    python: Any
    """The type readers see (the API's field type)."""
    load: Callable[[Any], Any] | None = None
    """Stored value -> the readers' value, where they differ."""
    dump: Callable[[Any], Any] | None = None
    """The readers' value -> what is stored, where they differ."""


TEXT = Kind("TEXT", str)
INTEGER = Kind("INTEGER", int)
BIGINT = Kind("BIGINT", int)
FLAG = Kind("INTEGER", bool, bool, int)
"""A yes or no, stored 0 or 1: SQLite has no booleans."""
JSON_OBJECT = Kind("TEXT", dict[str, Any], json.loads, _json)
JSON_STRINGS = Kind("TEXT", dict[str, str], json.loads, _json)
"""A JSON object of strings (an access-log read's filters)."""
NAMES = Kind("TEXT", list[str], _names, ",".join)
"""Names joined with commas (roles): none of them holds a comma."""


@dataclass(frozen=True)
class Column(Generic[S]):
    name: str
    kind: Kind
    of: Callable[[S], Any] | None = None
    """The column's value for a source (a table whose rows are made column by
    column, from a Case); None where the model builds its rows itself."""
    nullable: bool = False
    key: bool = False
    written: bool = True
    """False for a column that rows are inserted without and an UPDATE sets later
    (a timeline row's ``corrected_by_version``)."""
    doc: str | None = None
    """What the column means to a reader (the API's field description)."""
    examples: tuple[Any, ...] = ()

    def ddl(self, inline_key: bool) -> str:
        if inline_key:
            return f"{self.name} {self.kind.sql} PRIMARY KEY"
        return f"{self.name} {self.kind.sql}{'' if self.nullable else ' NOT NULL'}"


@dataclass(frozen=True)
class Table(Generic[S]):
    name: str
    columns: tuple[Column[S], ...]
    names: tuple[str, ...] = field(init=False)
    written: tuple[str, ...] = field(init=False)
    """The columns rows are written with, in the order their values come."""
    key: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(c.name for c in self.columns)
        key = tuple(c.name for c in self.columns if c.key)
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a column is declared twice")
        # A rebuild check keys rows by their first columns: the key must lead.
        if not key or names[: len(key)] != key:
            raise ValueError(f"{self.name}: the key columns must come first")
        if any(c.key and not c.written for c in self.columns):
            raise ValueError(f"{self.name}: a key column must be written")
        object.__setattr__(self, "names", names)
        object.__setattr__(
            self, "written", tuple(c.name for c in self.columns if c.written)
        )
        object.__setattr__(self, "key", key)

    def column(self, name: str) -> Column[S]:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name}")

    def ddl(self, table: str) -> str:
        """CREATE TABLE for this table under the name ``table`` (a rebuild's fresh
        tables carry a suffix)."""
        inline = len(self.key) == 1
        parts = [c.ddl(inline and c.key) for c in self.columns]
        if not inline:
            parts.append(f"PRIMARY KEY ({', '.join(self.key)})")
        return f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(parts)})"

    @property
    def order_by(self) -> str:
        """A stable order of every row: by the key."""
        return ", ".join(self.key)

    def select_list(self, names: Sequence[str] | None = None) -> str:
        """Columns for a SELECT (all, or ``names``, each checked to be declared)."""
        return ", ".join(self.names if names is None else self._checked(names))

    def _checked(self, names: Sequence[str]) -> Sequence[str]:
        for name in names:
            self.column(name)
        return names

    def written_dict(self, row: Sequence[Any]) -> dict[str, Any]:
        """A written row (as :meth:`row_maker` makes it) by column name, as a
        query of these columns returns it."""
        return dict(zip(self.written, row, strict=True))

    def row_maker(self) -> Callable[[S], tuple[Any, ...]]:
        """A function making one written row from a source, column by column."""
        getters: list[Callable[[S], Any]] = []
        for column in self.columns:
            if not column.written:
                continue
            of, dump = column.of, column.kind.dump
            if of is None:
                raise ValueError(f"{self.name}.{column.name} does not say its value")
            getters.append(of if dump is None else _dumped(of, dump))

        def row(source: S) -> tuple[Any, ...]:
            return tuple([get(source) for get in getters])

        return row


def _dumped(of: Callable[[S], Any], dump: Callable[[Any], Any]) -> Callable[[S], Any]:
    def get(source: S) -> Any:
        value = of(source)
        return None if value is None else dump(value)

    return get


def as_dicts(
    names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[dict[str, Any]]:
    """Rows as they are stored, by column name: what the queries return."""
    return [dict(zip(names, row, strict=True)) for row in rows]
