"""The composition root: the one place the parts are built, from the settings.

Every command and the API read their settings once (``api.settings``) and build what
they use here: the ledger on its store with its rules' settings, the read models,
the register of prisons, the evidence signer and schedule.
"""

from __future__ import annotations

from api.settings import LedgerSettings
from domain.ledger import JourneyLedger
from evidence.checkpoint import CheckpointSchedule
from store.config import environment_for

AES_CIPHER_TOPIC = "eventsourcing.cipher:AESCipher"


def cipher_environment(cipher_key: str | None) -> dict[str, str]:
    """The library's settings for the AES cipher, when there is a key."""
    if not cipher_key:
        return {}
    return {"CIPHER_TOPIC": AES_CIPHER_TOPIC, "CIPHER_KEY": cipher_key}


def store_environment(settings: LedgerSettings) -> dict[str, str]:
    """The eventsourcing environment for the configured store and cipher."""
    return environment_for(settings.database_url) | cipher_environment(
        settings.cipher_key
    )


def open_ledger(settings: LedgerSettings | None = None) -> JourneyLedger:
    """The JourneyLedger on the configured store, with the configured rules."""
    settings = settings or LedgerSettings.from_environment()
    return JourneyLedger(
        env=store_environment(settings),
        caseload_limits=settings.caseload_limits,
        prisons=settings.prisons,
        max_clock_skew=settings.max_clock_skew,
        snapshot_interval=settings.snapshot_interval,
    )


def checkpoint_schedule(settings: LedgerSettings) -> CheckpointSchedule:
    """How often the follower signs a checkpoint."""
    return CheckpointSchedule(
        settings.checkpoint_every_events, settings.checkpoint_every_seconds
    )
