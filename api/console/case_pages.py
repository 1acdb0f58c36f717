"""Search, a case's page (state, timeline, proof marks, as-of replay) and its bundle.

Under the API's rules (``api/http/auth.py``): a recorder sees only the prisons in the
token's caseload; replay and bundles are for investigators. Opening a case records a
read in the access log, as the API's reads do.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from api.case_bundles import BundleRefused, export_case_bundle
from api.console.rendering import (
    PAGE,
    PRISON_CODE,
    PRISONER_NUMBER,
    Found,
    Person,
    console_router,
    form_choice,
    next_page_link,
    page,
    refused,
    require_prison,
)
from api.http.auth import Forbidden, Role
from api.http.routers.access_log import record_case_read
from api.http.routers.cases import case_prison
from api.http.routers.prisons import known_prison
from api.http.routers.proofs import evidence
from api.services import Services
from domain import errors
from domain.codes import CaseStatus, Tier
from domain.identifiers import case_id
from evidence.errors import EvidenceError
from evidence.keys import load_key_file
from evidence.proof_marks import mark_events
from evidence.signed_note import ED25519, Verifier
from projections.case_state import CASE_STATE, row_of

log = logging.getLogger("journey_ledger.console")

router = console_router()


@router.get("", response_class=HTMLResponse)
@router.get("/cases", response_class=HTMLResponse)
def search(
    request: Request,
    principal: Person,
    found: Found,
    number: str = "",
    prison: str = "",
    status: str = "",
    tier: str = "",
    after: str = "",
) -> Response:
    wanted = form_choice(number, PRISONER_NUMBER, "prisoner number")
    if wanted is not None:
        survivor = _surviving_number(found, wanted)
        if survivor is None:
            raise errors.CaseNotFound(f"no case for {wanted}")
        target = f"/console/cases/{survivor}"
        if survivor != wanted:
            target += "?" + urlencode({"merged_from": wanted})
        return RedirectResponse(target, status_code=303)
    chosen_prison = form_choice(prison, PRISON_CODE, "prison code")
    chosen_status = _enum_choice(status, CaseStatus, "status")
    chosen_tier = _enum_choice(tier, Tier, "tier")
    cursor = form_choice(after, PRISONER_NUMBER, "cursor") or ""
    prisons: list[str] | None = None
    if chosen_prison is not None:
        known_prison(found, chosen_prison, "prison")
        require_prison(principal, chosen_prison)
    elif not principal.may_read_prison(None):
        prisons = sorted(principal.prisons)
    searched = any((chosen_prison, chosen_status, chosen_tier))
    rows = (
        found.queries.cases(
            prison=chosen_prison,
            status=chosen_status,
            tier=chosen_tier,
            limit=PAGE,
            after=cursor,
            prisons=prisons,
        )
        if searched
        else []
    )
    filters = {
        "prison": chosen_prison or "",
        "status": chosen_status or "",
        "tier": chosen_tier or "",
    }
    return page(
        request,
        "search.html",
        principal,
        rows=rows,
        searched=searched,
        filters=filters,
        prisons=found.queries.prisons(),
        statuses=[s.value for s in CaseStatus],
        tiers=[t.value for t in Tier],
        next_page=next_page_link("/console/cases", filters, rows, "prisoner_number"),
    )


def _enum_choice(value: str, kind: Any, name: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    allowed = {member.value for member in kind}
    if value not in allowed:
        raise errors.InvalidValue(name, f"{value!r} is not a {name}")
    return value


def _surviving_number(found: Services, number: str) -> str | None:
    """The case a number now lives in: merged numbers lead to their survivor."""
    row = found.queries.case_state(number)
    seen = {number}
    while row is not None and row["merged_into"] and row["merged_into"] not in seen:
        seen.add(row["merged_into"])
        row = found.queries.case_state(row["merged_into"])
    return None if row is None else str(row["prisoner_number"])


# --- a case -------------------------------------------------------------------------


@router.get("/cases/{prisoner_number}", response_class=HTMLResponse)
def case_page(
    prisoner_number: str,
    request: Request,
    principal: Person,
    found: Found,
    as_of: str = "",
    known_at: str = "",
    merged_from: str = "",
) -> Response:
    number = form_choice(prisoner_number, PRISONER_NUMBER, "prisoner number")
    assert number is not None
    current = found.queries.case_state(number)
    if current is None:
        raise errors.CaseNotFound(f"no case for {number}")
    require_prison(principal, current["prison"])
    as_of_at = _moment("as of", as_of)
    known_at_at = _moment("known at", known_at)
    replay = None
    state: dict[str, Any] | None = current
    if as_of_at is not None or known_at_at is not None:
        if not principal.has(Role.INVESTIGATOR):
            raise Forbidden(
                "the case as of a date (replay) needs the investigator role"
            )
        replay = found.ledger.replay(number, as_of=as_of_at, known_at=known_at_at)
        state = (
            CASE_STATE.written_dict(row_of(replay.case))
            if replay.case is not None
            else None
        )
    timeline = found.queries.timeline(number)
    counted = {e.version for e in replay.events} if replay is not None else None
    marks = mark_events(
        evidence(request, found),
        str(case_id(number)),
        verifier(found.settings.signing_key_file),
    )
    entries = [
        {
            **row,
            "data": json.loads(row["data"]),
            "mark": marks.marks.get(row["position"]),
            "counted": counted is None or row["case_version"] in counted,
        }
        for row in timeline
    ]
    record_case_read(
        request, principal, found, number, "replay" if replay else "timeline"
    )
    return page(
        request,
        "case.html",
        principal,
        number=number,
        state=state,
        current=current,
        replay=replay,
        as_of=as_of,
        known_at=known_at,
        entries=entries,
        marks=marks,
        merged_from=form_choice(merged_from, PRISONER_NUMBER, "merged number"),
    )


def verifier(path: Path) -> Verifier | None:
    """The log's verifier key, from the signing key this server holds (if any)."""
    if not path.exists():
        return None
    try:
        return load_key_file(path, ED25519).verifier()
    except EvidenceError as e:
        log.warning("console: cannot read the log key: %s", e)
        return None


def _moment(name: str, text: str) -> datetime | None:
    """A date (end of that day, UTC) or a date and time (UTC) from a form field."""
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1), time(), UTC) - timedelta(
                microseconds=1
            )
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise errors.InvalidValue(
            name, f"{name}: {text!r} is not a date (YYYY-MM-DD) or a date and time"
        ) from None
    if not 1900 <= moment.year <= 2999:
        raise errors.InvalidValue(name, f"{name} must be from 1900 to 2999")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/cases/{prisoner_number}/bundle")
def download_bundle(
    prisoner_number: str, request: Request, principal: Person, found: Found
) -> Response:
    number = form_choice(prisoner_number, PRISONER_NUMBER, "prisoner number")
    assert number is not None
    if not principal.has(Role.INVESTIGATOR):
        raise Forbidden("bundles (case exports) need the investigator role")
    prison = case_prison(found, number)
    if prison is None:
        raise errors.CaseNotFound(f"no case for {number}")
    try:
        bundle = export_case_bundle(
            found.ledger,
            evidence(request, found),
            number,
            signing_key_file=found.settings.signing_key_file,
        )
    except BundleRefused as e:
        return refused(request, e.status, "Cannot make the bundle", e.detail)
    record_case_read(request, principal, found, number, "export")
    return JSONResponse(
        bundle,
        headers={"Content-Disposition": f'attachment; filename="{quote(number)}.json"'},
    )
