"""What every read model is: named tables, fed a page of events at a time.

A read model owns its tables. Their names carry a suffix so a rebuild can write fresh
tables beside the live ones and swap them in; the model never hard-codes a name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple
from uuid import UUID

from domain.case import Case
from domain.events import CASE_EVENTS, CaseEvent
from domain.officer import Officer
from projections.database import Sql
from projections.tables import Table


class Recorded(NamedTuple):
    """One event as the read models see it: decoded, with its place in the log.

    A named tuple, as the log's rows are: one is made per event, at half the cost
    of a frozen dataclass."""

    position: int
    leaf_hash: str
    """The seal's leaf hash, hex."""
    event: Any
    data: dict[str, Any] | None = None
    """``event.data()`` when the fold has made it already (a case's new fact holds
    it; a correction replaces a fact's fields, never changes them), else None."""


@dataclass
class Page:
    """Events in position order, and the aggregates they touched, as of the last."""

    items: list[Recorded]
    cases: dict[UUID, Case] = field(default_factory=dict)
    officers: dict[UUID, Officer] = field(default_factory=dict)
    born: set[UUID] = field(default_factory=set)
    """Aggregates whose first event is in this page. A model that has applied the
    log up to the page has seen nothing of them, so holds no rows of theirs: no
    old rows to delete."""

    folded: dict[UUID, dict[int, Recorded]] = field(default_factory=dict)
    """Case id -> version -> the page's event that made that fact of the case (with
    the fact's fields as ``data``)."""
    facts: dict[UUID, list[CaseEvent]] = field(default_factory=dict)
    """Cases' facts as events (:meth:`events_of`), made once per page for every
    model that walks them."""

    def events_of(self, case: Case) -> list[CaseEvent]:
        """The case's facts, corrections applied, each an event of its own class."""
        events = self.facts.get(case.id)
        if events is None:
            folded = self.folded.get(case.id, {})
            if len(folded) == len(case.facts) and not case.corrections:
                # Every fact was made in this page, none corrected since: in a
                # rebuild, nearly every case.
                events = [made.event for made in folded.values()]
            else:
                events = fact_events(case, folded)
            self.facts[case.id] = events
        return events

    def after(self, position: int) -> Page:
        """The part of this page a model at ``position`` has not applied yet."""
        if not self.items or self.items[0].position > position:
            return self
        items = [r for r in self.items if r.position > position]
        touched = {r.event.originator_id for r in items}
        return Page(
            items,
            {k: v for k, v in self.cases.items() if k in touched},
            {k: v for k, v in self.officers.items() if k in touched},
            {r.event.originator_id for r in items if r.event.originator_version == 1},
            self.folded,
        )

    def seen_before(self, aggregates: dict[UUID, Any]) -> list[Any]:
        """Of ``aggregates`` (this page's cases or officers), those with events
        before this page: the ones whose rows a model may already hold."""
        born = self.born
        return [a for k, a in aggregates.items() if k not in born]


def fact_events(case: Case, folded: Mapping[int, Recorded]) -> list[CaseEvent]:
    """The case's facts as events of their classes, so read models match on classes.

    A fact keeps an event's fields and time with corrections applied (``Case.facts``).
    Where the fact's event was folded in this page and the fact is as it made it
    (a correction replaces a fact's fields), that event is the fact: in a rebuild,
    nearly every one. Otherwise the fact becomes an instance of the class it names,
    holding its fields, made without the class's constructor, which would ask for
    the store's fields too (none is read from a fact but its version).
    """
    events: list[CaseEvent] = []
    classes = CASE_EVENTS
    for fact in case.facts:
        made = folded.get(fact["version"])
        if made is not None and made.data is fact["fields"]:
            events.append(made.event)
            continue
        cls = classes[fact["kind"]]
        event = cls.__new__(cls)
        state = event.__dict__
        state.update(fact["fields"])
        state["occurred_at"] = fact["occurred_at"]
        state["originator_version"] = fact["version"]
        events.append(event)
    return events


def moment(value: datetime | None) -> str | None:
    """Times are stored as UTC ISO-8601 text: comparable as text on both stores."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # stored times decode as UTC already: no new object
        value = value.astimezone(UTC)
    return value.isoformat("T", "microseconds")  # positional: cheaper than keywords


@dataclass(frozen=True)
class Index:
    name: str
    table: Table[Any]
    columns: tuple[str, ...]
    unique: bool = False


class ReadModel:
    name: ClassVar[str]
    tables: ClassVar[Sequence[Table[Any]]]
    indexes: ClassVar[Sequence[Index]] = ()

    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix

    def t(self, base: str) -> str:
        return base + self.suffix

    def names(self) -> dict[str, str]:
        """Each table's declared name -> its name here."""
        return {table.name: self.t(table.name) for table in self.tables}

    def create(self, sql: Sql) -> None:
        for table in self.tables:
            sql.execute(table.ddl(self.t(table.name)))
        for index in self.indexes:
            unique = "UNIQUE " if index.unique else ""
            sql.execute(
                f"CREATE {unique}INDEX IF NOT EXISTS {self.t(index.name)} "
                f"ON {self.t(index.table.name)} "
                f"({index.table.select_list(index.columns)})"
            )

    def drop_indexes(self, sql: Sql) -> None:
        for index in self.indexes:
            sql.execute(f"DROP INDEX IF EXISTS {self.t(index.name)}")

    def apply(self, sql: Sql, page: Page) -> None:
        raise NotImplementedError
