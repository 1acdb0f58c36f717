"""The one error type of the evidence machinery (signed notes, checkpoints, proofs).

Every message is meant for an operator or an inspector: it says what was checked, at
which position or tree size, and what differs. Callers print it; no traceback needed.
"""

from __future__ import annotations


class EvidenceError(Exception):
    """A key, note, checkpoint, proof or bundle is unusable or does not verify."""
