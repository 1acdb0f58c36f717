"""The API's settings, from the environment. There is no setting that turns auth off."""

from __future__ import annotations

import os
from dataclasses import dataclass


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

    def __post_init__(self) -> None:
        if not self.jwt_secret and not self.jwt_public_key:
            raise ApiConfigurationError(
                "set LEDGER_JWT_SECRET (HS256) or LEDGER_JWT_PUBLIC_KEY (RS256/EdDSA, "
                "PEM text or a file): the API never runs without authentication"
            )

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
        )
