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
from typing import Any

from domain.events import CaseEvent, CasesMerged, CasesUnmerged, EventCorrected
from projections.database import Sql
from projections.read_model import Index, Page, ReadModel, moment
from projections.tables import BIGINT, INTEGER, JSON_OBJECT, TEXT, Column, Table

TIMELINE: Table[Any] = Table(
    "timeline",
    (
        Column(
            "position",
            BIGINT,
            key=True,
            doc="The event's position in the log (feed)",
        ),
        Column("prisoner_number", TEXT),
        Column("case_version", INTEGER, examples=(2,)),
        Column("kind", TEXT, examples=("PrisonerReceived",)),
        Column(
            "occurred_at",
            TEXT,
            doc="When it happened (valid time), UTC",
            examples=("2025-03-01T09:30:00.000000+00:00",),
        ),
        Column("recorded_at", TEXT, doc="When the ledger recorded it (record time)"),
        Column("recorded_by", TEXT, examples=("JSMITH_GEN",)),
        Column("prison", TEXT, examples=("LEI",)),
        Column("source", TEXT, examples=("journey-ledger-api",)),
        Column("source_ref", TEXT, nullable=True),
        Column("correlation_id", TEXT),
        Column("authority", TEXT, nullable=True),
        Column(
            "summary",
            TEXT,
            examples=("Received into LEI (N, remand), booking 38412A",),
        ),
        Column("data", JSON_OBJECT, doc="The event's own fields"),
        Column(
            "corrects_version",
            INTEGER,
            nullable=True,
            doc="On a correction: the version it corrects",
        ),
        Column(
            "corrected_by_version",
            INTEGER,
            nullable=True,
            written=False,
            doc="On a corrected event: the version of the correction",
        ),
        Column(
            "related_number",
            TEXT,
            nullable=True,
            doc="On a merge or unmerge: the other prisoner number",
        ),
        Column("leaf_hash", TEXT, doc="The event's Merkle leaf hash (hex)"),
    ),
)
"""Rows are made in ``TimelineModel.apply``, in this order, as plain tuples: the
timeline is a third of a rebuild, and a function per column would cost it more."""


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
    tables = (TIMELINE,)
    indexes = (
        Index("timeline_case", TIMELINE, ("prisoner_number", "case_version"), True),
    )

    def apply(self, sql: Sql, page: Page) -> None:
        table = self.t(TIMELINE.name)
        rows = []
        corrections = []
        cases = page.cases
        encode = encode_data
        for position, leaf_hash, event, data in page.items:
            related = corrects = None
            merge: CasesMerged | CasesUnmerged | None = None
            # A case's fact (the fold made its data) is none of the events matched
            # here: most events skip the match, whose misses cost 0.3 us each.
            if data is None:
                match event:
                    case CasesMerged() | CasesUnmerged():
                        merge = event
                    case EventCorrected():
                        corrects = event.corrects_version
                    case CaseEvent():
                        pass
                    case _:
                        continue  # an officer's event, or a read
                data = event.data()
            number = cases[event.originator_id].prisoner_number
            if merge is not None:
                related = (
                    merge.survivor_number
                    if merge.retired_number == number
                    else merge.retired_number
                )
            elif corrects is not None:
                corrections.append((event.originator_version, number, corrects))
            occurred, recorded = event.occurred_at, event.timestamp
            rows.append(
                (
                    position,
                    number,
                    event.originator_version,
                    type(event).__name__,
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
                    event.summary(),
                    encode(data),
                    corrects,
                    related,
                    leaf_hash,
                )
            )
        sql.append(table, TIMELINE.written, rows)
        sql.executemany(
            f"UPDATE {table} SET corrected_by_version=? "
            "WHERE prisoner_number=? AND case_version=?",
            corrections,
        )
