"""Evidence over HTTP: the latest signed checkpoint, proofs, and a case's bundle.

- ``GET /checkpoints/latest``: the latest C2SP signed checkpoint as stored, with any
  witnesses' cosignatures. JSON (the note and its parsed lines) by default;
  ``Accept: text/plain`` gives the note text alone, byte for byte as signed.
- ``GET /proofs/inclusion/{position}?tree_size=``: an RFC 9162 inclusion proof that
  the event at ``position`` (leaf index position - 1) is in the tree of that size
  (default: the latest checkpoint's). Hashes are base64. When the size is a
  checkpoint's, the reply also carries the C2SP tlog-proof text and the note.
- ``GET /proofs/consistency?from=&to=``: an RFC 9162 consistency proof that the tree
  of size ``from`` is a prefix of the tree of size ``to`` (default: the latest
  checkpoint's), with the signed notes of either size if they were checkpoints.
- ``GET /cases/{prisoner_number}/export``: the case's offline bundle, exactly as
  ``ledger export`` writes it (``docs/bundle-format.md``); investigators only.

Proofs and checkpoints carry hashes and sizes only, no personal data: inspectors,
investigators and consumers may read them. Roots in replies are computed from the
stored hashes for convenience; a verifier checks proofs against a signed checkpoint
it trusts, never against a root the server hands it.
"""

from __future__ import annotations

import base64
import threading
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from api.case_bundles import BundleRefused, export_case_bundle
from api.http.auth import Principal, Role, requires
from api.http.problems import PROBLEM_RESPONSES, problem
from api.http.routers.access_log import record_case_read
from api.http.routers.parameters import PRISONER_NUMBER
from api.services import Services, services
from evidence.bundle import tlog_proof
from evidence.database import EvidenceStore, StoredCheckpoint, evidence_store
from evidence.errors import EvidenceError
from evidence.proofs import consistency_proof, inclusion_proof, root_at

router = APIRouter(tags=["proofs"], responses=PROBLEM_RESPONSES)

MAX_SIZE = 2**62
Reader = Annotated[
    Principal,
    Depends(requires(Role.INSPECTOR, Role.INVESTIGATOR, Role.CONSUMER)),
]
Investigator = Annotated[Principal, Depends(requires(Role.INVESTIGATOR))]
Found = Annotated[Services, Depends(services)]
Number = Annotated[str, Path(pattern=PRISONER_NUMBER, examples=["A1234BC"])]

_lock = threading.Lock()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def evidence(request: Request, found: Found) -> EvidenceStore:
    """The evidence tables next to the app's events (created once, then kept)."""
    state = request.app.state
    store: EvidenceStore | None = getattr(state, "evidence_store", None)
    if store is None:
        with _lock:
            store = getattr(state, "evidence_store", None)
            if store is None:
                store = evidence_store(found.ledger.recorder)
                state.evidence_store = store
    return store


Evidence = Annotated[EvidenceStore, Depends(evidence)]


def _refused(request: Request, status: int, detail: str, rule: str) -> JSONResponse:
    titles = {404: "Not found", 409: "Refused by a rule", 422: "Invalid value"}
    kinds = {404: "not-found", 409: "rule", 422: "invalid"}
    return problem(status, kinds[status], titles[status], detail, request, rule=rule)


def _checkpoint_at(store: EvidenceStore, size: int) -> StoredCheckpoint | None:
    latest = store.latest_checkpoint()
    if latest is not None and latest.tree_size == size:
        return latest
    return next((c for c in store.checkpoints() if c.tree_size == size), None)


# -- checkpoints ------------------------------------------------------------------


class SignedCheckpoint(BaseModel):
    """A signed checkpoint (C2SP tlog-checkpoint in a C2SP signed note)."""

    origin: str = Field(examples=["journey-ledger.example/log"])
    tree_size: int = Field(description="How many events the checkpoint covers")
    root_hash: str = Field(description="RFC 6962 root hash of those events, base64")
    issued_at: datetime
    cosignatures: int = Field(description="How many witnesses have cosigned it")
    note: str = Field(
        description="The signed note exactly as signed, followed by the witnesses' "
        "cosignature lines: verify it with the log's verifier key"
    )


@router.get(
    "/checkpoints/latest",
    response_model=SignedCheckpoint,
    summary="The latest signed checkpoint (JSON, or the note as text/plain)",
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "The checkpoint; with Accept: text/plain, the note alone",
        }
    },
)
def latest_checkpoint(
    request: Request, principal: Reader, store: Evidence
) -> SignedCheckpoint | Response:
    found = store.latest_checkpoint()
    if found is None:
        return _refused(
            request,
            404,
            "the log has no signed checkpoint yet (ledger checkpoint issues one)",
            "no-checkpoint",
        )
    note = found.note_with_cosignatures()
    if _prefers_text(request):
        return PlainTextResponse(note)
    return SignedCheckpoint(
        origin=note.split("\n", 1)[0],
        tree_size=found.tree_size,
        root_hash=_b64(found.root_hash),
        issued_at=found.issued_at,
        cosignatures=len(found.cosignatures),
        note=note,
    )


def _prefers_text(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return "text/plain" in types and (
        "application/json" not in types
        or types.index("text/plain") < types.index("application/json")
    )


# -- inclusion proofs -------------------------------------------------------------


class InclusionProof(BaseModel):
    """RFC 9162 section 2.1.3: the event at ``position`` is in the tree."""

    position: int = Field(description="The event's position in the log (1-based)")
    leaf_index: int = Field(description="Its leaf index: position - 1")
    tree_size: int
    leaf_hash: str = Field(description="The event's RFC 6962 leaf hash, base64")
    root_hash: str = Field(description="The tree's root computed from stored hashes")
    hashes: list[str] = Field(description="The audit path, leaf's sibling first")
    checkpoint: str | None = Field(
        description="The signed checkpoint of this tree size, if one was issued"
    )
    tlog_proof: str | None = Field(
        description="The same proof as C2SP tlog-proof text (with the checkpoint), "
        "when the tree size is a checkpoint's"
    )


Size = Annotated[int | None, Query(ge=1, le=MAX_SIZE)]


@router.get(
    "/proofs/inclusion/{position}",
    response_model=InclusionProof,
    summary="Proof that the event at a position is in the tree of a size",
)
def prove_inclusion(
    request: Request,
    principal: Reader,
    store: Evidence,
    position: Annotated[int, Path(ge=1, le=MAX_SIZE)],
    tree_size: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_SIZE,
            description="The tree's size (default: the latest checkpoint's)",
        ),
    ] = None,
) -> InclusionProof | JSONResponse:
    log_size = store.frontier().size
    if tree_size is None:
        latest = store.latest_checkpoint()
        if latest is None:
            return _refused(
                request,
                404,
                "the log has no signed checkpoint yet: give tree_size",
                "no-checkpoint",
            )
        tree_size = latest.tree_size
    if tree_size > log_size:
        return _refused(
            request,
            404,
            f"the log holds {log_size} events, not {tree_size}",
            "tree-size-beyond-log",
        )
    if position > tree_size:
        return _refused(
            request,
            422,
            f"position {position} is not in the tree of size {tree_size}",
            "position-within-tree",
        )
    try:
        leaf = store.select_seal_hashes([position]).get(position)
        if leaf is None:
            raise EvidenceError(f"position {position} is missing from the store")
        proof = inclusion_proof(store, position - 1, tree_size)
        root = root_at(store, tree_size)
    except EvidenceError as e:
        return _inconsistent(request, e)
    signed = _checkpoint_at(store, tree_size)
    note = signed.note_with_cosignatures() if signed else None
    return InclusionProof(
        position=position,
        leaf_index=position - 1,
        tree_size=tree_size,
        leaf_hash=_b64(leaf[0]),
        root_hash=_b64(root),
        hashes=[_b64(h) for h in proof],
        checkpoint=note,
        tlog_proof=tlog_proof(position - 1, proof, note) if note else None,
    )


def _inconsistent(request: Request, e: EvidenceError) -> JSONResponse:
    # The stored hashes cannot make the proof: rows are missing or altered.
    return _refused(request, 409, f"{e}; run ledger verify", "stored-log-inconsistent")


# -- consistency proofs -----------------------------------------------------------


class ConsistencyProof(BaseModel):
    """RFC 9162 section 2.1.4: the tree of size ``from`` is a prefix of ``to``'s."""

    from_size: int = Field(alias="from", serialization_alias="from")
    to_size: int = Field(alias="to", serialization_alias="to")
    hashes: list[str] = Field(description="The consistency proof, base64")
    from_root: str = Field(description="Root of the first tree, from stored hashes")
    to_root: str = Field(description="Root of the second tree, from stored hashes")
    from_checkpoint: str | None = Field(
        description="The signed checkpoint of size ``from``, if one was issued"
    )
    to_checkpoint: str | None = Field(
        description="The signed checkpoint of size ``to``, if one was issued"
    )

    model_config = {"populate_by_name": True}


@router.get(
    "/proofs/consistency",
    response_model=ConsistencyProof,
    response_model_by_alias=True,
    summary="Proof that one tree size is a prefix of a larger one",
)
def prove_consistency(
    request: Request,
    principal: Reader,
    store: Evidence,
    from_size: Annotated[
        int,
        Query(alias="from", ge=1, le=MAX_SIZE, description="The earlier tree size"),
    ],
    to_size: Annotated[
        int | None,
        Query(
            alias="to",
            ge=1,
            le=MAX_SIZE,
            description="The later tree size (default: the latest checkpoint's)",
        ),
    ] = None,
) -> ConsistencyProof | JSONResponse:
    log_size = store.frontier().size
    if to_size is None:
        latest = store.latest_checkpoint()
        if latest is None:
            return _refused(
                request,
                404,
                "the log has no signed checkpoint yet: give to",
                "no-checkpoint",
            )
        to_size = latest.tree_size
    if to_size > log_size:
        return _refused(
            request,
            404,
            f"the log holds {log_size} events, not {to_size}",
            "tree-size-beyond-log",
        )
    if from_size > to_size:
        return _refused(
            request,
            422,
            f"from ({from_size}) must not be larger than to ({to_size})",
            "from-not-after-to",
        )
    try:
        proof = consistency_proof(store, from_size, to_size)
        from_root, to_root = root_at(store, from_size), root_at(store, to_size)
    except EvidenceError as e:
        return _inconsistent(request, e)
    signed_from = _checkpoint_at(store, from_size)
    signed_to = _checkpoint_at(store, to_size)
    return ConsistencyProof.model_validate(
        {
            "from": from_size,
            "to": to_size,
            "hashes": [_b64(h) for h in proof],
            "from_root": _b64(from_root),
            "to_root": _b64(to_root),
            "from_checkpoint": signed_from.note_with_cosignatures()
            if signed_from
            else None,
            "to_checkpoint": signed_to.note_with_cosignatures() if signed_to else None,
        }
    )


# -- case bundles -----------------------------------------------------------------


class BundleCheckpoint(BaseModel):
    tree_size: int
    root_hash: str
    issued_at: str
    note: str


class CaseBundle(BaseModel):
    """``journey-ledger/case-bundle@v1`` (docs/bundle-format.md): check it offline
    with ``ledger verify-bundle FILE --key VKEY``."""

    format: str = Field(examples=["journey-ledger/case-bundle@v1"])
    originator_id: str
    log: dict[str, str] = Field(description="verifier_key: the log's verifier key")
    checkpoint: BundleCheckpoint
    events: list[dict[str, Any]] = Field(
        description="Each event as stored and decoded, with its C2SP tlog-proof"
    )
    subject: dict[str, str] = Field(description="prisoner_number: whose case")


@router.get(
    "/cases/{prisoner_number}/export",
    response_model=CaseBundle,
    summary="A case's events with inclusion proofs, verifiable offline",
)
def export_case(
    prisoner_number: Number,
    request: Request,
    principal: Investigator,
    found: Found,
    store: Evidence,
) -> CaseBundle | JSONResponse:
    try:
        exported = CaseBundle.model_validate(
            export_case_bundle(
                found.ledger,
                store,
                prisoner_number,
                signing_key_file=found.settings.signing_key_file,
            )
        )
    except BundleRefused as e:
        return _refused(request, e.status, e.detail, e.rule)
    record_case_read(request, principal, found, prisoner_number, "export")
    return exported
