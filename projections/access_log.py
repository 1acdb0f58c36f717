"""access_log: who read which case when, and who read the access log.

One row per read event (``domain/access.py``), in log order: when, who, with which
roles, which case and what of it (state, timeline, replay, export), or the filters an
access-log read used, the request's correlation id, and the log position that seals
it. The events themselves are the record; this table is only how they are searched.
"""

from __future__ import annotations

import json

from domain.access import AccessLogRead, CaseRead
from projections.database import Sql
from projections.read_model import Index, Page, ReadModel, moment

COLUMNS = (
    "position", "read_at", "reader", "roles", "kind", "prisoner_number", "resource",
    "filters", "correlation_id",
)  # fmt: skip
CASE_READ = "case_read"
ACCESS_LOG_READ = "access_log_read"


class AccessLogModel(ReadModel):
    name = "access_log"
    tables = {  # noqa: RUF012
        "access_log": "(position BIGINT PRIMARY KEY, read_at TEXT NOT NULL, "
        "reader TEXT NOT NULL, roles TEXT NOT NULL, kind TEXT NOT NULL, "
        "prisoner_number TEXT, resource TEXT NOT NULL, filters TEXT, "
        "correlation_id TEXT NOT NULL)"
    }
    indexes = (
        Index("access_log_case", "access_log", "prisoner_number, position"),
        Index("access_log_reader", "access_log", "reader, position"),
    )
    order_by = {"access_log": "position"}  # noqa: RUF012

    def apply(self, sql: Sql, page: Page) -> None:
        rows = []
        # Most events are not reads: one lookup by class each, not two isinstance.
        kinds = _KINDS
        for position, _, event, _ in page.items:
            kind = kinds.get(event.__class__)
            if kind is None:
                kind = _kind(event.__class__)
            if kind == CASE_READ:
                number, resource, filters = event.prisoner_number, event.resource, None
            elif kind == ACCESS_LOG_READ:
                number, resource = None, "access-log"
                filters = json.dumps(event.filters, sort_keys=True)
            else:
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
        sql.append(self.t("access_log"), COLUMNS, rows)


_KINDS: dict[type, str] = {}
"""An event class -> CASE_READ, ACCESS_LOG_READ or "" (not a read)."""


def _kind(cls: type) -> str:
    kind = ""
    if issubclass(cls, CaseRead):
        kind = CASE_READ
    elif issubclass(cls, AccessLogRead):
        kind = ACCESS_LOG_READ
    _KINDS[cls] = kind
    return kind
