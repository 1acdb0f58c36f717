"""The console's pages: sign-in, search, case, prisons, league table, access log.

Each page reads what the API's queries read, under the same rules (``api/auth.py``):
a recorder sees only the prisons in the token's caseload; replay (as of a date) and
bundles are for investigators; the access log is for inspectors and investigators.
Opening a case records a read in the access log, as the API's reads do.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from api.auth import Forbidden, NotAuthenticated, Principal, Role
from api.console.charts import Bar, bar_chart
from api.console.session import (
    NotForConsole,
    SignInNeeded,
    console_principal,
    forget_token,
    keep_token,
    principal_of,
)
from api.routers.access_log import record_case_read, role_names
from api.routers.cases import case_prison
from api.routers.proofs import BundleRefused, case_bundle, evidence
from api.services import Services, services
from domain import errors
from domain.codes import CaseStatus, Tier
from domain.identifiers import case_id
from projections.case_state import COLUMNS as CASE_STATE_COLUMNS
from projections.case_state import row_of
from store.evidence_errors import EvidenceError
from store.keys import load_key_file, signing_key_path
from store.proof_marks import mark_events
from store.signed_note import ED25519, Verifier

log = logging.getLogger("journey_ledger.console")
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def when(value: str | None) -> str:
    """A stored UTC time as people read it: ``2025-03-01 09:30 UTC``."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["when"] = when
PRISONER_NUMBER = re.compile(r"^[A-Z]\d{4}[A-Z]{2}$")
PRISON_CODE = re.compile(r"^[A-Z]{3}$")
MONTH = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$")
PAGE = 50
CHART_MONTHS = 12


class ConsolePageRoute(APIRoute):
    """Refusals as pages a person can read (not problem+json): sign-in when the
    cookie is missing or stale, 403, 404, 422 and 503 explained in words."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded as e:
                target = "/console/sign-in?" + urlencode(
                    {"next": _local_path(request), "why": str(e)}
                )
                return RedirectResponse(target, status_code=303)
            except (Forbidden, NotForConsole) as e:
                return refused(request, 403, "Not for this token", str(e))
            except (errors.CaseNotFound, errors.OfficerNotFound) as e:
                return refused(request, 404, "Not found", e.message)
            except errors.DomainError as e:
                return refused(request, 422, "Cannot show that", e.message)
            except RequestValidationError as e:
                fields = ", ".join(str(err.get("loc", ("",))[-1]) for err in e.errors())
                return refused(request, 422, "Cannot show that", f"invalid: {fields}")
            except PersistenceError:
                log.warning("console: the store is unavailable")
                return refused(
                    request,
                    503,
                    "The ledger is unavailable",
                    "the event store cannot be reached just now; try again shortly",
                )

        return handle


router = APIRouter(
    prefix="/console", route_class=ConsolePageRoute, include_in_schema=False
)
Person = Annotated[Principal, Depends(console_principal)]
Found = Annotated[Services, Depends(services)]


def _local_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def refused(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "refused.html",
        {"title": title, "detail": detail, "principal": None},
        status_code=status,
    )


def page(
    request: Request, name: str, principal: Principal, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {
            "principal": principal,
            "roles": role_names(principal),
            "is_investigator": principal.has(Role.INVESTIGATOR),
            "is_auditor": principal.sees_everything,
            **context,
        },
    )


def _choice(value: str | None, pattern: re.Pattern[str], name: str) -> str | None:
    """An optional filter from a form: blank is none; anything else must fit."""
    value = (value or "").strip().upper()
    if not value:
        return None
    if not pattern.match(value):
        raise errors.InvalidValue(name, f"{value!r} is not a valid {name}")
    return value


def require_prison(principal: Principal, prison: str | None) -> None:
    if not principal.may_read_prison(prison):
        raise Forbidden(f"{prison} is not in this token's caseload")


# --- signing in and out -------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str = "/console", why: str = "") -> Response:
    return templates.TemplateResponse(
        request,
        "sign_in.html",
        {"next": _safe_next(next), "why": why[:300], "principal": None},
    )


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    token: Annotated[str, Form(max_length=8_000)] = "",
    next: Annotated[str, Form(max_length=2_000)] = "/console",
) -> Response:
    try:
        principal_of(token, request.app.state.settings)
    except NotAuthenticated as e:
        return templates.TemplateResponse(
            request,
            "sign_in.html",
            {"next": _safe_next(next), "why": str(e), "principal": None},
            status_code=401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    keep_token(request, response, token)
    return response


@router.post("/sign-out")
def sign_out() -> Response:
    response = RedirectResponse("/console/sign-in", status_code=303)
    forget_token(response)
    return response


def _safe_next(target: str) -> str:
    """Only back into the console: never an open redirect to another site."""
    if not target.startswith("/console") or target.startswith("/console//"):
        return "/console"
    return target


# --- search -------------------------------------------------------------------------


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
    wanted = _choice(number, PRISONER_NUMBER, "prisoner number")
    if wanted is not None:
        survivor = _surviving_number(found, wanted)
        if survivor is None:
            raise errors.CaseNotFound(f"no case for {wanted}")
        target = f"/console/cases/{survivor}"
        if survivor != wanted:
            target += "?" + urlencode({"merged_from": wanted})
        return RedirectResponse(target, status_code=303)
    chosen_prison = _choice(prison, PRISON_CODE, "prison code")
    chosen_status = _enum_choice(status, CaseStatus, "status")
    chosen_tier = _enum_choice(tier, Tier, "tier")
    cursor = _choice(after, PRISONER_NUMBER, "cursor") or ""
    prisons: list[str] | None = None
    if chosen_prison is not None:
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
    next_page = None
    if len(rows) == PAGE:
        next_page = "/console/cases?" + urlencode(
            {
                "prison": chosen_prison or "",
                "status": chosen_status or "",
                "tier": chosen_tier or "",
                "after": rows[-1]["prisoner_number"],
            }
        )
    return page(
        request,
        "search.html",
        principal,
        rows=rows,
        searched=searched,
        filters={
            "prison": chosen_prison or "",
            "status": chosen_status or "",
            "tier": chosen_tier or "",
        },
        prisons=found.queries.prisons(),
        statuses=[s.value for s in CaseStatus],
        tiers=[t.value for t in Tier],
        next_page=next_page,
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
    number = _choice(prisoner_number, PRISONER_NUMBER, "prisoner number")
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
            dict(zip(CASE_STATE_COLUMNS, row_of(replay.case), strict=True))
            if replay.case is not None
            else None
        )
    timeline = found.queries.timeline(number)
    counted = {e.version for e in replay.events} if replay is not None else None
    marks = mark_events(evidence(request, found), str(case_id(number)), verifier())
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
        merged_from=_choice(merged_from, PRISONER_NUMBER, "merged number"),
    )


def verifier() -> Verifier | None:
    """The log's verifier key, from the signing key this server holds (if any)."""
    path = signing_key_path()
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
    number = _choice(prisoner_number, PRISONER_NUMBER, "prisoner number")
    assert number is not None
    if not principal.has(Role.INVESTIGATOR):
        raise Forbidden("bundles (case exports) need the investigator role")
    prison = case_prison(found, number)
    if prison is None:
        raise errors.CaseNotFound(f"no case for {number}")
    try:
        bundle = case_bundle(found, evidence(request, found), number)
    except BundleRefused as e:
        return refused(request, e.status, "Cannot make the bundle", e.detail)
    record_case_read(request, principal, found, number, "export")
    return JSONResponse(
        bundle,
        headers={"Content-Disposition": f'attachment; filename="{quote(number)}.json"'},
    )


# --- prisons ------------------------------------------------------------------------


@router.get("/prisons", response_class=HTMLResponse)
def prisons(request: Request, principal: Person, found: Found) -> Response:
    codes = [p for p in found.queries.prisons() if principal.may_read_prison(p)]
    now = datetime.now(UTC)
    return page(
        request,
        "prisons.html",
        principal,
        prisons=[(code, len(found.queries.roll(code, now))) for code in codes],
    )


@router.get("/prisons/{code}", response_class=HTMLResponse)
def prison_page(
    code: str,
    request: Request,
    principal: Person,
    found: Found,
    month: str = "",
) -> Response:
    prison = _choice(code, PRISON_CODE, "prison code")
    assert prison is not None
    require_prison(principal, prison)
    last = _choice(month, MONTH, "month") or datetime.now(UTC).strftime("%Y-%m")
    months = _months_ending(last, CHART_MONTHS)
    series = [found.queries.indicators(prison, m) for m in months]
    roll = found.queries.roll(prison)
    officers = found.queries.officers_at(prison)
    limits = found.ledger.caseload_limits
    for officer in officers:
        officer["limits"] = {
            role: limits.limit_for(role) for role in officer["roles"].split(",") if role
        }
    return page(
        request,
        "prison.html",
        principal,
        prison=prison,
        month=last,
        roll=roll,
        officers=officers,
        over_limit=found.queries.over_limit_allocations(prison),
        overdue=found.queries.overdue(prison),
        charts=_indicator_charts(prison, series),
        series=series,
    )


def _months_ending(last: str, count: int) -> list[str]:
    year, month = int(last[:4]), int(last[5:])
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _label(month: str) -> str:
    return datetime.strptime(month, "%Y-%m").strftime("%b %y")


def _indicator_charts(prison: str, series: list[Any]) -> list[dict[str, Any]]:
    def chart(key: str, title: str, measure: Callable[[Any], float], percent: bool):
        bars = [
            Bar(
                _label(row.month),
                measure(row),
                f"{measure(row):.1f}%" if percent else f"{measure(row):.1f}",
            )
            for row in series
        ]
        first, last = series[0].month, series[-1].month
        return {
            "id": f"chart-{key}",
            "title": title,
            "svg": bar_chart(
                f"chart-{key}",
                f"{title}, {prison}",
                f"{title} at {prison} by month, {first} to {last}",
                bars,
            ),
        }

    return [
        chart(
            "population",
            "Average daily population",
            lambda r: r.average_daily_population,
            False,
        ),
        chart(
            "incidents",
            "Incidents per 1,000 population",
            lambda r: r.per_thousand("incidents"),
            False,
        ),
        chart(
            "self-harm",
            "Self-harm per 1,000 population",
            lambda r: r.per_thousand("self_harm"),
            False,
        ),
        chart(
            "drug-tests",
            "Positive drug tests (% of tests)",
            lambda r: 100 * r.as_dict()["drug_tests_positive_rate"],
            True,
        ),
        chart(
            "screening",
            "Initial screening on time (% of receptions)",
            lambda r: 100 * r.as_dict()["initial_screening_on_time_rate"],
            True,
        ),
    ]


# --- league table and access log ----------------------------------------------------


@router.get("/league-table", response_class=HTMLResponse)
def league_table(
    request: Request, principal: Person, found: Found, month: str = ""
) -> Response:
    chosen = _choice(month, MONTH, "month") or datetime.now(UTC).strftime("%Y-%m")
    return page(
        request,
        "league.html",
        principal,
        month=chosen,
        rows=found.queries.league_table(chosen),
    )


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
    number = _choice(prisoner_number, PRISONER_NUMBER, "prisoner number")
    who = reader.strip()[:100] or None
    start = int(after) if after.isdigit() and len(after) < 19 else 0
    rows = found.queries.access_log(
        prisoner_number=number, reader=who, after=start, limit=PAGE
    )
    found.ledger.record_access_log_read(
        reader=principal.user,
        roles=role_names(principal),
        correlation_id=request.state.correlation_id,
        filters={
            name: str(value)
            for name, value in (
                ("prisoner_number", number),
                ("reader", who),
                ("after", start),
            )
            if value is not None
        },
    )
    next_page = None
    if len(rows) == PAGE:
        next_page = "/console/access-log?" + urlencode(
            {
                "prisoner_number": number or "",
                "reader": who or "",
                "after": rows[-1]["position"],
            }
        )
    return page(
        request,
        "access_log.html",
        principal,
        rows=rows,
        filters={"prisoner_number": number or "", "reader": who or ""},
        next_page=next_page,
    )
