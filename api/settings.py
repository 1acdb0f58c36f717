"""Every ``LEDGER_*`` setting, read from the environment here and nowhere else.

``LedgerSettings`` holds what every command needs (the store, the cipher key, the
rules' settings, the register of prisons, the evidence key and schedule);
``ApiSettings`` what the HTTP API needs besides (there is no setting that turns
authentication off). Each is read once, by ``from_environment``, at the start of a
command or of the API, and handed to the composition root (``api.wiring``), which
builds the parts from it; no other module reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from api.http.body_limit import DEFAULT_MAX_BODY_BYTES
from domain.errors import InvalidValue
from domain.ledger import DEFAULT_SNAPSHOT_INTERVAL, clock_skew
from domain.officer import CaseloadLimits
from domain.prisons import SETTING as PRISONS_SETTING
from domain.prisons import PrisonRegister
from store.config import DEFAULT_URL
from store.config import VARIABLE as DATABASE_URL_SETTING

DEFAULT_KEY_FILE = "var/ledger-signing.key"
DEFAULT_ORIGIN = "journey-ledger.example/log"
DEFAULT_EVERY_EVENTS = 1000
DEFAULT_EVERY_SECONDS = 60.0


class SettingsError(ValueError):
    """A setting cannot be used; the message names it and says what to set."""


@dataclass(frozen=True)
class LedgerSettings:
    """What every command of the ledger is configured with."""

    database_url: str = DEFAULT_URL
    """The store (LEDGER_DATABASE_URL; forms in ``store.config``)."""
    cipher_key: str | None = None
    """Encrypts every event's state at rest (LEDGER_CIPHER_KEY, base64 AES)."""
    snapshot_interval: int = DEFAULT_SNAPSHOT_INTERVAL
    """Events per aggregate between snapshots (LEDGER_SNAPSHOT_INTERVAL)."""
    caseload_limits: CaseloadLimits = field(default_factory=CaseloadLimits)
    """Most cases per officer and role (LEDGER_CASELOAD_LIMITS=key_worker=6,...)."""
    prisons: PrisonRegister = field(default_factory=PrisonRegister.default)
    """The register of prisons (LEDGER_PRISONS names a JSON file extending it)."""
    max_clock_skew: timedelta = field(default_factory=lambda: clock_skew(None))
    """How far ahead a stated time may be (LEDGER_MAX_CLOCK_SKEW, seconds)."""
    signing_key_file: Path = Path(DEFAULT_KEY_FILE)
    """The log's signing key (LEDGER_SIGNING_KEY_FILE)."""
    log_origin: str = DEFAULT_ORIGIN
    """The checkpoints' origin line and the key's name (LEDGER_LOG_ORIGIN)."""
    checkpoint_every_events: int = DEFAULT_EVERY_EVENTS
    """A checkpoint at least this often in events (LEDGER_CHECKPOINT_EVERY_EVENTS)."""
    checkpoint_every_seconds: float = DEFAULT_EVERY_SECONDS
    """... and in seconds (LEDGER_CHECKPOINT_EVERY_SECONDS)."""

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None
    ) -> LedgerSettings:
        env = os.environ if environ is None else environ

        def given(name: str) -> str | None:
            return (env.get(name) or "").strip() or None

        def number(name: str, kind: type[int] | type[float], default: float) -> float:
            text = given(name)
            if text is None:
                return default
            try:
                value = kind(text)
            except ValueError:
                value = 0
            if value <= 0:
                raise SettingsError(f"{name}={text!r} is not a positive number")
            return value

        try:
            limits = CaseloadLimits.parse(given("LEDGER_CASELOAD_LIMITS") or "")
            skew = clock_skew(given("LEDGER_MAX_CLOCK_SKEW"))
        except InvalidValue as e:
            raise SettingsError(e.message) from None
        return cls(
            database_url=given(DATABASE_URL_SETTING) or DEFAULT_URL,
            cipher_key=given("LEDGER_CIPHER_KEY"),
            snapshot_interval=int(
                number("LEDGER_SNAPSHOT_INTERVAL", int, DEFAULT_SNAPSHOT_INTERVAL)
            ),
            caseload_limits=limits,
            prisons=PrisonRegister.from_setting(given(PRISONS_SETTING)),
            max_clock_skew=skew,
            signing_key_file=Path(given("LEDGER_SIGNING_KEY_FILE") or DEFAULT_KEY_FILE),
            log_origin=given("LEDGER_LOG_ORIGIN") or DEFAULT_ORIGIN,
            checkpoint_every_events=int(
                number("LEDGER_CHECKPOINT_EVERY_EVENTS", int, DEFAULT_EVERY_EVENTS)
            ),
            checkpoint_every_seconds=number(
                "LEDGER_CHECKPOINT_EVERY_SECONDS", float, DEFAULT_EVERY_SECONDS
            ),
        )


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
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """The largest request body read (LEDGER_MAX_BODY_BYTES); larger is 413, refused
    before it is parsed or its token checked."""
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
            max_body_bytes=_body_limit(os.environ.get("LEDGER_MAX_BODY_BYTES")),
        )


def _body_limit(text: str | None) -> int:
    if text is None or not text.strip():
        return DEFAULT_MAX_BODY_BYTES
    if not text.strip().isdigit() or int(text) < 1024:
        raise ApiConfigurationError(
            f"LEDGER_MAX_BODY_BYTES={text!r}: set it to a whole number of bytes, at "
            "least 1024 (default 1048576)"
        )
    return int(text)


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
