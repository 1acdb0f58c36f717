"""timeline: the inspectors' audit trail, one row per event per case.

Both times (occurred and recorded), who recorded it, where, from which system, on
whose authority, a plain-words summary, the event's data, what a correction corrects
(and, on the corrected row, which event corrected it), merges, the log position and
the leaf hash that proves the row is the one recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from domain.events import CaseEvent, CasesMerged, CasesUnmerged, EventCorrected
from projections.database import Sql
from projections.read_model import Index, Page, ReadModel, moment

COLUMNS = (
    "position", "prisoner_number", "case_version", "kind", "occurred_at",
    "recorded_at", "recorded_by", "prison", "source", "source_ref", "correlation_id",
    "authority", "summary", "data", "corrects_version", "related_number", "leaf_hash",
)  # fmt: skip


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return moment(value) or ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_DATA_ENCODER = json.JSONEncoder(default=_json_default, sort_keys=True)
"""Built once: ``json.dumps`` with these options builds an encoder per call."""


def _data_encoder() -> Callable[[Any], str]:
    """``_DATA_ENCODER.encode``, without what it does again on every call.

    ``JSONEncoder.encode`` makes a new C encoder for each value, half the cost of
    encoding an event's data. Where the C encoder exists (CPython), one is made
    here with the arguments ``encode`` would give it (no circular check: data is
    a tree), so the text is the same.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _DATA_ENCODER.encode
    iterencode = make(
        None,
        _DATA_ENCODER.default,
        json.encoder.encode_basestring_ascii,
        None,
        _DATA_ENCODER.key_separator,
        _DATA_ENCODER.item_separator,
        True,
        False,
        True,
    )

    def encode(data: Any) -> str:
        return "".join(iterencode(data, 0))

    return encode


encode_data = _data_encoder()


def summary_of(event: CaseEvent) -> str:
    return event.summary()


class TimelineModel(ReadModel):
    name = "timeline"
    tables = {  # noqa: RUF012
        "timeline": "(position BIGINT PRIMARY KEY, prisoner_number TEXT NOT NULL, "
        "case_version INTEGER NOT NULL, kind TEXT NOT NULL, occurred_at TEXT NOT NULL, "
        "recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL, prison TEXT NOT NULL, "
        "source TEXT NOT NULL, source_ref TEXT, correlation_id TEXT NOT NULL, "
        "authority TEXT, summary TEXT NOT NULL, data TEXT NOT NULL, "
        "corrects_version INTEGER, corrected_by_version INTEGER, related_number TEXT, "
        "leaf_hash TEXT NOT NULL)"
    }
    indexes = (
        Index("timeline_case", "timeline", "prisoner_number, case_version", True),
    )
    order_by = {"timeline": "position"}  # noqa: RUF012

    def apply(self, sql: Sql, page: Page) -> None:
        table = self.t("timeline")
        rows = []
        corrections = []
        cases = page.cases
        encode = encode_data
        # Per event only what differs by event: the rest is looked up by class once.
        for position, leaf_hash, event, data in page.items:
            kind = _KINDS.get(event.__class__) or _kind(event.__class__)
            if kind is _NOT_A_CASE_EVENT:
                continue
            number = cases[event.originator_id].prisoner_number
            related = corrects = None
            if kind.merge:
                related = (
                    event.survivor_number
                    if event.retired_number == number
                    else event.retired_number
                )
            elif kind.correction:
                corrects = event.corrects_version
                corrections.append((event.originator_version, number, corrects))
            occurred, recorded = event.occurred_at, event.timestamp
            rows.append(
                (
                    position,
                    number,
                    event.originator_version,
                    kind.name,
                    # Positional arguments: parsing keywords took a third of it.
                    occurred.isoformat("T", "microseconds")
                    if occurred.tzinfo is UTC
                    else moment(occurred),
                    recorded.isoformat("T", "microseconds")
                    if recorded.tzinfo is UTC
                    else moment(recorded),
                    event.recorded_by,
                    event.prison,
                    event.source,
                    event.source_ref,
                    event.correlation_id,
                    event.authority,
                    kind.summary(event),
                    encode(event.data() if data is None else data),
                    corrects,
                    related,
                    leaf_hash,
                )
            )
        sql.append(table, COLUMNS, rows)
        sql.executemany(
            f"UPDATE {table} SET corrected_by_version=? "
            "WHERE prisoner_number=? AND case_version=?",
            corrections,
        )


class _Kind(NamedTuple):
    name: str
    summary: Callable[[Any], str]
    merge: bool
    correction: bool


_NOT_A_CASE_EVENT = _Kind("", str, False, False)
_KINDS: dict[type, _Kind] = {}


def _kind(cls: type) -> _Kind:
    if not issubclass(cls, CaseEvent):
        kind = _NOT_A_CASE_EVENT
    else:
        name = cls.__name__
        kind = _Kind(
            name,
            cls.summary,
            issubclass(cls, (CasesMerged, CasesUnmerged)),
            issubclass(cls, EventCorrected),
        )
    _KINDS[cls] = kind
    return kind
