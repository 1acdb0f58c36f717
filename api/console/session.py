"""Who is using the console: the token from sign-in, kept in an HTTP-only cookie.

The cookie holds the same bearer JWT the API takes, so the console has no second
way in: a token that verifies for the API with a person's role (recorder, inspector,
investigator) opens the console; a consumer system's or admin's token does not.
"""

from __future__ import annotations

from fastapi import Request, Response

from api.http.auth import NotAuthenticated, Principal, Role, decode_token
from api.settings import ApiSettings

COOKIE = "ledger_console"
PEOPLE = (Role.RECORDER, Role.INSPECTOR, Role.INVESTIGATOR)


class SignInNeeded(Exception):
    """No console cookie, or one whose token no longer verifies."""


class NotForConsole(Exception):
    """A valid token without a person's role."""


def principal_of(token: str, settings: ApiSettings) -> Principal:
    """The person a pasted token names; refuses tokens that are not a person's."""
    principal = decode_token(token.strip(), settings)
    if not principal.has(*PEOPLE):
        raise NotForConsole(
            "the console is for people who read case histories (recorders, "
            "inspectors, investigators); this token's roles do not include one"
        )
    return principal


def console_principal(request: Request) -> Principal:
    """A route dependency: the signed-in person."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInNeeded("sign in with your token to use the console")
    try:
        return principal_of(token, request.app.state.settings)
    except NotAuthenticated as e:
        raise SignInNeeded(f"your token no longer verifies ({e}); sign in again") from e


def keep_token(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/console",
    )


def forget_token(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/console")
