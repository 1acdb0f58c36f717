"""Signing in (a pasted token, checked, then kept in the cookie) and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console.rendering import console_router, templates
from api.console.session import forget_token, keep_token, principal_of
from api.http.auth import NotAuthenticated

router = console_router()


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
