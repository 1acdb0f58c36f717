"""The access log: every recorded read of a case, for inspectors and investigators;
reading it is recorded too."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from api.console.rendering import (
    PAGE,
    PRISONER_NUMBER,
    Found,
    Person,
    console_router,
    form_choice,
    next_page_link,
    page,
)
from api.http.auth import Forbidden
from api.http.routers.access_log import record_log_read

router = console_router()


@router.get("/access-log", response_class=HTMLResponse)
def access_log(
    request: Request,
    principal: Person,
    found: Found,
    prisoner_number: str = "",
    reader: str = "",
    after: str = "0",
) -> Response:
    if not principal.sees_everything:
        raise Forbidden("the access log is for inspectors and investigators")
    number = form_choice(prisoner_number, PRISONER_NUMBER, "prisoner number")
    who = reader.strip()[:100] or None
    start = int(after) if after.isdigit() and len(after) < 19 else 0
    rows = found.queries.access_log(
        prisoner_number=number, reader=who, after=start, limit=PAGE
    )
    record_log_read(
        request, principal, found, prisoner_number=number, reader=who, after=start
    )
    filters = {"prisoner_number": number or "", "reader": who or ""}
    return page(
        request,
        "access_log.html",
        principal,
        rows=rows,
        filters=filters,
        next_page=next_page_link("/console/access-log", filters, rows, "position"),
    )
