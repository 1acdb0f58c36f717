"""access_log: who read which case when, and who read the access log.

One row per read event (``domain/access.py``), in log order: when, who, with which
roles, which case and what of it (state, timeline, replay, export), or the filters an
access-log read used, the request's correlation id, and the log position that seals
it. The events themselves are the record; this table is only how they are searched.
"""

from __future__ import annotations

import json
from typing import Any

from domain.access import AccessLogRead, CaseRead
from projections.database import Sql
from projections.read_model import Index, Page, ReadModel, moment
from projections.tables import BIGINT, JSON_STRINGS, NAMES, TEXT, Column, Table

CASE_READ = "case_read"
ACCESS_LOG_READ = "access_log_read"

ACCESS_LOG: Table[Any] = Table(
    "access_log",
    (
        Column(
            "position",
            BIGINT,
            key=True,
            doc="The read's position in the log (its seal)",
        ),
        Column("read_at", TEXT, examples=("2025-03-01T09:30:00.000000+00:00",)),
        Column("reader", TEXT, examples=("AUDITOR_GEN",)),
        Column("roles", NAMES, examples=(["inspector"],)),
        Column(
            "kind",
            TEXT,
            doc=f"{CASE_READ} or {ACCESS_LOG_READ}",
            examples=(CASE_READ,),
        ),
        Column("prisoner_number", TEXT, nullable=True, examples=("A1234BC",)),
        Column(
            "resource",
            TEXT,
            doc="What was read: case, replay, timeline, export or access-log",
            examples=("timeline",),
        ),
        Column(
            "filters",
            JSON_STRINGS,
            nullable=True,
            doc="On an access-log read: the filters it used",
        ),
        Column("correlation_id", TEXT),
    ),
)


class AccessLogModel(ReadModel):
    name = "access_log"
    tables = (ACCESS_LOG,)
    indexes = (
        Index("access_log_case", ACCESS_LOG, ("prisoner_number", "position")),
        Index("access_log_reader", ACCESS_LOG, ("reader", "position")),
    )

    def apply(self, sql: Sql, page: Page) -> None:
        rows: list[tuple[Any, ...]] = []
        for position, _, event, data in page.items:
            if data is not None:
                continue  # a case's fact, never a read: no match (a miss is slow)
            number: str | None = None
            filters: str | None = None
            match event:
                case CaseRead():
                    kind, number, resource = (
                        CASE_READ,
                        event.prisoner_number,
                        event.resource,
                    )
                case AccessLogRead():
                    kind, resource = ACCESS_LOG_READ, "access-log"
                    filters = json.dumps(event.filters, sort_keys=True)
                case _:
                    continue
            rows.append(
                (
                    position,
                    moment(event.occurred_at),
                    event.reader,
                    ",".join(event.roles),
                    kind,
                    number,
                    resource,
                    filters,
                    event.correlation_id,
                )
            )
        sql.append(self.t(ACCESS_LOG.name), ACCESS_LOG.written, rows)
