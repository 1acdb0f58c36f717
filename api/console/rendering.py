"""How a console page is made: templates, the signed-in person's context, form
values checked at the edge, and refusals rendered as pages a person can read.

Every console router uses :class:`ConsolePageRoute`, so a missing or stale cookie
sends the browser to sign-in, and a 403, 404, 422 or 503 is a page that says why
(never problem+json, never a 500).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from api.console.session import NotForConsole, SignInNeeded, console_principal
from api.http.auth import Forbidden, Principal, Role
from api.http.problems import PrisonNotFound
from api.http.routers.access_log import role_names
from api.services import Services, services
from domain import errors

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
            except PrisonNotFound as e:
                return refused(request, 404, "No such prison", e.message)
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


def console_router() -> APIRouter:
    """A router for console pages (HTML, left out of the OpenAPI document)."""
    return APIRouter(
        prefix="/console", route_class=ConsolePageRoute, include_in_schema=False
    )


def caught_up(
    request: Request, found: Annotated[Services, Depends(services)]
) -> Services:
    """The services, once the read models hold everything recorded before this
    request: a page shows the reads and writes that came before it (the access log
    shows the case you just opened). Bounded by the read-your-writes timeout; only
    when the read models follow in this process. Past the bound the page is still
    shown (an inspector can read what is there), with a notice that it is behind."""
    if found.follower is not None:
        head = found.ledger.recorder.max_notification_id() or 0
        timeout = request.app.state.settings.read_your_writes_timeout
        if not found.runner.wait_for(head, timeout):
            request.state.behind = (found.runner.position, head)
    return found


Person = Annotated[Principal, Depends(console_principal)]
Found = Annotated[Services, Depends(caught_up)]


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
            "behind": getattr(request.state, "behind", None),
            **context,
        },
    )


def form_choice(value: str | None, pattern: re.Pattern[str], name: str) -> str | None:
    """An optional filter from a form: blank is none; anything else must fit."""
    value = (value or "").strip().upper()
    if not value:
        return None
    if not pattern.match(value):
        raise errors.InvalidValue(name, f"{value!r} is not a valid {name}")
    return value


def next_page_link(
    path: str, filters: dict[str, str], rows: list[dict[str, Any]], cursor: str
) -> str | None:
    """The link to the page after a full one; None after the last."""
    if len(rows) < PAGE:
        return None
    return f"{path}?" + urlencode({**filters, "after": rows[-1][cursor]})


def require_prison(principal: Principal, prison: str | None) -> None:
    if not principal.may_read_prison(prison):
        raise Forbidden(f"{prison} is not in this token's caseload")
