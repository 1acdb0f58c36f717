"""Case bundles: one originator's events with inclusion proofs, verifiable offline.

A bundle (JSON; format in docs/bundle-format.md) holds, for one originator id:

- the log's signed checkpoint (a C2SP signed note, with any witness cosignatures)
  and the log's verifier key;
- each event as stored (originator id, version, topic, state in base64: the exact
  bytes the leaf hash covers, see ``store.seal``), its position, its leaf hash, an
  optional decoded view (for reading; not covered by any proof), and a C2SP
  tlog-proof (``c2sp.org/tlog-proof@v1``: index, inclusion proof, the checkpoint).

``verify_bundle`` needs only the bundle and the trusted verifier key: it recomputes
each leaf from the stored fields, checks each proof against the signed checkpoint's
root, the signature, and that the versions run 1, 2, 3, ... without a gap. Given a
decoder, it also recomputes each readable view from the proved state and refuses
any difference: a reader believes what is shown, not the base64 beside it. Its OK
line says which views it could not check, and why.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from evidence.checkpoint import Checkpoint, open_checkpoint
from evidence.database import EvidenceStore, SealColumns, StoredCheckpoint
from evidence.errors import EvidenceError
from evidence.proofs import inclusion_proof, verify_inclusion
from evidence.signed_note import CosignatureVerifier, Verifier, open_note
from store.seal import event_leaf_hash

FORMAT = "journey-ledger/case-bundle@v1"
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"

Decoder = Callable[[str, int, str, bytes], dict[str, Any]]
"""(originator id, version, topic, stored state) -> a JSON-ready view of the event."""

SubjectName = Callable[[Mapping[str, Any]], str]
"""The bundle -> whose events they are, as readers know them; raises EvidenceError
if the bundle's own claim to that does not follow from what its proofs cover."""


class UnreadableState(Exception):
    """A decoder cannot recompute an event's readable view; the message says why
    (for example: the state is encrypted and no cipher key was given)."""


# -- C2SP tlog-proof text ------------------------------------------------------------


def tlog_proof(index: int, proof: list[bytes], checkpoint_note: str) -> str:
    """The c2sp.org/tlog-proof@v1 text for leaf ``index`` (no extra data line)."""
    lines = [TLOG_PROOF_HEADER, f"index {index}"]
    lines += [base64.b64encode(h).decode() for h in proof]
    return "\n".join(lines) + "\n\n" + checkpoint_note


def parse_tlog_proof(text: str) -> tuple[bytes | None, int, list[bytes], str]:
    """(extra data, index, inclusion proof, checkpoint note) of a tlog-proof."""
    head, blank, checkpoint = text.partition("\n\n")
    if not blank:
        raise EvidenceError("tlog-proof: no blank line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != TLOG_PROOF_HEADER:
        raise EvidenceError(f"tlog-proof: the first line is not {TLOG_PROOF_HEADER}")
    rest = lines[1:]
    extra: bytes | None = None
    if rest and rest[0].startswith("extra "):
        extra = _b64(rest.pop(0)[len("extra ") :], "tlog-proof extra data")
    if not rest or not rest[0].startswith("index "):
        raise EvidenceError("tlog-proof: no index line")
    index_text = rest.pop(0)[len("index ") :]
    if not index_text.isdigit() or (index_text != "0" and index_text[0] == "0"):
        raise EvidenceError(f"tlog-proof: index {index_text!r} is not a decimal")
    proof = [_b64(line, "tlog-proof hash") for line in rest]
    return extra, int(index_text), proof, checkpoint


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as e:
        raise EvidenceError(f"{what} is not base64: {text!r}") from e


# -- decoding for the human-readable view ------------------------------------------


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of a decoded event's value (ids, times, decimals as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if hasattr(value, "__dict__"):
        return jsonable(vars(value))
    return str(value)


def mapper_decoder(mapper: Any) -> Decoder:
    """Decode stored events with an eventsourcing mapper (cipher, compressor, ...)."""
    from eventsourcing.persistence import StoredEvent

    def decode(originator_id: str, version: int, topic: str, state: bytes) -> Any:
        try:
            oid: UUID | str = UUID(originator_id)
        except ValueError:
            oid = originator_id
        event = mapper.to_domain_event(StoredEvent(oid, version, topic, state))
        return jsonable(vars(event))

    return decode


# -- building ----------------------------------------------------------------------


def build_bundle(
    store: EvidenceStore,
    originator_id: str,
    *,
    verifier_key: str,
    decode: Decoder | None = None,
    checkpoint: StoredCheckpoint | None = None,
) -> dict[str, Any]:
    """The bundle of ``originator_id``'s events against one signed checkpoint.

    Default checkpoint: the newest one witnesses have cosigned, when it covers every
    event here (so the bundle carries their cosignatures and ``verify-bundle
    --witness`` can check them); else the latest. Events after the checkpoint cannot
    be proved yet and are refused with a message saying so (issue a checkpoint
    first).
    """
    rows = store.select_events_of(originator_id)
    signed = (
        checkpoint
        or store.witnessed_checkpoint(rows[-1][0] if rows else 0)
        or store.latest_checkpoint()
    )
    if signed is None:
        raise EvidenceError("the log has no checkpoint yet: run ledger checkpoint")
    late = [r[0] for r in rows if r[0] > signed.tree_size]
    if late:
        msg = (
            f"events at positions {late[0]}-{late[-1]} are newer than the checkpoint "
            f"at tree size {signed.tree_size}: issue a checkpoint, then export"
        )
        raise EvidenceError(msg)
    note = signed.note_with_cosignatures()
    events = [_bundle_event(store, row, signed, note, decode) for row in rows]
    return {
        "format": FORMAT,
        "originator_id": originator_id,
        "log": {"verifier_key": verifier_key},
        "checkpoint": {
            "tree_size": signed.tree_size,
            "root_hash": base64.b64encode(signed.root_hash).decode(),
            "issued_at": signed.issued_at.isoformat(),
            "note": note,
        },
        "events": events,
    }


def _bundle_event(
    store: EvidenceStore,
    row: SealColumns,
    signed: StoredCheckpoint,
    note: str,
    decode: Decoder | None,
) -> dict[str, Any]:
    position, originator, version, topic, state, leaf, _ = row
    computed = event_leaf_hash(originator, version, topic, state)
    if computed != leaf:
        msg = (
            f"position {position}: the stored row does not match its leaf hash "
            f"(stored {leaf.hex()}, recomputed {computed.hex()}); run ledger verify"
        )
        raise EvidenceError(msg)
    proof = inclusion_proof(store, position - 1, signed.tree_size)
    try:
        verify_inclusion(position - 1, signed.tree_size, leaf, proof, signed.root_hash)
    except EvidenceError as e:
        msg = f"position {position}: the stored tree does not prove it ({e})"
        raise EvidenceError(msg) from e
    entry: dict[str, Any] = {
        "position": position,
        "originator_id": originator,
        "originator_version": version,
        "topic": topic,
        "state": base64.b64encode(state).decode(),
        "leaf_hash": base64.b64encode(leaf).decode(),
    }
    if decode is not None:
        try:
            entry["decoded"] = decode(originator, version, topic, state)
        except Exception as e:  # any event the reader cannot decode is still proved
            entry["decoded"] = None
            entry["decode_error"] = f"{type(e).__name__}: {e}"
    entry["proof"] = tlog_proof(position - 1, proof, note)
    return entry


# -- verifying ---------------------------------------------------------------------


def verify_bundle(
    bundle: Any,
    verifier: Verifier,
    witnesses: Sequence[Verifier] = (),
    *,
    decode: Decoder | None = None,
    subject: SubjectName | None = None,
) -> str:
    """Check a bundle offline against the trusted log key, and each of
    ``witnesses``' cosignature on its checkpoint; a one-line OK or raise.

    With ``decode``, each event's readable view (``decoded``) must be what its
    proved state decodes to; the OK line names the events whose view could not be
    recomputed, and why. ``subject`` names the case in the OK line (default: its
    originator id). Every failure names the event (position, version) or the
    witness, and what differs.
    """
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise EvidenceError(f"not a case bundle (format {FORMAT!r} expected)")
    try:
        note = bundle["checkpoint"]["note"]
        events = bundle["events"]
        originator_id = bundle["originator_id"]
    except (KeyError, TypeError) as e:
        raise EvidenceError(f"the bundle lacks {e}") from e
    try:
        checkpoint = open_checkpoint(note, verifier)
    except EvidenceError as e:
        raise EvidenceError(f"the bundle's checkpoint: {e}") from e
    cosigned = [_cosigned_at(note, witness) for witness in witnesses]
    if not isinstance(events, list) or not events:
        raise EvidenceError("the bundle has no events")
    views = _Views(len(events), decode is not None)
    previous_position = 0
    for number, event in enumerate(events, start=1):
        where = f"event {number}"
        try:
            state = _verify_event(
                event, number, originator_id, checkpoint, note, verifier
            )
            if event["position"] <= previous_position:
                msg = f"{where}: position {event['position']} is not after the previous"
                raise EvidenceError(msg)
            previous_position = event["position"]
            if decode is not None:
                views.check(event, number, originator_id, state, decode)
        except (KeyError, TypeError, ValueError) as e:
            raise EvidenceError(f"{where}: malformed ({e!r})") from e
    name = subject(bundle) if subject is not None else f"originator {originator_id}"
    return (
        f"OK: {name}, {len(events)} events (versions 1-{len(events)}), "
        f"each included in the checkpoint at tree size {checkpoint.tree_size} "
        f"signed by {verifier.name}"
        + "".join(f", cosigned by {witness} at {at}" for witness, at in cosigned)
        + views.summary()
    )


class _Views:
    """What became of each event's readable view, for the OK line."""

    def __init__(self, events: int, decoding: bool) -> None:
        self.events = events
        self.decoding = decoding
        self.matched: list[int] = []
        self.absent: list[int] = []
        self.unchecked: dict[str, list[int]] = {}

    def check(
        self,
        event: dict[str, Any],
        number: int,
        originator_id: str,
        state: bytes,
        decode: Decoder,
    ) -> None:
        shown = event.get("decoded")
        if shown is None:  # nothing is shown, so nothing can mislead
            self.absent.append(number)
            return
        try:
            view = decode(originator_id, number, event["topic"], state)
        except UnreadableState as e:
            self.unchecked.setdefault(str(e), []).append(number)
            return
        except Exception as e:  # a decoder's own failure: say so, do not crash
            reason = f"its state could not be decoded ({type(e).__name__})"
            self.unchecked.setdefault(reason, []).append(number)
            return
        difference = _first_difference(shown, json.loads(json.dumps(view)))
        if difference is not None:
            field, claimed, proved = difference
            msg = (
                f"event {number} (position {event['position']}, version "
                f"{event['originator_version']}): the readable view (decoded) "
                f"differs from the proved state at {field}: the bundle shows "
                f"{claimed}, the proved state holds {proved}: the view was edited "
                "(or decoded by another version of the ledger); only the stored "
                "fields are evidence"
            )
            raise EvidenceError(msg)
        self.matched.append(number)

    def summary(self) -> str:
        if not self.decoding:
            return "; the readable views (decoded) were not checked"
        parts = []
        if self.matched:
            parts.append(
                f"the readable view of {self._which(self.matched)} matches "
                "the proved state"
            )
        for reason, numbers in self.unchecked.items():
            parts.append(
                f"the readable view of {self._which(numbers)} was not checked: {reason}"
            )
        if len(self.absent) == self.events:
            parts.append("no event has a readable view")
        elif self.absent:
            verb = "has" if len(self.absent) == 1 else "have"
            parts.append(f"{self._which(self.absent)} {verb} no readable view")
        return "".join(f"; {part}" for part in parts)

    def _which(self, numbers: list[int]) -> str:
        if len(numbers) == self.events:
            return "every event" if self.events > 1 else "the event"
        if len(numbers) == 1:
            return f"event {numbers[0]}"
        runs: list[list[int]] = []
        for n in numbers:  # in order: runs keep a long case's line short
            if runs and runs[-1][-1] == n - 1:
                runs[-1].append(n)
            else:
                runs.append([n])
        return "events " + ", ".join(
            f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs
        )


_MISSING = object()


def _first_difference(
    shown: Any, proved: Any, field: str = ""
) -> tuple[str, str, str] | None:
    """(where, what the view shows, what the state holds) at the first difference."""
    if isinstance(shown, dict) and isinstance(proved, dict):
        for key in [*proved, *(k for k in shown if k not in proved)]:
            found = _first_difference(
                shown.get(key, _MISSING),
                proved.get(key, _MISSING),
                f"{field}.{key}" if field else str(key),
            )
            if found is not None:
                return found
        return None
    if isinstance(shown, list) and isinstance(proved, list):
        for i in range(max(len(shown), len(proved))):
            found = _first_difference(
                shown[i] if i < len(shown) else _MISSING,
                proved[i] if i < len(proved) else _MISSING,
                f"{field}[{i}]",
            )
            if found is not None:
                return found
        return None
    # type() too: JSON's true is not 1, nor 1.0 the integer 1.
    if type(shown) is type(proved) and shown == proved:
        return None
    where = f"field {field!r}" if field else "the whole view"
    return where, _shown(shown, "no such field"), _shown(proved, "no such field")


def _shown(value: Any, missing: str) -> str:
    if value is _MISSING:
        return f"({missing})"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _cosigned_at(note: str, witness: Verifier) -> tuple[str, str]:
    """(witness name, when it cosigned) once its cosignature on ``note`` verifies."""
    if not isinstance(witness, CosignatureVerifier):
        msg = (
            f"{witness.name}'s key is not a witness cosigning key "
            "(C2SP tlog-cosignature, type 0x04)"
        )
        raise EvidenceError(msg)
    try:
        _, verified = open_note(note, [witness])
    except EvidenceError as e:
        msg = (
            f"the checkpoint is not cosigned by the witness {witness.name} "
            f"(key ID {witness.key_id.hex()}): {e}. Export the case again once "
            "the witness has cosigned a checkpoint that covers it"
        )
        raise EvidenceError(msg) from e
    stamp = CosignatureVerifier.timestamp(verified[0].signature)
    return witness.name, datetime.fromtimestamp(stamp, UTC).isoformat()


def _verify_event(
    event: dict[str, Any],
    number: int,
    originator_id: str,
    checkpoint: Checkpoint,
    note: str,
    verifier: Verifier,
) -> bytes:
    """The event's stored state, once its leaf is proved in the checkpoint."""
    position = int(event["position"])
    version = int(event["originator_version"])
    where = f"event {number} (position {position}, version {version})"
    if event["originator_id"] != originator_id:
        msg = f"{where}: originator {event['originator_id']} is not {originator_id}"
        raise EvidenceError(msg)
    if version != number:
        msg = (
            f"{where}: expected version {number}: the bundle's events must run "
            "1, 2, 3, ... (one is missing or out of order)"
        )
        raise EvidenceError(msg)
    state = _b64(event["state"], f"{where}: state")
    leaf = event_leaf_hash(originator_id, version, event["topic"], state)
    stated = _b64(event["leaf_hash"], f"{where}: leaf hash")
    if leaf != stated:
        msg = (
            f"{where}: the event's stored fields hash to leaf {leaf.hex()}, but the "
            f"bundle says {stated.hex()}: the event was altered"
        )
        raise EvidenceError(msg)
    _, index, proof, proof_note = parse_tlog_proof(event["proof"])
    if index != position - 1:
        msg = f"{where}: the proof is for index {index}, not {position - 1}"
        raise EvidenceError(msg)
    if proof_note != note:
        # Not the bundle's checkpoint: it must still be signed by the trusted key.
        try:
            proved = open_checkpoint(proof_note, verifier)
        except EvidenceError as e:
            raise EvidenceError(f"{where}: the proof's checkpoint: {e}") from e
    else:
        proved = checkpoint
    try:
        verify_inclusion(index, proved.tree_size, leaf, proof, proved.root_hash)
    except EvidenceError as e:
        msg = (
            f"{where}: not proved to be in the checkpoint at tree size "
            f"{proved.tree_size}: {e} (the event or its proof was altered)"
        )
        raise EvidenceError(msg) from e
    return state
