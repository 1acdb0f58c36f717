"""caseloads: officers and the cases they hold, with every over-limit override.

Written from the Officer aggregate's own caseload: each page replaces the rows of the
officers it touched.
"""

from __future__ import annotations

from projections.database import Sql
from projections.read_model import Page, ReadModel, moment

CASELOAD_COLUMNS = (
    "officer_id", "prisoner_number", "role", "prison", "allocated_at",
    "override_reason", "authority",
)  # fmt: skip


class CaseloadsModel(ReadModel):
    name = "caseloads"
    tables = {  # noqa: RUF012
        "officers": "(officer_id TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "home_prison TEXT NOT NULL, roles TEXT NOT NULL)",
        "caseloads": "(officer_id TEXT NOT NULL, prisoner_number TEXT NOT NULL, "
        "role TEXT NOT NULL, prison TEXT NOT NULL, allocated_at TEXT NOT NULL, "
        "override_reason TEXT, authority TEXT, "
        "PRIMARY KEY (officer_id, prisoner_number))",
    }
    order_by = {  # noqa: RUF012
        "officers": "officer_id",
        "caseloads": "officer_id, prisoner_number",
    }

    def apply(self, sql: Sql, page: Page) -> None:
        officers = list(page.officers.values())
        if not officers:
            return
        # Each touched officer's rows are replaced whole: delete, then COPY.
        ids = [o.officer_id for o in page.seen_before(page.officers)]
        sql.delete_where_in(self.t("officers"), "officer_id", ids)
        sql.append(
            self.t("officers"),
            ("officer_id", "name", "home_prison", "roles"),
            [
                (o.officer_id, o.name, o.home_prison, ",".join(o.roles))
                for o in officers
            ],
        )
        table = self.t("caseloads")
        sql.delete_where_in(table, "officer_id", ids)
        sql.append(
            table,
            CASELOAD_COLUMNS,
            [
                (
                    o.officer_id,
                    number,
                    held["role"],
                    held["prison"],
                    moment(held["allocated_at"]),
                    held["override_reason"],
                    held["authority"],
                )
                for o in officers
                for number, held in o.caseload.items()
            ],
        )
