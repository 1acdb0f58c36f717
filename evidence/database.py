"""The evidence tables and the seal reads proofs and verification need, on both stores.

Reads of the events table (point reads of a few positions' seal columns for proofs;
pages of whole rows for verification) and the two append-only evidence tables:

``checkpoints``
    one row per signed checkpoint: ``tree_size`` (unique), ``root_hash``, ``note``
    (the C2SP signed note text exactly as signed), ``issued_at``.
``checkpoint_cosignatures``
    witnesses' cosignature lines: ``tree_size`` (the checkpoint's), ``cosigner``
    (key name), ``signature_line`` (the note signature line), ``added_at``.

There are no UPDATE or DELETE paths in this module, and the tables refuse them:
triggers abort any UPDATE or DELETE (and TRUNCATE on PostgreSQL). Someone with the
database owner's rights can still drop a trigger; that is what ``ledger verify``
and the witnesses are for.

Works on a recorder of ``store.sqlite`` or ``store.postgres`` (same database, same
schema as the events).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from eventsourcing.persistence import InfrastructureFactory

from store.config import environment_for
from store.merkle import Frontier
from store.seal import canonical_event_bytes

CHECKPOINTS = "checkpoints"
COSIGNATURES = "checkpoint_cosignatures"

SealColumns = tuple[int, str, int, str, bytes, bytes, bytes]
"""(position, originator id as text, version, topic, state, leaf_hash, nodes)."""

SealedLeaf = tuple[int, bytes, int, bytes, bytes, bytes]
"""(position, originator id as UTF-8, version, 0x00 || canonical event bytes,
leaf_hash, nodes): what full verification needs of each row, the leaf's preimage
(``store.seal``) already assembled."""


@dataclass(frozen=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    note: str
    issued_at: datetime
    cosignatures: tuple[str, ...] = ()

    def note_with_cosignatures(self) -> str:
        """The signed note with the witnesses' cosignature lines appended."""
        return self.note + "".join(self.cosignatures)


class EvidenceStore(Protocol):
    """What checkpoints, proofs, verification and the witness read and append."""

    def frontier(self) -> Frontier: ...

    def select_seal_hashes(
        self, positions: Sequence[int]
    ) -> dict[int, tuple[bytes, bytes]]: ...

    def seal_page(self, after: int, limit: int) -> list[SealedLeaf]:
        """Up to ``limit`` rows after position ``after``, in position order."""
        ...

    def select_events_of(self, originator_id: str) -> list[SealColumns]: ...

    def insert_checkpoint(
        self, tree_size: int, root_hash: bytes, note: str, issued_at: datetime
    ) -> None: ...

    def checkpoints(self) -> list[StoredCheckpoint]: ...

    def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    def witnessed_checkpoint(self, covering: int) -> StoredCheckpoint | None:
        """The newest checkpoint a witness has cosigned, if it covers position
        ``covering`` (its tree size is at least that); else None."""
        ...

    def insert_cosignature(
        self, tree_size: int, cosigner: str, signature_line: str, added_at: datetime
    ) -> bool: ...


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


class _Tables:
    """Shared SQL; subclasses provide the connection handling and dialect."""

    placeholder = "?"
    events: str
    checkpoints_table: str
    cosignatures_table: str

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def _write(self, statement: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    def _originator_text(self, value: Any) -> str:
        return str(value)

    def _p(self, statement: str) -> str:
        return statement.replace("?", self.placeholder)

    def select_seal_hashes(
        self, positions: Sequence[int]
    ) -> dict[int, tuple[bytes, bytes]]:
        if not positions:
            return {}
        marks = ",".join("?" * len(positions))
        rows = self._query(
            self._p(
                f"SELECT notification_id, leaf_hash, nodes FROM {self.events} "
                f"WHERE notification_id IN ({marks})"
            ),
            list(positions),
        )
        return {row[0]: (bytes(row[1]), bytes(row[2])) for row in rows}

    def select_events_of(self, originator_id: str) -> list[SealColumns]:
        rows = self._query(
            self._p(
                f"SELECT {self._seal_columns()} FROM {self.events} "
                "WHERE originator_id = ? ORDER BY originator_version"
            ),
            [self._originator_param(originator_id)],
        )
        return [
            (
                r[0],
                self._originator_text(r[1]),
                r[2],
                r[3],
                bytes(r[4]),
                bytes(r[5]),
                bytes(r[6]),
            )
            for r in rows
        ]

    def _originator_param(self, originator_id: str) -> Any:
        return originator_id

    def _seal_columns(self) -> str:
        return (
            "notification_id, originator_id, originator_version, topic, state, "
            "leaf_hash, nodes"
        )

    def insert_checkpoint(
        self, tree_size: int, root_hash: bytes, note: str, issued_at: datetime
    ) -> None:
        self._write(
            self._p(
                f"INSERT INTO {self.checkpoints_table} "
                "(tree_size, root_hash, note, issued_at) VALUES (?,?,?,?)"
            ),
            [tree_size, root_hash, note, self._time_param(issued_at)],
        )

    def insert_cosignature(
        self, tree_size: int, cosigner: str, signature_line: str, added_at: datetime
    ) -> bool:
        """Append a cosignature line; False if that exact line is already stored."""
        existing = self._query(
            self._p(
                f"SELECT 1 FROM {self.cosignatures_table} "
                "WHERE tree_size = ? AND signature_line = ?"
            ),
            [tree_size, signature_line],
        )
        if existing:
            return False
        self._write(
            self._p(
                f"INSERT INTO {self.cosignatures_table} "
                "(tree_size, cosigner, signature_line, added_at) VALUES (?,?,?,?)"
            ),
            [tree_size, cosigner, signature_line, self._time_param(added_at)],
        )
        return True

    def _time_param(self, value: datetime) -> Any:
        return value.astimezone(UTC).isoformat()

    def _checkpoints(self, where: str, params: Sequence[Any]) -> list[StoredCheckpoint]:
        rows = self._query(
            self._p(
                f"SELECT tree_size, root_hash, note, issued_at FROM "
                f"{self.checkpoints_table} {where}"
            ),
            params,
        )
        if not rows:
            return []
        cosigned: dict[int, list[str]] = {}
        # One checkpoint read (the latest, read for every case page's proof marks):
        # only its cosignatures, not the whole table, which grows with each witness run.
        one = "WHERE tree_size = ? " if len(rows) == 1 else ""
        for size, line in self._query(
            self._p(
                f"SELECT tree_size, signature_line FROM {self.cosignatures_table} "
                f"{one}ORDER BY added_at, signature_line"
            ),
            [rows[0][0]] if one else [],
        ):
            cosigned.setdefault(size, []).append(line)
        return [
            StoredCheckpoint(
                tree_size=r[0],
                root_hash=bytes(r[1]),
                note=r[2],
                issued_at=_as_datetime(r[3]),
                cosignatures=tuple(cosigned.get(r[0], ())),
            )
            for r in rows
        ]

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint, smallest tree first, with its cosignatures."""
        return self._checkpoints("ORDER BY tree_size", [])

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        found = self._checkpoints("ORDER BY tree_size DESC LIMIT 1", [])
        return found[0] if found else None

    def witnessed_checkpoint(self, covering: int) -> StoredCheckpoint | None:
        found = self._checkpoints(
            f"WHERE tree_size IN (SELECT tree_size FROM {self.cosignatures_table}) "
            "ORDER BY tree_size DESC LIMIT 1",
            [],
        )
        return found[0] if found and found[0].tree_size >= covering else None


class SQLiteEvidence(_Tables):
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.events = recorder.events_table_name
        self.checkpoints_table = CHECKPOINTS
        self.cosignatures_table = COSIGNATURES
        statements = [
            f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS} ("
            "tree_size INTEGER PRIMARY KEY CHECK (tree_size >= 0), "
            "root_hash BLOB NOT NULL CHECK (length(root_hash) = 32), "
            "note TEXT NOT NULL, "
            "issued_at TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {COSIGNATURES} ("
            f"tree_size INTEGER NOT NULL REFERENCES {CHECKPOINTS} (tree_size), "
            "cosigner TEXT NOT NULL, "
            "signature_line TEXT NOT NULL, "
            "added_at TEXT NOT NULL, "
            "PRIMARY KEY (tree_size, signature_line))",
        ]
        for table in (CHECKPOINTS, COSIGNATURES):
            for action in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} "
                    f"BEFORE {action} ON {table} BEGIN "
                    f"SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        with recorder.datastore.transaction(commit=True) as c:
            for statement in statements:
                c.execute(statement)

    def frontier(self) -> Frontier:
        result: Frontier = self.recorder.frontier()
        return result

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.recorder.datastore.transaction(commit=False) as c:
            c.execute(statement, tuple(params))
            rows: list[Any] = c.fetchall()
            return rows

    def _write(self, statement: str, params: Sequence[Any] = ()) -> int:
        with self.recorder.datastore.transaction(commit=True) as c:
            c.execute(statement, tuple(params))
            return 1

    def _originator_param(self, originator_id: str) -> Any:
        # The library's SQLite recorder stores UUIDs as 32 hex digits.
        if self.recorder.datastore.originator_id_type == "uuid":
            return originator_id.replace("-", "")
        return originator_id

    def _originator_text(self, value: Any) -> str:
        return str(self.recorder.convert_originator_id(value))

    def seal_page(self, after: int, limit: int) -> list[SealedLeaf]:
        convert = self.recorder.convert_originator_id
        with self.recorder.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT {self._seal_columns()} FROM {self.events} "
                "WHERE notification_id > ? ORDER BY notification_id LIMIT ?",
                (after, limit),
            )
            page: list[SealedLeaf] = []
            for position, oid, version, topic, state, leaf, nodes in c.fetchall():
                originator = str(convert(oid))
                preimage = b"\x00" + canonical_event_bytes(
                    originator, version, topic, state
                )
                page.append(
                    (position, originator.encode(), version, preimage, leaf, nodes)
                )
            return page


class PostgresEvidence(_Tables):
    placeholder = "%s"

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        datastore = recorder.datastore
        self.events = recorder.events_table
        self.checkpoints_table = datastore.table(CHECKPOINTS)
        self.cosignatures_table = datastore.table(COSIGNATURES)
        schema = self.checkpoints_table.rsplit(".", 1)[0]
        guard = f"{schema}.ledger_append_only"
        statements = [
            "BEGIN",
            "SELECT pg_advisory_xact_lock(hashtext('journey-ledger-schema'))",
            f"CREATE TABLE IF NOT EXISTS {self.checkpoints_table} ("
            "tree_size bigint PRIMARY KEY CHECK (tree_size >= 0), "
            "root_hash bytea NOT NULL CHECK (length(root_hash) = 32), "
            "note text NOT NULL, "
            "issued_at timestamptz NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.cosignatures_table} ("
            "tree_size bigint NOT NULL "
            f"REFERENCES {self.checkpoints_table} (tree_size), "
            "cosigner text NOT NULL, "
            "signature_line text NOT NULL, "
            "added_at timestamptz NOT NULL, "
            "PRIMARY KEY (tree_size, signature_line))",
            f"CREATE OR REPLACE FUNCTION {guard}() RETURNS trigger "
            "LANGUAGE plpgsql AS $ledger$BEGIN "
            "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END$ledger$",
        ]
        for table, name in (
            (self.checkpoints_table, CHECKPOINTS),
            (self.cosignatures_table, COSIGNATURES),
        ):
            statements += [
                f'CREATE OR REPLACE TRIGGER "{name}_append_only" '
                f"BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {guard}()",
                f'CREATE OR REPLACE TRIGGER "{name}_no_truncate" '
                f"BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {guard}()",
            ]
        statements.append("COMMIT")
        with datastore.pool.connection() as conn, conn.cursor() as curs:
            try:
                curs.execute(";".join(statements))
            except Exception:
                curs.execute("ROLLBACK")
                raise

    def frontier(self) -> Frontier:
        result: Frontier = self.recorder.frontier()
        return result

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        rows: list[Any] = self.recorder.datastore.query(statement, list(params))
        return rows

    def _write(self, statement: str, params: Sequence[Any] = ()) -> int:
        with (
            self.recorder.datastore.pool.connection() as conn,
            conn.cursor() as curs,
        ):
            curs.execute(statement, list(params))
            count: int = curs.rowcount
            return count

    def _time_param(self, value: datetime) -> Any:
        return value.astimezone(UTC)

    def _seal_columns(self) -> str:
        return (
            "notification_id, originator_id::text, originator_version, topic, "
            "state, leaf_hash, nodes"
        )

    def select_seal_hashes(
        self, positions: Sequence[int]
    ) -> dict[int, tuple[bytes, bytes]]:
        if not positions:
            return {}
        rows = self._query(
            f"SELECT notification_id, leaf_hash, nodes FROM {self.events} "
            "WHERE notification_id = ANY(%s)",
            [list(positions)],
        )
        return {row[0]: (bytes(row[1]), bytes(row[2])) for row in rows}

    def _originator_param(self, originator_id: str) -> Any:
        return originator_id

    def select_events_of(self, originator_id: str) -> list[SealColumns]:
        cast = "::uuid" if self.recorder.datastore.originator_id_type == "uuid" else ""
        rows = self._query(
            f"SELECT {self._seal_columns()} FROM {self.events} "
            f"WHERE originator_id = %s{cast} ORDER BY originator_version",
            [originator_id],
        )
        return [
            (r[0], r[1], r[2], r[3], bytes(r[4]), bytes(r[5]), bytes(r[6]))
            for r in rows
        ]

    def seal_page(self, after: int, limit: int) -> list[SealedLeaf]:
        """Rows after ``after`` by binary COPY, parsed without per-column objects.

        In COPY's binary format each field is a 4-byte big-endian length and its
        bytes, and a bigint is 8 big-endian bytes: so the fields originator id (as
        text), version, topic and state, in that order, are byte for byte the
        canonical event bytes of ``store.seal``. A constant one-byte bytea 0x00 is
        selected just before them, so the last byte of its field is the leaf prefix
        and the leaf's whole preimage, 0x00 || canonical bytes, is one contiguous
        slice of the buffer: hashed in place, never decoded or copied.
        """
        statement = (
            "COPY (SELECT notification_id, '\\x00'::bytea, originator_id::text, "
            "originator_version, topic, state, leaf_hash, nodes "
            f"FROM {self.events} WHERE notification_id > {int(after)} "
            f"ORDER BY notification_id LIMIT {int(limit)}) TO STDOUT (FORMAT binary)"
        )
        buffer = io.BytesIO()
        with (
            self.recorder.datastore.pool.connection() as conn,
            conn.cursor() as curs,
        ):
            if conn.pg_conn.encoding != "UTF8":
                conn.pg_conn.set_client_encoding("UTF8")
            curs.copy_expert(statement, buffer)
        return parse_binary_copy(buffer.getvalue())


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
# Field count (8), then: 8-byte position, the 1-byte 0x00, the originator id's length.
_ROW_START = struct.Struct(">hiqiBi").unpack_from
_VERSION_TOPIC = struct.Struct(">iqi").unpack_from  # 8, version, topic length
_LENGTH = struct.Struct(">i").unpack_from
# A leaf hash's length and, if it is 32, the nodes' length after it.
_LEAF_NODES = struct.Struct(">i32xi").unpack_from


def parse_binary_copy(data: bytes) -> list[SealedLeaf]:
    """Rows of a binary COPY of (position, 0x00, id, version, topic, state, leaf,
    nodes). (Slicing bytes is faster here than slicing a memoryview.)"""
    if not data.startswith(_COPY_SIGNATURE):
        raise ValueError("not a binary COPY stream")
    offset = len(_COPY_SIGNATURE) + 4
    offset += 4 + _LENGTH(data, offset)[0]  # header extension
    rows: list[SealedLeaf] = []
    append = rows.append
    end = len(data) - 2  # the trailer: field count -1
    row_start, version_topic, length, leaf_nodes = (
        _ROW_START,
        _VERSION_TOPIC,
        _LENGTH,
        _LEAF_NODES,
    )
    while offset < end:
        fields, _, position, one, zero, id_length = row_start(data, offset)
        if fields != 8 or one != 1 or zero != 0 or id_length < 0:
            raise ValueError(f"unexpected binary COPY row at byte {offset}")
        start = offset + 18  # the 0x00, then the canonical bytes
        id_end = offset + 23 + id_length
        _, version, topic_length = version_topic(data, id_end)
        state_at = id_end + 16 + topic_length
        canonical_end = state_at + 4 + length(data, state_at)[0]
        leaf_length, nodes_length = leaf_nodes(data, canonical_end)
        if leaf_length == 32:
            offset = canonical_end + 40 + nodes_length
            leaf = data[canonical_end + 4 : canonical_end + 36]
            nodes = data[canonical_end + 40 : offset]
        else:  # only a tampered row has another length
            leaf_end = canonical_end + 4 + leaf_length
            offset = leaf_end + 4 + length(data, leaf_end)[0]
            leaf = data[canonical_end + 4 : leaf_end]
            nodes = data[leaf_end + 4 : offset]
        append(
            (
                position,
                data[start + 5 : id_end],
                version,
                data[start:canonical_end],
                leaf,
                nodes,
            )
        )
    return rows


def evidence_store(recorder: Any) -> EvidenceStore:
    """The evidence tables next to ``recorder``'s events (created if missing)."""
    from store.postgres import PostgresApplicationRecorder
    from store.sqlite import SealedSQLiteApplicationRecorder

    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresEvidence(recorder)
    if isinstance(recorder, SealedSQLiteApplicationRecorder):
        return SQLiteEvidence(recorder)
    msg = (
        f"{type(recorder).__name__} is not a sealed ledger store (store.postgres or "
        "store.sqlite): it keeps no leaf hashes to prove anything with"
    )
    raise TypeError(msg)


@contextmanager
def open_evidence_store(url: str | None = None) -> Iterator[EvidenceStore]:
    """The evidence store of the database ``url`` names (LEDGER_DATABASE_URL)."""
    factory: Any = InfrastructureFactory.construct(environment_for(url))
    try:
        yield evidence_store(factory.application_recorder())
    finally:
        factory.close()
