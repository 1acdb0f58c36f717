"""The API's settings, from the environment. There is no setting that turns auth off."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit


class ApiConfigurationError(ValueError):
    """The API cannot start as configured; the message says what to set."""


@dataclass(frozen=True)
class ApiSettings:
    jwt_secret: str | None = None
    """HS256 shared secret (LEDGER_JWT_SECRET)."""
    jwt_public_key: str | None = None
    """PEM public key for RS256 / EdDSA tokens (LEDGER_JWT_PUBLIC_KEY: PEM or path)."""
    follow_in_process: bool = True
    """Keep the read models current in this process (LEDGER_FOLLOW_IN_PROCESS)."""
    read_your_writes_timeout: float = 2.0
    """Longest a query with min_position waits for the read models (seconds)."""
    public_url: str | None = None
    """Where other systems reach this API (LEDGER_PUBLIC_URL, e.g.
    ``https://ledger.example.gov.uk``): the feed's links start with it. Unset, they
    are relative (``/cases/A1234BC``). Never taken from a request's Host header,
    which whoever sends the request chooses."""

    def __post_init__(self) -> None:
        if not self.jwt_secret and not self.jwt_public_key:
            raise ApiConfigurationError(
                "set LEDGER_JWT_SECRET (HS256) or LEDGER_JWT_PUBLIC_KEY (RS256/EdDSA, "
                "PEM text or a file): the API never runs without authentication"
            )
        if self.public_url is not None:
            # Frozen: the one normal form is stored so links never carry "//".
            object.__setattr__(self, "public_url", checked_public_url(self.public_url))

    @classmethod
    def from_environment(cls) -> ApiSettings:
        public_key = os.environ.get("LEDGER_JWT_PUBLIC_KEY") or None
        if public_key and not public_key.lstrip().startswith("-----BEGIN"):
            try:
                with open(public_key) as f:
                    public_key = f.read()
            except OSError as e:
                raise ApiConfigurationError(
                    "LEDGER_JWT_PUBLIC_KEY is neither PEM text nor a readable file: "
                    f"{e}"
                ) from None
        follow = os.environ.get("LEDGER_FOLLOW_IN_PROCESS", "yes").lower()
        return cls(
            jwt_secret=os.environ.get("LEDGER_JWT_SECRET") or None,
            jwt_public_key=public_key,
            follow_in_process=follow not in ("0", "no", "false", "off"),
            public_url=os.environ.get("LEDGER_PUBLIC_URL") or None,
        )


def checked_public_url(value: str) -> str:
    """``value`` as the API's public base URL, without a trailing slash; refused
    (ApiConfigurationError, saying what to set) unless it is an absolute http(s)
    URL with a host and no query, fragment or credentials."""
    problem = _url_problem(value)
    if problem is None:
        return value.rstrip("/")
    raise ApiConfigurationError(
        f"LEDGER_PUBLIC_URL {value!r} {problem}: set it to the absolute http(s) URL "
        "other systems reach this API at, such as https://ledger.example.gov.uk (no "
        "query, fragment or credentials), or leave it unset for relative links"
    )


def _url_problem(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as e:
        return f"is not a URL ({e})"
    if any(c.isspace() or not c.isprintable() for c in value):
        return "has spaces or control characters"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an absolute http(s) URL"
    if parts.query or "?" in value:
        return "has a query"
    if parts.fragment or "#" in value:
        return "has a fragment"
    if parts.username is not None or parts.password is not None:
        return "has credentials in it"
    return None
