"""Who is asking: bearer JWTs with HMPPS-style roles and a caseload of prisons.

Roles, as the ``authorities`` claim carries them:

- recorder: ``ROLE_JOURNEY_LEDGER__CASES__RW``: records and reads, only for the
  prisons in the token's ``caseloads`` claim;
- inspector: ``ROLE_JOURNEY_LEDGER__AUDIT__RO``: reads everything, including timelines
  and the access log; never writes;
- investigator: ``ROLE_JOURNEY_LEDGER__INVESTIGATION__RO``: an inspector who may also
  replay (as_of / known_at) and export bundles;
- consumer: ``ROLE_JOURNEY_LEDGER__FEED__RO``: the feed and case state, without
  personal details or narratives;
- admin: ``ROLE_JOURNEY_LEDGER__ADMIN``: operations (rebuilds, keys); no case data.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from fastapi import Request

from api.settings import ApiSettings


class Role(StrEnum):
    RECORDER = "ROLE_JOURNEY_LEDGER__CASES__RW"
    INSPECTOR = "ROLE_JOURNEY_LEDGER__AUDIT__RO"
    INVESTIGATOR = "ROLE_JOURNEY_LEDGER__INVESTIGATION__RO"
    CONSUMER = "ROLE_JOURNEY_LEDGER__FEED__RO"
    ADMIN = "ROLE_JOURNEY_LEDGER__ADMIN"


ROLE_NAMES = {
    "recorder": Role.RECORDER,
    "inspector": Role.INSPECTOR,
    "investigator": Role.INVESTIGATOR,
    "consumer": Role.CONSUMER,
    "admin": Role.ADMIN,
}
ISSUER = "journey-ledger"


class NotAuthenticated(Exception):
    """401: no token, or one that does not verify."""


class Forbidden(Exception):
    """403: a valid token that may not do this."""


@dataclass(frozen=True)
class Principal:
    user: str
    roles: frozenset[Role]
    prisons: frozenset[str]

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_person(self) -> bool:
        """People's reads of a case are recorded; a consumer system's are not."""
        return self.has(Role.RECORDER, Role.INSPECTOR, Role.INVESTIGATOR)

    @property
    def sees_everything(self) -> bool:
        return self.has(Role.INSPECTOR, Role.INVESTIGATOR)

    def may_read_prison(self, prison: str | None) -> bool:
        if self.sees_everything or self.has(Role.CONSUMER):
            return True
        return self.has(Role.RECORDER) and prison in self.prisons

    def require_recorder_at(self, prison: str) -> None:
        if not self.has(Role.RECORDER):
            raise Forbidden("recording needs the recorder role")
        if prison not in self.prisons:
            raise Forbidden(f"{prison} is not in this token's caseload")


VERIFIED_TOKENS = 1_024
"""How many verified tokens are remembered: a client sends the same token on every
request until it expires, and checking its signature and claims again was a sixth of
the event loop's time per command."""


def decode_token(token: str, settings: ApiSettings) -> Principal:
    if settings.jwt_public_key:
        principal, expires = _verified(token, settings.jwt_public_key, public=True)
    else:
        principal, expires = _verified(token, settings.jwt_secret or "", public=False)
    # A remembered token still expires: the check PyJWT makes (no leeway).
    if expires <= time.time():
        raise NotAuthenticated(
            "the bearer token does not verify: Signature has expired"
        )
    return principal


@functools.lru_cache(maxsize=VERIFIED_TOKENS)
def _verified(token: str, key: str, *, public: bool) -> tuple[Principal, float]:
    """The token's principal and expiry, if it verifies with ``key`` (refusals are
    raised, so never remembered). The key is part of what is remembered: apps with
    other keys in the same process do not share answers."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256", "EdDSA"] if public else ["HS256"],
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError as e:
        raise NotAuthenticated(f"the bearer token does not verify: {e}") from None
    except (OverflowError, ValueError, TypeError):
        # A signed token whose claims PyJWT cannot even compare (exp: 10**400).
        raise NotAuthenticated(
            "the bearer token's time claims are out of range"
        ) from None
    return _principal(claims), _expiry(claims["exp"])


LATEST_EXPIRY = 2**34
"""Seconds since 1970 no token may expire after (the year 2514): a signed claim is
still input, and a larger number is no expiry at all."""


def _expiry(exp: Any) -> float:
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise NotAuthenticated("the bearer token's exp claim is not a number")
    if not 0 < exp < LATEST_EXPIRY:
        raise NotAuthenticated("the bearer token's exp claim is out of range")
    return float(exp)


def _strings(claims: dict[str, Any], name: str) -> list[str]:
    """A claim that must be a list of short strings (absent: empty)."""
    value = claims.get(name) or []
    if not isinstance(value, list) or not all(
        isinstance(v, str) and 0 < len(v) <= 200 for v in value
    ):
        raise NotAuthenticated(
            f"the bearer token's {name} claim must be a list of names"
        )
    return value


def _principal(claims: dict[str, Any]) -> Principal:
    known = {r.value: r for r in Role}
    authorities = _strings(claims, "authorities")
    caseloads = _strings(claims, "caseloads")
    user = claims.get("user_name") or claims["sub"]
    if not isinstance(user, str) or not 0 < len(user) <= 200:
        raise NotAuthenticated("the bearer token's user_name / sub is not a user id")
    return Principal(
        user=user,
        roles=frozenset(known[a] for a in authorities if a in known),
        prisons=frozenset(caseloads),
    )


def mint_token(
    secret: str,
    *,
    roles: Iterable[Role],
    prisons: Iterable[str] = (),
    user: str = "DEMO_USER",
    ttl_seconds: int = 8 * 3600,
) -> str:
    """An HS256 token for local use (``ledger token``, the demo, tests)."""
    now = int(time.time())
    claims = {
        "sub": user,
        "user_name": user,
        "iss": ISSUER,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
        "authorities": [r.value for r in roles],
        "caseloads": sorted(prisons),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


# The dependencies below are coroutines that never await: FastAPI runs a plain
# function dependency in its thread pool, a hand-off to a worker thread and back on
# every request, which cost more than the checks themselves.


def principal_of(request: Request) -> Principal:
    """The caller, from the request's bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("send Authorization: Bearer <token>")
    settings: ApiSettings = request.app.state.settings
    return decode_token(token.strip(), settings)


def requires(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, who must hold one of ``roles``.

    One dependency, where the caller's principal was a second one beneath it:
    FastAPI resolves every level of dependencies again for every request."""

    async def check(request: Request) -> Principal:
        principal = principal_of(request)
        if not principal.has(*roles):
            raise Forbidden(
                "this needs one of: " + ", ".join(sorted(r.value for r in roles))
            )
        return principal

    return check
