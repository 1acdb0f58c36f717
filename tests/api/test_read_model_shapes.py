"""The API's read-model responses: the published fields stay, and each is its table's
column, with the column's type as readers see it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from api.http.app import create_app
from api.http.routers.access_log import AccessEntry
from api.http.routers.cases import CaseState
from api.http.routers.queries import Caseload, HeldCase, OverdueCheck, TimelineEntry
from api.settings import ApiSettings
from projections.access_log import ACCESS_LOG
from projections.case_state import CASE_STATE
from projections.caseloads import CASELOADS, OFFICERS
from projections.overdue import OVERDUE_CHECKS
from projections.tables import Table
from projections.timeline import TIMELINE
from tests.api.conftest import SECRET

# What the API has published for each read-model response: field -> JSON type, "|"
# for a choice, "?" for a field that may be left out. A field may be added to these
# (a column added to its table), never taken away or given another type.
PUBLISHED: dict[str, dict[str, str]] = {
    "CaseState": {
        "prisoner_number": "string",
        "requested_number": "string",
        "status": "string",
        "prison": "string|null",
        "booking_no": "string|null",
        "received_at": "string|null",
        "legal_status": "string|null",
        "key_worker": "string|null",
        "pom": "string|null",
        "dedicated_officer": "string|null",
        "tier": "string|null",
        "tier_change_level": "integer|null",
        "rosh": "string|null",
        "incentive_level": "string|null",
        "acct_open": "boolean",
        "release_date_type": "string|null",
        "release_date": "string|null",
        "release_on": "string|null",
        "release_flagged": "boolean",
        "early_release_date": "string|null",
        "initial_screening_at": "string|null",
        "comprehensive_screening_at": "string|null",
        "resettlement_finished": "integer",
        "resettlement_total": "integer",
        "merged_into": "string|null",
        "version": "integer",
        "replayed": "Replayed|null?",
    },
    "TimelineEntry": {
        "position": "integer",
        "case_version": "integer",
        "kind": "string",
        "occurred_at": "string",
        "recorded_at": "string",
        "recorded_by": "string",
        "prison": "string",
        "source": "string",
        "source_ref": "string|null",
        "correlation_id": "string",
        "authority": "string|null",
        "summary": "string",
        "data": "object",
        "corrects_version": "integer|null",
        "corrected_by_version": "integer|null",
        "related_number": "string|null",
        "leaf_hash": "string",
    },
    "HeldCase": {
        "prisoner_number": "string",
        "role": "string",
        "prison": "string",
        "allocated_at": "string",
        "override_reason": "string|null",
        "authority": "string|null",
    },
    "Caseload": {
        "officer_id": "string",
        "name": "string",
        "home_prison": "string",
        "roles": "array[string]",
        "cases": "array[HeldCase]",
    },
    "OverdueCheck": {
        "prisoner_number": "string",
        "check_name": "string",
        "due_at": "string",
        "detail": "string|null",
    },
    "AccessEntry": {
        "position": "integer",
        "read_at": "string",
        "reader": "string",
        "roles": "array[string]",
        "kind": "string",
        "prisoner_number": "string|null",
        "resource": "string",
        "filters": "object[string]|null",
        "correlation_id": "string",
    },
}


class _NoServices:
    def close(self) -> None:
        pass


def _type(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return "|".join(_type(s) for s in schema["anyOf"])
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[1]
    kind = str(schema["type"])
    if kind == "array":
        return f"array[{_type(schema['items'])}]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object[{_type(schema['additionalProperties'])}]"
    return kind


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, str]]:
    """Each response schema of the OpenAPI document, as in ``PUBLISHED``."""
    app = create_app(ApiSettings(jwt_secret=SECRET), services=_NoServices())  # type: ignore[arg-type]
    found = {}
    for name, schema in app.openapi()["components"]["schemas"].items():
        required = set(schema.get("required", ()))
        found[name] = {
            field: _type(s) + ("" if field in required else "?")
            for field, s in schema.get("properties", {}).items()
        }
    return found


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_fields_stay_in_order_with_their_types(
    schemas: dict[str, dict[str, str]], name: str
) -> None:
    published = PUBLISHED[name]
    served = schemas[name]
    assert {f: served.get(f) for f in published} == published
    assert [f for f in served if f in published] == list(published)


JSON_TYPES = {str: "string", int: "integer", bool: "boolean"}

# Each response model, its table, and the table's columns it leaves out.
MODELS: list[tuple[type[BaseModel], Table[Any], set[str]]] = [
    (CaseState, CASE_STATE, {"case_id"}),
    (TimelineEntry, TIMELINE, {"prisoner_number"}),
    (HeldCase, CASELOADS, {"officer_id"}),
    (Caseload, OFFICERS, set()),
    (OverdueCheck, OVERDUE_CHECKS, {"prison"}),
    (AccessEntry, ACCESS_LOG, set()),
]


@pytest.mark.parametrize(
    ("model", "table", "left_out"), MODELS, ids=[m.__name__ for m, _, _ in MODELS]
)
def test_each_response_serves_its_table_s_columns(
    schemas: dict[str, dict[str, str]],
    model: type[BaseModel],
    table: Table[Any],
    left_out: set[str],
) -> None:
    served = schemas[model.__name__]
    columns = [c for c in table.columns if c.name not in left_out]
    assert [f for f in served if f in table.names] == [c.name for c in columns]
    for column in columns:
        kind = JSON_TYPES.get(column.kind.python)
        if kind is not None:
            nullable = column.nullable or (model, column.name) == (
                OverdueCheck,
                "detail",
            )
            assert served[column.name] == kind + ("|null" if nullable else "")


def test_a_stored_row_is_served_with_its_readers_types() -> None:
    row = {
        "position": 7,
        "read_at": "2025-03-01T09:30:00.000000+00:00",
        "reader": "AUDITOR_GEN",
        "roles": "inspector,investigator",
        "kind": "access_log_read",
        "prisoner_number": None,
        "resource": "access-log",
        "filters": '{"reader": "KW1_LEI"}',
        "correlation_id": "corr-1",
    }
    entry = AccessEntry(**row).model_dump()
    assert (entry["roles"], entry["filters"]) == (
        ["inspector", "investigator"],
        {"reader": "KW1_LEI"},
    )
    assert AccessEntry(**{**row, "filters": None}).model_dump()["filters"] is None
