"""Shared helpers: a filled log on either store, and direct SQL for tampering."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import Any
from urllib.parse import unquote, urlsplit

from evidence.database import EvidenceStore, evidence_store
from evidence.signed_note import Ed25519Signer
from store.seal import event_leaf_hash
from tests.postgres_server import connect
from tests.store.notes import Note, Notes, notes_app

ORIGIN = "journey-ledger.example/log"


def filled_log(
    url: str, notes: int, amendments: int = 2, prefix: str = "note"
) -> tuple[Notes, list[Note]]:
    """An app whose log holds ``notes`` notes, each opened then amended."""
    app = notes_app(url)
    saved = []
    for i in range(notes):
        note = Note(f"{prefix}-{i}", text=f"opened {i}")
        for a in range(amendments):
            note.amend(f"amendment {a} of {i}")
        app.save(note)
        saved.append(note)
    return app, saved


def evidence(app: Notes) -> EvidenceStore:
    return evidence_store(app.recorder)


def log_signer() -> Ed25519Signer:
    return Ed25519Signer.generate(ORIGIN)


def sql(url: str, statement: str, params: Sequence[Any] = ()) -> list[Any]:
    """Run one statement directly on the store's database, as an intruder would."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        with closing(sqlite3.connect(unquote(parts.path[1:]))) as conn:
            rows = conn.execute(statement.replace("%s", "?"), tuple(params)).fetchall()
            conn.commit()
            return rows
    with closing(connect(url)) as conn, conn.cursor() as cur:
        cur.execute(statement, tuple(params))
        rows = cur.fetchall() if cur.description else []
        conn.commit()
        return rows


def row_at(url: str, position: int) -> tuple[str, int, str, bytes]:
    """(originator id as text, version, topic, state) of the row at ``position``."""
    ((originator, version, topic, state),) = sql(
        url,
        "SELECT originator_id, originator_version, topic, state FROM stored_events "
        "WHERE notification_id = %s",
        [position],
    )
    text = str(originator)
    if len(text) == 32:  # SQLite keeps UUIDs as 32 hex digits
        text = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text, version, topic, bytes(state)


def stored_id(url: str, originator_id: str) -> str:
    """An originator id in the form the store's column holds it."""
    return originator_id.replace("-", "") if url.startswith("sqlite") else originator_id


def leaf_of(originator: str, version: int, topic: str, state: bytes) -> bytes:
    return event_leaf_hash(originator, version, topic, state)
