"""caseloads: officers and the cases they hold, with every over-limit override."""

from __future__ import annotations

from domain.events import CaseAllocated, CaseDeallocated, OfficerRegistered
from projections.database import Sql
from projections.read_model import Page, ReadModel, moment


class CaseloadsModel(ReadModel):
    name = "caseloads"
    tables = {  # noqa: RUF012
        "officers": "(officer_id TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "home_prison TEXT NOT NULL, roles TEXT NOT NULL)",
        "caseloads": "(officer_id TEXT NOT NULL, prisoner_number TEXT NOT NULL, "
        "role TEXT NOT NULL, prison TEXT NOT NULL, allocated_at TEXT NOT NULL, "
        "override_reason TEXT, authority TEXT, position BIGINT NOT NULL, "
        "PRIMARY KEY (officer_id, prisoner_number))",
    }
    order_by = {  # noqa: RUF012
        "officers": "officer_id",
        "caseloads": "officer_id, prisoner_number",
    }

    def apply(self, sql: Sql, page: Page) -> None:
        officers, caseloads = self.t("officers"), self.t("caseloads")
        for item in page.items:
            event = item.event
            if isinstance(event, OfficerRegistered):
                sql.execute(
                    f"INSERT INTO {officers} (officer_id, name, home_prison, roles) "
                    "VALUES (?, ?, ?, ?)",
                    (
                        event.officer_id,
                        event.name,
                        event.home_prison,
                        ",".join(event.roles),
                    ),
                )
            elif isinstance(event, CaseAllocated):
                officer = page.officers[event.originator_id]
                sql.execute(
                    f"INSERT INTO {caseloads} (officer_id, prisoner_number, role, "
                    "prison, allocated_at, override_reason, authority, position) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        officer.officer_id,
                        event.prisoner_number,
                        event.role,
                        event.prison,
                        moment(event.occurred_at),
                        event.override_reason,
                        event.authority if event.override_reason else None,
                        item.position,
                    ),
                )
            elif isinstance(event, CaseDeallocated):
                officer = page.officers[event.originator_id]
                sql.execute(
                    f"DELETE FROM {caseloads} WHERE officer_id=? AND prisoner_number=?",
                    (officer.officer_id, event.prisoner_number),
                )
